import Foundation
import StrataEngine
import StrataCache
import StrataHTTP
@testable import StrataImages
import Testing

/// Answers every request through `handler` and records `METHOD url`.
private final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse

    init(_ handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.handler = handler
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        lock.withLock { recorded.append("\(request.method) \(request.url)") }
        return handler(request)
    }

    var requests: [String] { lock.withLock { recorded } }
}

/// An engine holding images by reference; a pull makes `pullResult` the reference's image.
private final class BaseEngine: BaseImageEngine, @unchecked Sendable {
    private let lock = NSLock()
    private var images: [String: ImageInfo]
    private var pulls: [String] = []
    let pullResult: ImageInfo?

    init(_ images: [String: ImageInfo], pullResult: ImageInfo? = nil) {
        self.images = images
        self.pullResult = pullResult
    }

    func inspectImage(_ reference: String) async throws -> ImageInfo? { lock.withLock { images[reference] } }

    func pullImage(_ reference: String, credentials: (username: String, password: String)?) async throws {
        lock.withLock {
            pulls.append(reference)
            images[reference] = pullResult
        }
    }

    var pulled: [String] { lock.withLock { pulls } }
}

private let digestA = "sha256:" + String(repeating: "a", count: 64)
private let digestB = "sha256:" + String(repeating: "b", count: 64)
private let imageID = "sha256:" + String(repeating: "1", count: 64)

private func manifestAnswer(_ digest: String) -> HTTPResponse {
    HTTPResponse(status: 200, headers: ["Docker-Content-Digest": digest, "Content-Length": "100",
                                        "Content-Type": "application/vnd.oci.image.index.v1+json"])
}

private func access(_ transport: ScriptedTransport) -> RegistryAccess {
    RegistryAccess(environment: [:], transport: transport)
}

@Suite struct BaseResolutionTests {
    @Test func theEngineRepoDigestOfTheSameRepositoryKeysTheBase() async {
        let transport = ScriptedTransport { _ in HTTPResponse(status: 500) }
        let engine = BaseEngine(["python:3.11": ImageInfo(id: imageID, size: 1, repoTags: ["python:3.11"],
                                                         repoDigests: ["other/python@\(digestA)", "python@\(digestB)"], labels: [:])])
        let resolved = await BaseResolution(engine: engine, access: access(transport)).resolve(["python:3.11"], refresh: false)
        #expect(resolved["python:3.11"]?.identity == .digest(digestB))
        #expect(resolved["python:3.11"]?.keyed == "python:3.11@\(digestB)")
        #expect(transport.requests.isEmpty)
    }

    @Test func anImageBuiltOrLoadedHereIsKeyedByItsID() async {
        let transport = ScriptedTransport { _ in HTTPResponse(status: 500) }
        let engine = BaseEngine(["strata-busybox:1": ImageInfo(id: imageID, size: 1, repoTags: [], labels: [:])])
        let resolved = await BaseResolution(engine: engine, access: access(transport)).resolve(["strata-busybox:1"], refresh: false)
        #expect(resolved["strata-busybox:1"]?.identity == .digest(imageID))
    }

    @Test func withoutTheImageTheRegistrySaysWhatTheTagNames() async {
        let transport = ScriptedTransport { request in
            request.url == "https://registry-1.docker.io/v2/library/python/manifests/3.11" ? manifestAnswer(digestA)
                : HTTPResponse(status: 404)
        }
        let resolved = await BaseResolution(engine: BaseEngine([:]), access: access(transport))
            .resolve(["python:3.11", "python:3.11"], refresh: false)
        #expect(resolved.count == 1)
        #expect(resolved["python:3.11"]?.identity == .digest(digestA))
        #expect(transport.requests == ["HEAD https://registry-1.docker.io/v2/library/python/manifests/3.11"])
    }

    @Test func aBaseNobodyCanResolveIsKeyedByNameAndSaysWhy() async {
        let transport = ScriptedTransport { _ in HTTPResponse(status: 404) }
        let resolved = await BaseResolution(engine: nil, access: access(transport)).resolve(["127.0.0.1:5999/team/base"], refresh: false)
        guard case .unresolved(let reason)? = resolved["127.0.0.1:5999/team/base"]?.identity else {
            Issue.record("resolved: \(String(describing: resolved))")
            return
        }
        #expect(reason.contains("127.0.0.1:5999/team/base has no tag latest"))
        #expect(resolved["127.0.0.1:5999/team/base"]?.keyed == "127.0.0.1:5999/team/base (unresolved)")
    }

    @Test func aDigestReferenceIsItsOwnIdentity() async {
        let transport = ScriptedTransport { _ in HTTPResponse(status: 500) }
        let reference = "ghcr.io/acme/base@\(digestA)"
        let resolved = await BaseResolution(engine: nil, access: access(transport)).resolve([reference], refresh: false)
        #expect(resolved[reference]?.identity == .digest(digestA))
        #expect(resolved[reference]?.keyed == reference)
        #expect(transport.requests.isEmpty)
    }

    @Test func refreshPullsWhatMovedAndKeysByTheNewDigest() async {
        let transport = ScriptedTransport { _ in manifestAnswer(digestB) }
        let old = ImageInfo(id: imageID, size: 1, repoTags: [], repoDigests: ["127.0.0.1:5999/base@\(digestA)"], labels: [:])
        let new = ImageInfo(id: digestB, size: 1, repoTags: [], repoDigests: ["127.0.0.1:5999/base@\(digestB)"], labels: [:])
        let engine = BaseEngine(["127.0.0.1:5999/base:1": old], pullResult: new)
        let resolved = await BaseResolution(engine: engine, access: access(transport)).resolve(["127.0.0.1:5999/base:1"], refresh: true)
        #expect(resolved["127.0.0.1:5999/base:1"]?.identity == .digest(digestB))
        #expect(resolved["127.0.0.1:5999/base:1"]?.pulled == true)
        #expect(resolved["127.0.0.1:5999/base:1"]?.pulledOver == digestA)
        #expect(engine.pulled == ["127.0.0.1:5999/base:1"])
    }

