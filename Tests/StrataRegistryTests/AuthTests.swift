import Foundation
import StrataHTTP
import StrataHash
import Testing
@testable import StrataRegistry

@Suite struct ChallengeParsingTests {
    @Test func bearerWithSeveralParametersAndAQuotedComma() {
        let challenges = AuthChallenge.parse([
            #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:acme/web:pull,push""#
        ])
        #expect(challenges.count == 1)
        #expect(challenges[0].scheme == "bearer")
        #expect(challenges[0].realm == "https://auth.example.com/token")
        #expect(challenges[0].service == "registry.example.com")
        #expect(challenges[0].scopes == [Scope(name: "acme/web", actions: ["pull", "push"])])
    }

    @Test func severalChallengesInOneHeaderAndEscapes() {
        let challenges = AuthChallenge.parse([
            #"Basic realm="a, b", Bearer realm="https://t.example/token?x=1" , service=reg , error="insufficient_scope", scope="repository:x:pull repository:y/z:pull,push""#,
            #"Custom realm="say \"hi\"""#,
        ])
        #expect(challenges.map(\.scheme) == ["basic", "bearer", "custom"])
        #expect(challenges[0].realm == "a, b")
        #expect(challenges[1].realm == "https://t.example/token?x=1")
        #expect(challenges[1].service == "reg")
        #expect(challenges[1].parameters["error"] == "insufficient_scope")
        #expect(challenges[1].scopes.map(\.description) == ["repository:x:pull", "repository:y/z:pull,push"])
        #expect(challenges[2].realm == #"say "hi""#)
    }

    @Test(arguments: [
        ("repository:acme/web:pull", "repository:acme/web:pull"),
        ("repository:acme/web:push,pull", "repository:acme/web:pull,push"),
        ("repository:localhost:5000/web:pull", "repository:localhost:5000/web:pull"),
        ("registry:catalog:*", "registry:catalog:*"),
    ])
    func scopeRoundTrip(text: String, printed: String) throws {
        #expect(try #require(Scope(parsing: text)).description == printed)
    }

    @Test func scopesMergePerRepository() {
        let merged = Scope.merged([.pull("b"), .pull("a"), .push("b")])
        #expect(merged.map(\.description) == ["repository:a:pull", "repository:b:pull,push"])
        #expect(Scope.covers([.push("a")], [.pull("a")]))
        #expect(!Scope.covers([.pull("a")], [.push("a")]))
        #expect(!Scope.covers([.push("a")], [.pull("a"), .pull("b")]))
    }
}

/// A registry that wants Bearer tokens from `https://auth.test/token`, and
/// that token server, faked together.
final class FakeTokenRegistry: @unchecked Sendable {
    // @unchecked: counters are guarded by `lock`.
    private let lock = NSLock()
    private var issued = 0
    let expiresIn: Int

    init(expiresIn: Int = 300) {
        self.expiresIn = expiresIn
    }

    lazy var transport = FakeTransport { [unowned self] request in self.answer(request) }

