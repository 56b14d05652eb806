import Foundation
import StrataHTTP
import StrataHash

/// A client of one registry host, speaking the OCI distribution spec
/// (`/v2/` API). Copies share the authentication state (challenge, tokens).
///
/// Every request goes through one path (`attempt`): authorization, one
/// answer to a 401 challenge, errors decoded from the OCI body with secrets
/// redacted; `send` adds the retry policy for idempotent requests. Uploads
/// and downloads run their own loop under the same policy, resuming where
/// the registry stands instead of starting over.
public struct RegistryClient: Sendable {
    /// `ghcr.io`, `127.0.0.1:5000`.
    public let host: String
    /// `https://host`, or `http://host` for loopback and insecure registries.
    public let baseURL: String
    public let retryPolicy: RetryPolicy
    let transport: any HTTPTransport
    let auth: AuthSession
    /// Shared by copies, like `auth`: one upload at a time of a blob to a repository.
    let blobUploads = BlobUploadLocks()
    /// Shared by copies, like `auth`: a host found unreachable is not asked again this run.
    let reachability: HostReachability

    /// Creates a client for `host`. Plain HTTP is used only for a loopback host
    /// (127.0.0.0/8, `localhost`, `::1`) or when `insecure` is set; HTTPS otherwise.
    public init(
        host: String, transport: any HTTPTransport = CurlTransport(), credentials: Credentials? = nil,
        insecure: Bool = false, retryPolicy: RetryPolicy = .standard
    ) {
        self.init(
            host: host, transport: transport, credentials: credentials, insecure: insecure, retryPolicy: retryPolicy,
            now: { Date() })
    }

    init(
        host: String, transport: any HTTPTransport, credentials: Credentials?, insecure: Bool, retryPolicy: RetryPolicy,
        now: @escaping @Sendable () -> Date
    ) {
        self.host = host
        self.baseURL = (insecure || Self.isLoopback(host) ? "http://" : "https://") + host
        self.transport = transport
        self.retryPolicy = retryPolicy
        let reachability = HostReachability(host: host)
        self.reachability = reachability
        self.auth = AuthSession(registry: host, credentials: credentials, transport: transport, retryPolicy: retryPolicy,
                                reachability: reachability, insecure: insecure, now: now)
    }

