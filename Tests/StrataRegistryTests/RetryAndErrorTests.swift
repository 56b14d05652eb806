import Foundation
import StrataHTTP
import StrataHash
import Testing
@testable import StrataRegistry

/// Answers the requests in turn with `answers` (the last one repeats).
func scripted(_ answers: [@Sendable (HTTPRequest) throws -> HTTPResponse]) -> FakeTransport {
    let next = NSLock()
    nonisolated(unsafe) var index = 0
    return FakeTransport { request in
        let answer = next.withLock { () -> @Sendable (HTTPRequest) throws -> HTTPResponse in
            defer { index += 1 }
            return answers[min(index, answers.count - 1)]
        }
        return try answer(request)
    }
}

let tagList: @Sendable (HTTPRequest) throws -> HTTPResponse = { _ in response(200, body: json(["name": "acme/web", "tags": ["1.0"]])) }

@Suite struct RetryTests {
    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let sleeps = SleepRecorder()
        let transport = scripted([{ _ in response(429, ["Retry-After": "7"]) }, tagList])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        #expect(try await client.tags(repository: "acme/web") == ["1.0"])
        #expect(sleeps.delays == [.seconds(7)])
        #expect(transport.requests.count == 2)
    }

    @Test func unavailableThenSuccessBacksOffExponentially() async throws {
        let sleeps = SleepRecorder()
        let unavailable: @Sendable (HTTPRequest) throws -> HTTPResponse = { _ in response(503) }
        let transport = scripted([unavailable, unavailable, unavailable, tagList])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy(baseDelay: .milliseconds(100)))
        #expect(try await client.tags(repository: "acme/web") == ["1.0"])
        // Full jitter with random() = 0.5: half of 100, 200, 400 ms.
        #expect(sleeps.delays == [.milliseconds(50), .milliseconds(100), .milliseconds(200)])
    }

    @Test func brokenConnectionsAreRetried() async throws {
        let sleeps = SleepRecorder()
        let broken: @Sendable (HTTPRequest) throws -> HTTPResponse = { request in
            throw HTTPError.transport(url: request.url, code: 52, message: "Empty reply from server")
        }
        let transport = scripted([broken, tagList])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        #expect(try await client.tags(repository: "acme/web") == ["1.0"])
        #expect(sleeps.delays.count == 1)
    }

    @Test func attemptsAreBounded() async throws {
        let sleeps = SleepRecorder()
        let transport = scripted([{ _ in response(502) }])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy(maxAttempts: 3))
        let error = await #expect(throws: Registry.Error.self) { _ = try await client.tags(repository: "acme/web") }
        #expect(error?.status == 502)
        #expect(transport.requests.count == 3)
        #expect(String(describing: try #require(error)) == "127.0.0.1:5000/acme/web: bad gateway (502)")
    }

    @Test func nonIdempotentRequestsAreNotRetried() async throws {
        let sleeps = SleepRecorder()
        let transport = scripted([{ _ in response(503) }, { _ in response(202, ["Location": "/v2/acme/web/blobs/uploads/1"]) }])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        let call = RegistryClient.Call(method: "POST", url: client.baseURL + "/v2/acme/web/blobs/uploads/", scopes: [], target: "x", accept: [202])
        await #expect(throws: Registry.Error.self) { _ = try await client.send(call) }
        #expect(transport.requests.count == 1)
        #expect(sleeps.delays.isEmpty)
    }

    @Test func clientErrorsAreFinal() async throws {
        let sleeps = SleepRecorder()
        let transport = scripted([{ _ in response(404, body: json(["errors": [["code": "NAME_UNKNOWN", "message": "repository name not known to registry"]]])) }])
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        await #expect(throws: Registry.Error.self) { _ = try await client.tags(repository: "acme/web") }
        #expect(transport.requests.count == 1)
    }

    /// A chunk's PATCH is cut: the upload asks the registry where it stands and
    /// goes on from there, without re-sending what arrived.
    @Test func aChunkedUploadResumesFromTheRegistrysRange() async throws {
        let sleeps = SleepRecorder()
        let blob = [UInt8](repeating: 7, count: 10)
        let digest = try SHA256.hash(blob)
        let state = NSLock()
        nonisolated(unsafe) var received: [UInt8] = []
        nonisolated(unsafe) var patches = 0
        let transport = FakeTransport { request in
            try state.withLock {
                switch request.method {
                case "HEAD": return response(404)
                case "POST": return response(202, ["Location": "/v2/a/blobs/uploads/u1?_state=0"])
                case "GET": return response(204, ["Location": "/v2/a/blobs/uploads/u1?_state=\(received.count)", "Range": "0-\(received.count - 1)"])
                case "PATCH":
                    patches += 1
                    if patches == 2 { throw HTTPError.transport(url: request.url, code: 56, message: "Connection reset by peer") }
                    let chunk = request.bodyBytes
                    #expect(request.headers["Content-Range"] == "\(received.count)-\(received.count + chunk.count - 1)")
                    received += chunk
                    return response(202, ["Location": "/v2/a/blobs/uploads/u1?_state=\(received.count)", "Range": "0-\(received.count - 1)"])
                default:
                    #expect(request.url.hasSuffix("digest=sha256%3A\(digest.hex)"))
                    return response(201, ["Docker-Content-Digest": try SHA256.hash(received).description])
                }
            }
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        let result = try await client.pushBlob(repository: "a", digest: digest, size: 10, from: .bytes(blob), chunkSize: 4)
        #expect(result == .uploaded)
        #expect(received == blob)
        #expect(transport.lines.map { $0.split(separator: "?")[0] } == [
            "HEAD /v2/a/blobs/sha256:\(digest.hex)", "POST /v2/a/blobs/uploads/", "PATCH /v2/a/blobs/uploads/u1",
            "PATCH /v2/a/blobs/uploads/u1", "GET /v2/a/blobs/uploads/u1", "PATCH /v2/a/blobs/uploads/u1",
            "PATCH /v2/a/blobs/uploads/u1", "PUT /v2/a/blobs/uploads/u1",
        ])
    }

    /// The final PUT's answer is lost and the registry forgot the upload: a HEAD
    /// finds the blob complete, nothing is sent again.
    @Test func aLostFinalAnswerEndsWithAHead() async throws {
        let sleeps = SleepRecorder()
        let blob: [UInt8] = [1, 2, 3]
        let digest = try SHA256.hash(blob)
        let heads = NSLock()
        nonisolated(unsafe) var headCount = 0
        let transport = FakeTransport { request in
            switch request.method {
            case "HEAD":
                let first = heads.withLock { headCount += 1; return headCount == 1 }
                return first ? response(404) : response(200, ["Content-Length": "3"])
            case "POST": return response(202, ["Location": "/v2/a/blobs/uploads/u1"])
            case "PUT": throw HTTPError.transport(url: request.url, code: 52, message: "Empty reply from server")
            default: return response(404, body: json(["errors": [["code": "BLOB_UPLOAD_UNKNOWN", "message": "blob upload unknown to registry"]]]))
            }
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport, retryPolicy: sleeps.policy())
        #expect(try await client.pushBlob(repository: "a", digest: digest, size: 3, from: .bytes(blob)) == .uploaded)
        #expect(transport.lines.map(\.first) == ["H", "P", "P", "G", "H"])
    }
}

