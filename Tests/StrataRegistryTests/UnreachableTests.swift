import Foundation
import StrataHTTP
import StrataHash
import Testing
@testable import StrataRegistry

/// A registry that cannot be reached costs one attempt per run, and a response cut short
/// is a broken connection, never an answer.
@Suite struct UnreachableTests {
    @Test(arguments: [
        HTTPError.transport(url: "HEAD https://ghcr.io/v2/", code: 6, message: "Could not resolve host: ghcr.io"),
        HTTPError.transport(url: "HEAD https://ghcr.io/v2/", code: 7, message: "Failed to connect to ghcr.io port 443"),
        HTTPError.transport(url: "HEAD https://ghcr.io/v2/", code: 60, message: "SSL certificate problem"),
        HTTPError.timedOut(url: "HEAD https://ghcr.io/v2/", limit: "no answer: nothing received for 60 s (STRATA_IDLE_TIMEOUT)"),
    ])
    func anUnreachableRegistryIsTriedOnceThenFailsAtOnce(cause: HTTPError) async throws {
        let sleeps = SleepRecorder()
        let transport = FakeTransport { _ in throw cause }
        let client = RegistryClient(host: "ghcr.io", transport: transport, retryPolicy: sleeps.policy())
        for tag in ["strata-a", "strata-b", "strata-c"] {
            let error = await #expect(throws: Registry.Error.self) {
                _ = try await client.manifestDescriptor(repository: "acme/web", reference: tag)
            }
            guard case .unreachable(let registry, let underlying)? = error else {
                Issue.record("expected .unreachable, got \(String(describing: error))")
                return
            }
            #expect(registry == "ghcr.io")
            #expect(underlying.description == cause.description)
        }
        // One request in all, and no backoff: the later lookups never reached the wire.
        #expect(transport.requests.count == 1)
        #expect(sleeps.delays.isEmpty)
        #expect(client.unreachable?.description == cause.description)
    }

    @Test func aCopyOfTheClientSharesWhatItLearnt() async throws {
        let transport = FakeTransport { request in
            throw HTTPError.transport(url: request.url, code: 6, message: "Could not resolve host: ghcr.io")
        }
        let client = RegistryClient(host: "ghcr.io", transport: transport, retryPolicy: SleepRecorder().policy())
        let copy = client
        _ = try? await client.manifestDescriptor(repository: "acme/web", reference: "1")
        await #expect(throws: Registry.Error.self) { _ = try await copy.tags(repository: "acme/web") }
        #expect(transport.requests.count == 1)
    }

    @Test func aBrokenConnectionIsNotUnreachable() async throws {
        let sleeps = SleepRecorder()
        let transport = scripted([
            { request in throw HTTPError.transport(url: request.url, code: 56, message: "Connection reset by peer") }, tagList,
        ])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        #expect(try await client.tags(repository: "acme/web") == ["1.0"])
        #expect(client.unreachable == nil)
    }

    /// A proxy cut the connection inside a 202's headers: the upload's start is tried again
    /// instead of failing on "202 without a Location header".
    @Test func aResponseCutShortIsRetried() async throws {
        let sleeps = SleepRecorder()
        let blob: [UInt8] = Array("abc".utf8)
        let digest = try SHA256.hash(blob)
        let posts = NSLock()
        nonisolated(unsafe) var postCount = 0
        let transport = FakeTransport { request in
            switch request.method {
            case "HEAD": return response(404)
            case "POST":
                let first = posts.withLock { postCount += 1; return postCount == 1 }
                if first { throw HTTPError.truncated(url: request.url, detail: "the connection closed inside the response headers") }
                return response(202, ["Location": "/v2/a/blobs/uploads/u1"])
            case "PUT": return response(201, ["Docker-Content-Digest": digest.description])
            default: return response(404)
            }
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        #expect(try await client.pushBlob(repository: "a", digest: digest, size: 3, from: .bytes(blob)) == .uploaded)
        #expect(transport.lines.map(\.first) == ["H", "P", "H", "P", "P"])
        #expect(sleeps.delays.count == 1)
    }
}

/// A second push of the same manifest under the same tag rewrites nothing.
@Suite struct ManifestPutTests {
    static let manifest = Array(#"{"schemaVersion":2}"#.utf8)

    @Test func aManifestAlreadyThereIsLeftAlone() async throws {
        let digest = try SHA256.hash(Self.manifest)
        let transport = FakeTransport { request in
            #expect(request.method == "HEAD")
            return response(200, ["Docker-Content-Digest": digest.description, "Content-Length": "\(Self.manifest.count)",
                                  "Content-Type": MediaType.ociManifest])
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport)
        let put = try await client.putManifest(repository: "acme/web", reference: "1.0", bytes: Self.manifest,
                                               mediaType: MediaType.ociManifest)
        #expect(put.digest == digest)
        #expect(transport.lines == ["HEAD /v2/acme/web/manifests/1.0"])
    }

    @Test(arguments: [404, 200])
    func anotherManifestOrNoneIsReplaced(headStatus: Int) async throws {
        let digest = try SHA256.hash(Self.manifest)
        let other = "sha256:" + String(repeating: "1", count: 64)
        let transport = FakeTransport { request in
            if request.method == "HEAD" {
                return headStatus == 404 ? response(404)
                    : response(200, ["Docker-Content-Digest": other, "Content-Length": "7", "Content-Type": MediaType.ociManifest])
            }
            return response(201, ["Docker-Content-Digest": digest.description])
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport)
        try await client.putManifest(repository: "acme/web", reference: "1.0", bytes: Self.manifest, mediaType: MediaType.ociManifest)
        #expect(transport.lines == ["HEAD /v2/acme/web/manifests/1.0", "PUT /v2/acme/web/manifests/1.0"])
    }
}