    /// True for `127.x.y.z`, `localhost` and `::1`, with or without a port.
    public static func isLoopback(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("[") {
            name = name.dropFirst().prefix { $0 != "]" }
        } else if name.filter({ $0 == ":" }).count == 1, let colon = name.firstIndex(of: ":") {
            name = name[..<colon]
        }
        if name.lowercased() == "localhost" || name == "::1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// `GET /v2/`: the registry answers and accepts the credentials (for a
    /// token server, a token without scopes is fetched).
    public func ping() async throws {
        _ = try await send(Call(method: "GET", url: baseURL + "/v2/", scopes: [], target: host))
    }

    // MARK: - The request path

    /// One request as the client sees it.
    struct Call {
        var method: String
        var url: String
        var headers: HTTPHeaders = [:]
        var body: HTTPBody = .empty
        /// What a token must grant for this request.
        var scopes: [Scope]
        /// What errors name: `host/repo:tag`, `host/repo@digest`, `host`.
        var target: String
        var accept: Set<Int> = [200]
        var followRedirects = false
        /// A blob's bytes: received through larger buffers (`HTTPRequest.bulk`).
        var bulk = false

        /// RFC 9110 §9.2.2: repeating these has the effect of sending once.
        var isIdempotent: Bool { ["GET", "HEAD", "PUT", "DELETE"].contains(method) }
    }

    /// Sends `call` and reads its body, retrying idempotent requests under the policy.
    func send(_ call: Call, bodyLimit: Int = 16 << 20) async throws -> HTTPResponse {
        guard call.isIdempotent else { return try await attemptCollecting(call, bodyLimit: bodyLimit) }
        return try await retryPolicy.run { _ in try await attemptCollecting(call, bodyLimit: bodyLimit) }
    }

    private func attemptCollecting(_ call: Call, bodyLimit: Int) async throws -> HTTPResponse {
        let response = try await attempt(call)
        let body = try await collect(response.body, limit: bodyLimit, target: call.target)
        return HTTPResponse(status: response.status, headers: response.headers, body: body)
    }

    /// One attempt: authorizes, answers a 401 challenge once, and throws a
    /// `Registry.Error` for a status outside `call.accept`. The body streams.
    func attempt(_ call: Call) async throws -> HTTPStreamingResponse {
        var request = HTTPRequest(
            method: call.method, url: call.url, headers: call.headers, body: call.body, followRedirects: call.followRedirects,
            bulk: call.bulk)
        let authorization = try await auth.authorization(for: call.scopes)
        if let authorization { request.headers.set("Authorization", authorization) }
        var response = try await transmit(request, target: call.target)
        if response.status == 401 {
            let body = try await collect(response.body, limit: 64 << 10, target: call.target)
            let challenges = AuthChallenge.parse(response.headers.values("WWW-Authenticate"))
            let message = await redacted(serverText(body), request)
            let retry = try await auth.authorization(
                after: challenges, scopes: call.scopes, rejected: authorization, message: message)
            request.headers.set("Authorization", retry)
            response = try await transmit(request, target: call.target)
            if response.status == 401 {
                let body = try await collect(response.body, limit: 64 << 10, target: call.target)
                throw Registry.Error.authenticationFailed(
                    registry: host, user: auth.credentials?.username, status: 401, message: await redacted(serverText(body), request))
            }
        }
        guard call.accept.contains(response.status) else {
            let body = call.method == "HEAD" ? [] : try await collect(response.body, limit: 64 << 10, target: call.target)
            var errors = decodeErrors(body)
            if errors.isEmpty, !body.isEmpty { errors = [Registry.ServerError(code: "", message: serverText(body))] }
            for index in errors.indices {
                if let message = errors[index].message { errors[index].message = await redacted(message, request) }
            }
            throw Registry.Error.server(
                target: call.target, status: response.status, errors: errors,
                retryAfter: HTTPResponse(status: response.status, headers: response.headers).retryAfter())
        }
        return response
    }

    /// The transport's answer; a failed connection becomes `Registry.Error.transport`, or
    /// `.unreachable` for a host that cannot be used (at once, once one request found so).
    private func transmit(_ request: HTTPRequest, target: String) async throws -> HTTPStreamingResponse {
        try reachability.check()
        do {
            return try await transport.stream(request)
        } catch let error as HTTPError {
            throw reachability.failure(error, target: target)
        }
    }

    /// Why this registry was found unreachable in this run, if it was.
    public var unreachable: HTTPError? { reachability.cause }

    func collect(_ body: HTTPResponseBody, limit: Int, target: String) async throws -> [UInt8] {
        do {
            return try await body.collect(limit: limit)
        } catch let error as HTTPError {
            throw Registry.Error.transport(target: target, underlying: error)
        }
    }

    /// A server may echo what it was sent: credentials, tokens and the
    /// request's `Authorization` value are blanked.
    private func redacted(_ text: String, _ request: HTTPRequest) async -> String {
        // The whole header first, so that no "Basic " is left dangling.
        var secrets: [String] = []
        if let authorization = request.headers["Authorization"] {
            secrets = [authorization] + authorization.split(separator: " ").dropFirst().map(String.init)
        }
        return redact(text, secrets: secrets + (await auth.secrets))
    }

    // MARK: - Names

    /// `host/repository`, `host/repository:tag` or `host/repository@digest`, for errors.
    func target(_ repository: String, _ reference: String? = nil) -> String {
        guard let reference else { return "\(host)/\(repository)" }
        return reference.hasPrefix("sha256:") ? "\(host)/\(repository)@\(reference)" : "\(host)/\(repository):\(reference)"
    }

    /// `<base>/v2/<repository>/<rest>` after checking the repository name
    /// (distribution spec "Pulling manifests": path components of
    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, joined by `/`).
    func url(_ repository: String, _ rest: String) throws -> String {
        let components = repository.split(separator: "/", omittingEmptySubsequences: false)
        let valid = !components.isEmpty && components.allSatisfy { component in
            guard let first = component.first, let last = component.last else { return false }
            return component.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) }
                && (first.isLowercase || first.isNumber) && (last.isLowercase || last.isNumber)
        }
        guard valid, repository.count <= 255 else {
            throw Registry.Error.invalidReference(repository, reason: "a repository name is lowercase letters, digits and . _ - separated by /")
        }
        return "\(baseURL)/v2/\(repository)/\(rest)"
    }

    /// A tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`) or a sha256 digest, as a path component.
    func checkedReference(_ reference: String) throws -> String {
        if reference.hasPrefix("sha256:") {
            guard Digest(parsing: reference) != nil else {
                throw Registry.Error.invalidReference(reference, reason: "not a sha256 digest")
            }
            return reference
        }
        let valid = reference.count <= 128 && reference.first.map { $0 != "." && $0 != "-" } == true
            && reference.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        guard valid else {
            throw Registry.Error.invalidReference(reference, reason: "a tag is up to 128 letters, digits, . _ - (not starting with . or -)")
        }
        return reference
    }

    /// A `Location` or `Link` target made absolute (the spec allows relative ones).
    func absolute(_ location: String) -> String {
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        return baseURL + (location.hasPrefix("/") ? "" : "/") + location
    }
}