    @Test func refreshPullsNothingWhenTheEngineHasTheRegistryDigest() async {
        let transport = ScriptedTransport { _ in manifestAnswer(digestA) }
        let current = ImageInfo(id: imageID, size: 1, repoTags: [], repoDigests: ["127.0.0.1:5999/base@\(digestA)"], labels: [:])
        let engine = BaseEngine(["127.0.0.1:5999/base:1": current])
        let resolved = await BaseResolution(engine: engine, access: access(transport)).resolve(["127.0.0.1:5999/base:1"], refresh: true)
        #expect(resolved["127.0.0.1:5999/base:1"]?.identity == .digest(digestA))
        #expect(engine.pulled.isEmpty)
    }

    @Test func onTheContainerdStoreTheRegistryComesFirstAsBuildKitAsksItFirst() async {
        let transport = ScriptedTransport { _ in manifestAnswer(digestB) }
        let local = ImageInfo(id: digestA, size: 1, repoTags: [], repoDigests: ["127.0.0.1:5999/base@\(digestA)"], labels: [:],
                              store: .containerd)
        let engine = BaseEngine(["127.0.0.1:5999/base:1": local])
        let resolved = await BaseResolution(engine: engine, access: access(transport)).resolve(["127.0.0.1:5999/base:1"], refresh: false)
        #expect(resolved["127.0.0.1:5999/base:1"]?.identity == .digest(digestB))
        #expect(engine.pulled.isEmpty)
        // A registry that does not answer: the local image, which BuildKit then falls back to.
        let silent = ScriptedTransport { _ in HTTPResponse(status: 404) }
        let fallback = await BaseResolution(engine: engine, access: access(silent)).resolve(["127.0.0.1:5999/base:1"], refresh: false)
        #expect(fallback["127.0.0.1:5999/base:1"]?.identity == .digest(digestA))
    }

    @Test func namesNormalizeAsTheDockerCLIDoes() {
        #expect(BaseName("python").registryName == "docker.io/library/python")
        #expect(BaseName("python").tag == "latest")
        #expect(BaseName("docker.io/library/python:3").registryName == "docker.io/library/python")
        #expect(BaseName("acme/tool:1").registryName == "docker.io/acme/tool")
        #expect(BaseName("acme/tool:1").apiHost == "registry-1.docker.io")
        #expect(BaseName("localhost:5000/x:2").apiHost == "localhost:5000")
        #expect(BaseName("ghcr.io/acme/base:3.11").repository == "acme/base")
    }
}

@Suite struct RemoteSourcesTests {
    @Test func aStrongETagKeysTheURLWithoutDownloading() async {
        let transport = ScriptedTransport { _ in HTTPResponse(status: 200, headers: ["ETag": "\"v1\""]) }
        let resolved = await RemoteSources(transport: transport).resolve(["https://example.test/a.tgz"])
        #expect(resolved["https://example.test/a.tgz"] == .digest("etag:\"v1\""))
        #expect(transport.requests == ["HEAD https://example.test/a.tgz"])
        #expect(RemoteSources.keyed("https://example.test/a.tgz", resolved["https://example.test/a.tgz"])
            == "https://example.test/a.tgz etag:\"v1\"")
    }

    @Test func withoutAStrongETagTheBodyIsHashed() async throws {
        let transport = ScriptedTransport { request in
            request.method == "HEAD" ? HTTPResponse(status: 200, headers: ["ETag": "W/\"weak\""])
                : HTTPResponse(status: 200, body: Array("served\n".utf8))
        }
        let resolved = await RemoteSources(transport: transport).resolve(["http://127.0.0.1:1/f"])
        let expected = try sha(Array("served\n".utf8)).description
        #expect(resolved["http://127.0.0.1:1/f"] == .digest(expected))
    }

    @Test func aURLThatFailsAndAGitSourceAreUnresolved() async {
        let transport = ScriptedTransport { _ in HTTPResponse(status: 404) }
        let resolved = await RemoteSources(transport: transport).resolve(["https://example.test/gone", "https://github.com/a/b.git#v1"])
        guard case .unresolved(let reason)? = resolved["https://example.test/gone"] else {
            Issue.record("\(resolved)")
            return
        }
        #expect(reason.contains("404"))
        guard case .unresolved(let gitReason)? = resolved["https://github.com/a/b.git#v1"] else {
            Issue.record("\(resolved)")
            return
        }
        #expect(gitReason.contains("git"))
        #expect(transport.requests == ["HEAD https://example.test/gone"])
    }
}

@Suite struct PulledPlatformTests {
    @Test(arguments: [
        ("linux/amd64", "linux", "amd64", nil, true),
        ("linux/amd64", "linux", "arm64", nil, false),
        ("linux/arm64/v8", "linux", "arm64", nil, true),
        ("linux/arm/v7", "linux", "arm", "v6", false),
        ("linux/arm", "linux", "arm", "v7", true),
        ("linux/amd64", "windows", "amd64", nil, false),
    ] as [(String, String, String, String?, Bool)])
    func aPulledImageMustBeThePlatformItsKeyNames(wanted: String, os: String, architecture: String, variant: String?,
                                                  accepted: Bool) {
        let found = OCIPlatform(architecture: architecture, os: os, variant: variant)
        #expect(RegistryImageSource.matches(found, RegistryImageSource.platform(wanted)) == accepted)
    }
}
