import Foundation
import Testing
@testable import StrataFleet

@Suite struct ManifestTests {
    @Test func loadsEveryTopLevelSection() throws {
        let tree = try TempTree([
            "strata.yaml": """
            registry: ghcr.io/acme
            cache: ../cache
            remote_cache: true
            defaults:
              platforms: [linux/amd64]
              args: {PYTHON_VERSION: "3.11"}
              labels: {org.opencontainers.image.source: https://github.com/acme/fleet}
              network: host
            variants:
              machine:
                mainpc: {args: {MACHINE: mainpc}}
                pc2: {args: {MACHINE: pc2}}
            images:
              base-python:
                context: base/base-python
                tags: ["3.11"]
              model-ops:
                context: services/model_ops
                dockerfile: services/model_ops/Dockerfile.optimized
                target: runtime
                args: {PORT: 7212}
                variants: [machine]
            discover:
              - glob: services/*/Dockerfile
                variants: [machine]
            include: [more-images.yaml]
            """,
            "more-images.yaml": """
            images:
              extra:
                context: extra
            """,
            "services/web/Dockerfile": "FROM base-python\n",
            "services/model_ops/Dockerfile.optimized": "FROM base-python\n",
            "services/model_ops/Dockerfile": "FROM base-python\n",
        ])
        let manifest = try ManifestLoader.load(path: tree.path("strata.yaml"))
        #expect(manifest.registry == "ghcr.io/acme")
        #expect(manifest.cache == "../cache")
        #expect(manifest.remoteCache)
        #expect(manifest.defaults.platforms == ["linux/amd64"])
        #expect(manifest.defaults.args == ["PYTHON_VERSION": "3.11"])
        #expect(manifest.defaults.network == "host")
        #expect(manifest.variants.map(\.name) == ["machine"])
        #expect(manifest.variants[0].values.map(\.name) == ["mainpc", "pc2"])
        // Explicit images in order, then included ones, then discovered ones sorted by name
        // (the folder `model_ops` is discovered too: `model-ops` is another name).
        #expect(manifest.images.map(\.name) == ["base-python", "model-ops", "extra", "model_ops", "web"])
        let modelOps = try #require(manifest.images.first { $0.name == "model-ops" })
        #expect(modelOps.dockerfile == "services/model_ops/Dockerfile.optimized")
        #expect(modelOps.target == "runtime")
        #expect(modelOps.settings.args == ["PORT": "7212"])
        #expect(modelOps.variants == ["machine"])
        #expect(modelOps.location.line == 17)
        let web = try #require(manifest.images.first { $0.name == "web" })
        #expect(web.context == "services/web")
        #expect(web.discovered)
        #expect(web.variants == ["machine"])
    }