    /// The scopes of each token request, in order.
    var tokenRequests: [[String]] {
        transport.requests.filter { $0.url.hasPrefix("https://auth.test/") }.map { request in
            request.queryItems.filter { $0.name == "scope" }.compactMap(\.value)
        }
    }

    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        if request.url.hasPrefix("https://auth.test/token") {
            if request.headers["Authorization"] != Credentials(username: "alice", password: "hunter2-secret").basicAuthorization {
                return response(401, body: json(["details": "bad credentials: \(request.headers["Authorization"] ?? "")"]))
            }
            let scopes = request.queryItems.filter { $0.name == "scope" }.compactMap(\.value).joined(separator: " ")
            let number = lock.withLock { issued += 1; return issued }
            return response(200, body: json(["token": "tok\(number)|\(scopes)", "expires_in": expiresIn]))
        }
        let challenge: HTTPHeaders = ["WWW-Authenticate": #"Bearer realm="https://auth.test/token",service="reg.test""#]
        guard let authorization = request.headers["Authorization"], authorization.hasPrefix("Bearer ") else {
            return response(401, challenge, body: json(["errors": [["code": "UNAUTHORIZED", "message": "authentication required"]]]))
        }
        // The token names the scopes it was issued for: check the request's.
        let granted = authorization.split(separator: "|", maxSplits: 1).last.map(String.init) ?? ""
        let repository = request.path.split(separator: "/").dropFirst().prefix { !["manifests", "blobs", "tags"].contains($0) }
            .joined(separator: "/")
        let needsPush = ["PUT", "POST", "PATCH"].contains(request.method)
        let grantedScopes = granted.split(separator: " ").compactMap { Scope(parsing: String($0)) }
        guard Scope.covers(grantedScopes, [needsPush ? .push(repository) : .pull(repository)]) else {
            var insufficient = challenge
            insufficient.set(
                "WWW-Authenticate",
                #"Bearer realm="https://auth.test/token",service="reg.test",scope="repository:\#(repository):\#(needsPush ? "pull,push" : "pull")",error="insufficient_scope""#)
            return response(401, insufficient)
        }
        switch request.method {
        case "HEAD": return response(404)
        case "POST": return response(201, ["Location": "/v2/\(repository)/blobs/sha256:x"])
        case "PUT":
            let digest = try? SHA256.hash(request.bodyBytes)
            return response(201, ["Docker-Content-Digest": digest?.description ?? ""])
        default:
            let manifest = CanonicalJSON.encodeOrEmpty(ImageIndex(manifests: []))
            return response(200, ["Content-Type": MediaType.ociIndex], body: manifest)
        }
    }
}

extension HTTPRequest {
    var bodyBytes: [UInt8] {
        if case .bytes(let bytes) = body { bytes } else { [] }
    }
}

extension CanonicalJSON {
    static func encodeOrEmpty(_ value: some Encodable) -> [UInt8] {
        (try? encode(value)) ?? []
    }
}

@Suite struct TokenTests {
    let credentials = Credentials(username: "alice", password: "hunter2-secret")

    @Test func tokensAreCachedPerScopeUntilTheyExpire() async throws {
        let fake = FakeTokenRegistry(expiresIn: 120)
        let clock = TestClock()
        let client = RegistryClient(
            host: "reg.test", transport: fake.transport, credentials: credentials, insecure: false, retryPolicy: .never,
            now: { clock.now })
        _ = try await client.manifest(repository: "acme/web", reference: "1.0")
        _ = try await client.manifest(repository: "acme/web", reference: "1.1")
        #expect(fake.tokenRequests == [["repository:acme/web:pull"]])
        // The token server's Basic credentials went over https only.
        #expect(fake.transport.requests.allSatisfy { $0.url.hasPrefix("https://") })

        clock.advance(200)
        _ = try await client.manifest(repository: "acme/web", reference: "1.0")
        #expect(fake.tokenRequests.count == 2)

        // Another repository needs its own token.
        _ = try await client.manifest(repository: "acme/api", reference: "1.0")
        #expect(fake.tokenRequests.last == ["repository:acme/api:pull"])
    }

    @Test func pushWidensThePullTokenAndThePushTokenServesPulls() async throws {
        let fake = FakeTokenRegistry()
        let client = RegistryClient(host: "reg.test", transport: fake.transport, credentials: credentials, retryPolicy: .never)
        _ = try await client.manifest(repository: "acme/web", reference: "1.0")
        try await client.putIndex(repository: "acme/web", reference: "1.1", index: ImageIndex(manifests: []))
        _ = try await client.manifest(repository: "acme/web", reference: "1.1")
        #expect(fake.tokenRequests == [["repository:acme/web:pull"], ["repository:acme/web:pull,push"]])
    }

    @Test func aMountAsksOneTokenForBothRepositories() async throws {
        let fake = FakeTokenRegistry()
        let client = RegistryClient(host: "reg.test", transport: fake.transport, credentials: credentials, retryPolicy: .never)
        let digest = try SHA256.hash([1, 2, 3])
        let result = try await client.pushBlob(
            repository: "acme/web", digest: digest, size: 3, from: .bytes([1, 2, 3]), mountFrom: ["acme/base"])
        #expect(result == .mounted(from: "acme/base"))
        #expect(fake.tokenRequests.last == ["repository:acme/base:pull", "repository:acme/web:pull,push"])
        let mount = try #require(fake.transport.requests.first { $0.method == "POST" })
        #expect(mount.path.contains("mount=sha256%3A\(digest.hex)&from=acme%2Fbase"))
    }

