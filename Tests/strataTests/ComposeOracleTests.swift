import Foundation
import StrataFleet
import StrataProcess
import Testing
import Yams

/// strata's reading of compose files against `docker-compose config` (Debian's
/// docker-compose 1.29, installed by scripts/test): the interpolated context, Dockerfile,
/// target, args and image of every service with `build:` must be what compose makes of them.
/// The corpus sticks to what 1.29 knows (it has no `${VAR:+alt}`).
@Suite struct ComposeOracleTests {
    struct Case: CustomStringConvertible {
        var name: String
        var compose: String
        var dotEnv: String? = nil
        var environment: [String: String] = [:]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "defaults and the environment", compose: """
            services:
              web:
                image: acme/web:${TAG:-latest}
                build:
                  context: ${WEB_DIR:-web}
                  dockerfile: Dockerfile.${APP_ENV}
                  target: ${TARGET-runtime}
                  args:
                    APP_ENV: ${APP_ENV}
                    PRICE: $$5
                    BRACED: "${APP_ENV}-x"
            """, environment: ["APP_ENV": "prod"]),
        Case(name: ".env under the environment", compose: """
            services:
              api:
                image: ${REGISTRY}/api:$TAG
                build:
                  context: ./api
                  args:
                    - MODE=${MODE:-dev}
                    - REGION=$REGION
                    - EMPTY_DEFAULT=${EMPTY-unused}
            """, dotEnv: "REGISTRY=ghcr.io/acme\nTAG=from-dotenv\nMODE=dotenv\nEMPTY=\n",
             environment: ["TAG": "from-env", "REGION": "eu"]),
        Case(name: "empty versus unset", compose: """
            services:
              worker:
                build:
                  context: .
                  dockerfile: ${DOCKERFILE:-Dockerfile}
                  args:
                    A: ${EMPTY:-colon-dash}
                    B: ${EMPTY-dash}
                    C: ${UNSET-dash}
            """, environment: ["EMPTY": ""]),
        Case(name: "a required variable that is set", compose: """
            services:
              svc:
                build:
                  context: ${SVC_DIR:?set SVC_DIR}
                  args:
                    VERSION: ${VERSION?}
            """, environment: ["SVC_DIR": "svc", "VERSION": "1.2.3"]),
    ]

    @Test(arguments: cases)
    func strataReadsWhatComposeReads(_ item: Case) throws {
        let compose = "/usr/bin/docker-compose"
        try #require(FileManager.default.isExecutableFile(atPath: compose), "no \(compose): scripts/test installs docker-compose")
        let folder = try TemporaryFolder()
        try folder.write("docker-compose.yml", item.compose)
        if let dotEnv = item.dotEnv { try folder.write(".env", dotEnv) }
        // compose checks that each context exists.
        for context in ["web", "api", "svc"] { try folder.write(context + "/Dockerfile", "FROM scratch\n") }
        var environment = ["PATH": "/usr/bin:/bin", "HOME": folder.path]
        environment.merge(item.environment) { _, new in new }
        let result = try ChildProcess.run(compose, ["-f", folder.path + "/docker-compose.yml", "config"], directory: folder.path,
                                          environment: environment, timeout: .seconds(60))
        try #require(result.status == 0, "docker-compose config: \(result.errorOutput)")
        let document = try #require(try Yams.load(yaml: result.output) as? [String: Any])
        let services = try #require(document["services"] as? [String: Any])

        let manifest = try ManifestLoader.load(path: folder.path + "/docker-compose.yml", environment: item.environment)
        #expect(manifest.images.count == services.count)
        for image in manifest.images {
            let service = try #require(services[image.name] as? [String: Any], "compose has no service \(image.name)")
            let build = try #require(service["build"] as? [String: Any])
            // `config` writes values escaped again for compose (`$$`); the value a build gets has one `$`.
            func value(_ any: Any?) -> String? { (any.map { "\($0)" })?.replacingOccurrences(of: "$$", with: "$") }
            let context = try #require(value(build["context"]))
            #expect(URL(fileURLWithPath: folder.path + "/" + image.context).standardized.path == context, "context of \(image.name)")
            let dockerfile = value(build["dockerfile"]) ?? "Dockerfile"
            #expect(URL(fileURLWithPath: folder.path + "/" + image.dockerfile).standardized.path
                == URL(fileURLWithPath: context + "/" + dockerfile).standardized.path, "dockerfile of \(image.name)")
            #expect(image.target == value(build["target"]), "target of \(image.name)")
            let args = (build["args"] as? [String: Any] ?? [:]).compactMapValues { value($0) }
            #expect(image.settings.args == args, "args of \(image.name)")
            #expect(image.imageReference == value(service["image"]), "image of \(image.name)")
        }
    }
}