    @Test(arguments: [
        ("images:\n  a:\n    contxt: a\n", 3, "images.a.contxt: unknown key", "did you mean 'context'?"),
        ("images:\n  a:\n    dockerfile: a/Dockerfile\n", 2, "images.a: missing required key 'context'", nil),
        ("images:\n  a:\n    context: [a]\n", 3, "images.a.context: expected a string, found a list", nil),
        ("images:\n  Bad_Name:\n    context: a\n", 2, "images.Bad_Name: invalid image name", "an image name is [a-z0-9][a-z0-9._-]*"),
        ("registry: x\nregistry: y\n", 2, "registry: duplicate key (first on line 1)", nil),
        ("images:\n  a:\n    context: a\n    args: [A=1]\n", 4, "images.a.args: expected a mapping, found a list", nil),
        ("remote_cache: maybe\n", 1, "remote_cache: expected true or false, found 'maybe'", nil),
        ("defaults:\n  platforms: [amd64]\n", 2, "defaults.platforms: 'amd64' is not a platform", "write os/arch[/variant], e.g. linux/arm64"),
        ("images:\n  a:\n    context: a\n    platforms: [linux/arm64, linux//v8]\n", 4,
         "images.a.platforms: 'linux//v8' is not a platform", "write os/arch[/variant], e.g. linux/arm64"),
        ("images:\n  a:\n    context: a\n  b: {context: b\n", 5, "invalid YAML", nil),
        ("imagess: {}\n", 1, "imagess: unknown key", "did you mean 'images'?"),
        ("include: [missing.yaml]\n", 1, "include.0: included file 'missing.yaml' does not exist", nil),
        ("variants:\n  machine: {}\n", 2, "variants.machine: a variant dimension needs at least one value", nil),
    ] as [(String, Int, String, String?)])
    func manifestErrorsNameFileLineAndKey(yaml: String, line: Int, message: String, hint: String?) throws {
        let tree = try TempTree(["strata.yaml": yaml])
        let error = #expect(throws: Manifest.Error.self) { try ManifestLoader.load(path: tree.path("strata.yaml")) }
        #expect(error?.location.file == "strata.yaml")
        #expect(error?.location.line == line)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
        if let hint { #expect(error?.hint == hint) }
    }

    @Test func includeCycleIsRefused() throws {
        let tree = try TempTree([
            "strata.yaml": "include: [a.yaml]\n",
            "a.yaml": "include: [b.yaml]\n",
            "b.yaml": "include: [a.yaml]\n",
        ])
        let error = #expect(throws: Manifest.Error.self) { try ManifestLoader.load(path: tree.path("strata.yaml")) }
        #expect(error?.location.file == "b.yaml")
        #expect(error?.message.contains("include cycle: a.yaml -> b.yaml -> a.yaml") == true)
    }

    @Test func includedPathsAreRelativeToTheIncludedFile() throws {
        let tree = try TempTree([
            "strata.yaml": "include: [sub/more.yaml]\n",
            "sub/more.yaml": "images:\n  svc:\n    context: svc\n",
        ])
        let manifest = try ManifestLoader.load(path: tree.path("strata.yaml"))
        #expect(manifest.images.first?.context == "sub/svc")
        #expect(manifest.images.first?.dockerfile == "sub/svc/Dockerfile")
        #expect(manifest.images.first?.location == SourceLocation(file: "sub/more.yaml", line: 2))
    }

    @Test func composeServicesWithBuildAreImages() throws {
        let tree = try TempTree([
            "docker-compose.yml": """
            services:
              db:
                image: postgres:16
              web:
                build: ./web
                image: ghcr.io/acme/web:1.2
              api:
                build:
                  context: api
                  dockerfile: docker/Dockerfile.prod
                  target: runtime
                  args:
                    - PORT=8080
                    - EMPTY=
              worker:
                build:
                  context: .
                  args: {QUEUE: jobs}
            """,
        ])
        let manifest = try ManifestLoader.load(path: tree.path("docker-compose.yml"))
        #expect(manifest.images.map(\.name) == ["web", "api", "worker"])
        let web = try #require(manifest.images.first)
        #expect(web.context == "web")
        #expect(web.dockerfile == "web/Dockerfile")
        #expect(web.tags == ["1.2"])
        #expect(web.imageReference == "ghcr.io/acme/web:1.2")
        let api = manifest.images[1]
        #expect(api.dockerfile == "api/docker/Dockerfile.prod")
        #expect(api.target == "runtime")
        #expect(api.settings.args == ["PORT": "8080", "EMPTY": ""])
        #expect(api.location.line == 7)
        #expect(manifest.images[2].context == ".")
        #expect(manifest.images[2].settings.args == ["QUEUE": "jobs"])
    }

    @Test func composeErrorsHaveLines() throws {
        let tree = try TempTree(["docker-compose.yml": "services:\n  web:\n    build:\n      args: 3\n"])
        let error = #expect(throws: Manifest.Error.self) { try ManifestLoader.load(path: tree.path("docker-compose.yml")) }
        #expect(error?.location.line == 4)
        #expect(error?.message.contains("services.web.build.args: expected a list") == true)

        let platform = try TempTree(["docker-compose.yml": "services:\n  web:\n    build: web\n    platform: arm64\n"])
        let refused = #expect(throws: Manifest.Error.self) { try ManifestLoader.load(path: platform.path("docker-compose.yml")) }
        #expect(refused?.location.line == 4)
        #expect(refused?.message == "services.web.platform: 'arm64' is not a platform", "\(String(describing: refused))")
        #expect(refused?.hint == BuildPlatform.hint)
    }

    @Test(arguments: [
        ("linux/amd64", BuildPlatform(os: "linux", architecture: "amd64")),
        ("linux/arm/v7", BuildPlatform(os: "linux", architecture: "arm", variant: "v7")),
        ("amd64", nil), ("linux/", nil), ("/amd64", nil), ("linux//v8", nil), ("linux/arm64/v8/x", nil), ("", nil),
    ] as [(String, BuildPlatform?)])
    func platformsAreOsArchAndAnOptionalVariant(text: String, expected: BuildPlatform?) {
        #expect(BuildPlatform(text) == expected)
        if let expected { #expect(expected.description == text) }
    }

    @Test(arguments: [
        ("ghcr.io/acme/base-python:3.11", "ghcr.io", "acme/base-python", "3.11", nil),
        ("base-python", nil, "base-python", nil, nil),
        ("127.0.0.1:5000/x/y:tag@sha256:abc", "127.0.0.1:5000", "x/y", "tag", "sha256:abc"),
        ("localhost/x", "localhost", "x", nil, nil),
        ("library/busybox:1.36", nil, "library/busybox", "1.36", nil),
    ] as [(String, String?, String, String?, String?)])
    func imageReferences(text: String, domain: String?, path: String, tag: String?, digest: String?) {
        let reference = ImageReference(parsing: text)
        #expect(reference.domain == domain)
        #expect(reference.path == path)
        #expect(reference.tag == tag)
        #expect(reference.digest == digest)
        #expect(reference.description == text)
    }
}