    @Test func credentialsNeverGoToAPlainHTTPRealmElsewhere() async throws {
        let transport = FakeTransport { request in
            if request.url.hasPrefix("http://evil.test/") { return response(200, body: json(["token": "t"])) }
            if request.headers["Authorization"] == nil {
                return response(401, ["WWW-Authenticate": #"Bearer realm="http://evil.test/token",service="x""#])
            }
            return response(200, body: json(["tags": []]))
        }
        let client = RegistryClient(host: "reg.test", transport: transport, credentials: credentials)
        _ = try await client.tags(repository: "acme/web")
        let tokenRequest = try #require(transport.requests.first { $0.url.hasPrefix("http://evil.test/") })
        #expect(tokenRequest.headers["Authorization"] == nil)
    }

    @Test func refusedCredentialsNeverAppearInTheError() async throws {
        let fake = FakeTokenRegistry()
        let wrong = Credentials(username: "alice", password: "not-the-password")
        let client = RegistryClient(host: "reg.test", transport: fake.transport, credentials: wrong, retryPolicy: .never)
        let error = await #expect(throws: Registry.Error.self) {
            _ = try await client.manifest(repository: "acme/web", reference: "1.0")
        }
        let text = String(describing: try #require(error))
        #expect(text.hasPrefix("reg.test: authentication failed for user alice (401): bad credentials: "))
        #expect(!text.contains("not-the-password"))
        #expect(!text.contains(wrong.basicAuthorization.dropFirst(6)))
    }
}

@Suite struct BasicAuthTests {
    /// A registry with Basic auth that echoes the Authorization header it refuses.
    static func careless(password: String) -> FakeTransport {
        let good = Credentials(username: "bob", password: password).basicAuthorization
        return FakeTransport { request in
            guard let authorization = request.headers["Authorization"] else {
                return response(401, ["WWW-Authenticate": #"Basic realm="reg""#])
            }
            guard authorization == good else {
                return response(401, ["WWW-Authenticate": #"Basic realm="reg""#],
                    body: json(["errors": [["code": "UNAUTHORIZED", "message": "refused \(authorization)"]]]))
            }
            return response(200, body: json(["name": "x", "tags": ["a"]]))
        }
    }

    @Test func credentialsAreSentAfterTheChallengeAndThenUpFront() async throws {
        let transport = Self.careless(password: "right-password")
        let client = RegistryClient(
            host: "reg.test", transport: transport, credentials: Credentials(username: "bob", password: "right-password"))
        #expect(try await client.tags(repository: "x") == ["a"])
        #expect(try await client.tags(repository: "x") == ["a"])
        #expect(transport.requests.map { $0.headers["Authorization"] == nil } == [true, false, false])
    }

    @Test func aRefusalNamesTheUserButNotThePassword() async throws {
        let credentials = Credentials(username: "bob", password: "wrong-password")
        let client = RegistryClient(host: "reg.test", transport: Self.careless(password: "right-password"), credentials: credentials)
        let error = await #expect(throws: Registry.Error.self) { _ = try await client.tags(repository: "x") }
        let text = String(describing: try #require(error))
        #expect(text == "reg.test: authentication failed for user bob (401): UNAUTHORIZED: refused <redacted>")
        for secret in credentials.secrets { #expect(!text.contains(secret)) }
    }

    @Test func noCredentialsSaysHowToProvideThem() async throws {
        let client = RegistryClient(host: "reg.test", transport: Self.careless(password: "x-password"))
        let error = await #expect(throws: Registry.Error.self) { _ = try await client.tags(repository: "x") }
        #expect(String(describing: try #require(error)).contains("no credentials found (docker login reg.test"))
    }

    @Test func credentialsNeverPrintThemselves() {
        let credentials = Credentials(username: "bob", password: "p4ssw0rd-secret")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [String(describing: credentials), String(reflecting: credentials), dumped, "\(credentials)"] {
            #expect(!text.contains("p4ssw0rd-secret"))
            #expect(text.contains("bob"))
        }
    }
}

@Suite struct SchemeTests {
    @Test(arguments: [
        ("127.0.0.1:5000", false, "http://127.0.0.1:5000"),
        ("127.8.9.10", false, "http://127.8.9.10"),
        ("localhost:5000", false, "http://localhost:5000"),
        ("[::1]:5000", false, "http://[::1]:5000"),
        ("ghcr.io", false, "https://ghcr.io"),
        ("127.0.0.1.example.com", false, "https://127.0.0.1.example.com"),
        ("registry.internal:5000", true, "http://registry.internal:5000"),
    ])
    func plainHTTPOnlyForLoopbackOrInsecure(host: String, insecure: Bool, base: String) {
        let client = RegistryClient(host: host, transport: FakeTransport { _ in response(200) }, insecure: insecure)
        #expect(client.baseURL == base)
    }
}