@Suite struct ErrorTests {
    @Test func ociErrorBodiesAreDecoded() async throws {
        let transport = FakeTransport { _ in
            response(404, ["Content-Type": "application/json"], body: json(["errors": [[
                "code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": ["Tag": "1.0"],
            ]]]))
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport)
        let error = await #expect(throws: Registry.Error.self) { _ = try await client.manifest(repository: "acme/web", reference: "1.0") }
        let found = try #require(error)
        #expect(found.description == "127.0.0.1:5000/acme/web:1.0: manifest unknown (404)")
        #expect(found.codes == ["MANIFEST_UNKNOWN"])
        #expect(found.status == 404)
    }

    @Test func aMissingManifestOnHeadIsNil() async throws {
        let client = RegistryClient(host: "127.0.0.1:5000", transport: FakeTransport { _ in response(404) })
        #expect(try await client.manifestDescriptor(repository: "acme/web", reference: "strata-abc") == nil)
    }

    @Test func aManifestThatDoesNotMatchItsDigestIsRefused() async throws {
        let transport = FakeTransport { _ in
            response(200, ["Content-Type": MediaType.ociManifest, "Docker-Content-Digest": "sha256:" + String(repeating: "0", count: 64)], body: Array("{}".utf8))
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport)
        let error = await #expect(throws: Registry.Error.self) { _ = try await client.manifest(repository: "acme/web", reference: "1.0") }
        #expect(String(describing: try #require(error)).hasPrefix("127.0.0.1:5000/acme/web:1.0: content does not match its digest: expected sha256:0000"))
    }

    @Test func badNamesNeverReachTheWire() async throws {
        let transport = FakeTransport { _ in response(200) }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport)
        for (repository, reference) in [("Acme/web", "1.0"), ("acme//web", "1.0"), ("acme/web", "../x"), ("acme/web", "sha256:zz")] {
            await #expect(throws: Registry.Error.self) { _ = try await client.manifest(repository: repository, reference: reference) }
        }
        #expect(transport.requests.isEmpty)
    }

    @Test func linkHeadersGiveTheNextPage() {
        #expect(RegistryClient.nextLink([#"</v2/a/tags/list?n=2&last=b>; rel="next""#]) == "/v2/a/tags/list?n=2&last=b")
        #expect(RegistryClient.nextLink([#"<https://x/y>; rel="prev", <https://x/z>; rel=next"#]) == "https://x/z")
        #expect(RegistryClient.nextLink([]) == nil)
    }

    @Test func tagsFollowPagination() async throws {
        let transport = FakeTransport { request in
            if request.url.contains("last=b") { return response(200, body: json(["name": "a", "tags": ["c"]])) }
            return response(200, ["Link": #"</v2/a/tags/list?n=2&last=b>; rel="next""#], body: json(["name": "a", "tags": ["a", "b"]]))
        }
        let client = RegistryClient(host: "127.0.0.1:5000", transport: transport)
        #expect(try await client.tags(repository: "a", pageSize: 2) == ["a", "b", "c"])
        #expect(transport.requests.map(\.url) == ["http://127.0.0.1:5000/v2/a/tags/list?n=2", "http://127.0.0.1:5000/v2/a/tags/list?n=2&last=b"])
    }
}
