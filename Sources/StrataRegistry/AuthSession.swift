import Foundation
import StrataHTTP

/// How a registry wants to be authenticated, learnt from its first 401, and
/// the Bearer tokens fetched so far. Shared by every copy of a client.
actor AuthSession {
    enum Scheme: Equatable {
        case basic
        case bearer(realm: String, service: String?)
    }

    /// A token and what it grants, until when.
    struct Token {
        var value: String
        var scopes: [Scope]
        var expires: Date
    }

    let registry: String
    let credentials: Credentials?
    let transport: any HTTPTransport
    let retryPolicy: RetryPolicy
    /// The registry's; a token server that cannot be reached makes the registry unusable too.
    let reachability: HostReachability
    /// Credentials may go to a plain-http token realm (else only to https or loopback).
    let insecure: Bool
    let now: @Sendable () -> Date

    private var scheme: Scheme?
    private var tokens: [Token] = []
    /// Token requests under way, by scope string: concurrent requests for the
    /// same scopes share one fetch.
    private var pending: [String: Task<Token, any Error>] = [:]

    init(
        registry: String, credentials: Credentials?, transport: any HTTPTransport, retryPolicy: RetryPolicy,
        reachability: HostReachability, insecure: Bool, now: @escaping @Sendable () -> Date
    ) {
        self.reachability = reachability
        self.insecure = insecure
        self.registry = registry
        self.credentials = credentials
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.now = now
    }

    /// The `Authorization` value for a request needing `scopes`, once the
    /// registry's scheme is known; nil before its first challenge (a registry
    /// that wants nothing never gets credentials).
    func authorization(for scopes: [Scope]) async throws -> String? {
        switch scheme {
        case nil: return nil
        case .basic: return credentials?.basicAuthorization
        case .bearer(let realm, let service):
            return try await "Bearer " + token(for: scopes, realm: realm, service: service, refresh: nil).value
        }
    }

    /// After a 401: adopts the challenged scheme and returns the header to try
    /// once more. `rejected` is the header the 401 answered, if any.
    func authorization(
        after challenges: [AuthChallenge], scopes: [Scope], rejected: String?, message: String
    ) async throws -> String {
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }), let realm = bearer.realm {
            scheme = .bearer(realm: realm, service: bearer.service)
            // The server names the scope it wants (with error="insufficient_scope"
            // when a token fell short): ask for ours and its together.
            let wanted = Scope.merged(scopes + bearer.scopes)
            let stale = rejected.map { String($0.dropFirst("Bearer ".count)) }
            return try await "Bearer " + token(for: wanted, realm: realm, service: bearer.service, refresh: stale).value
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            scheme = .basic
            guard let credentials, rejected == nil else {
                throw Registry.Error.authenticationFailed(registry: registry, user: credentials?.username, status: 401, message: message)
            }
            return credentials.basicAuthorization
        }
        throw Registry.Error.unsupportedChallenge(registry: registry, scheme: challenges.first?.scheme ?? "an unnamed")
    }

    /// The secrets of this session (credentials and tokens), for redaction.
    var secrets: [String] {
        (credentials?.secrets ?? []) + tokens.map(\.value)
    }

    /// A cached token covering `scopes`, else a new one. `refresh` is a token
    /// the registry just refused: it is dropped, not reused.
    private func token(for scopes: [Scope], realm: String, service: String?, refresh: String?) async throws -> Token {
        let instant = now()
        tokens.removeAll { $0.expires <= instant || $0.value == refresh }
        if let cached = tokens.first(where: { Scope.covers($0.scopes, scopes) }) {
            return cached
        }
        let key = Scope.merged(scopes).map(\.description).joined(separator: " ")
        if let running = pending[key] { return try await running.value }
        let task = Task { try await fetchToken(scopes: Scope.merged(scopes), realm: realm, service: service) }
        pending[key] = task
        defer { pending[key] = nil }
        let token = try await task.value
        tokens.append(token)
        return token
    }

    /// `GET realm?service=…&scope=…` (docker token authentication spec,
    /// "Requesting a Token"), with Basic credentials when there are some.
    private func fetchToken(scopes: [Scope], realm: String, service: String?) async throws -> Token {
        // A realm is chosen by the registry's answer: credentials never travel
        // in clear text to a host the user did not mark insecure.
        let realmHost = realm.hasPrefix("http://") ? String(realm.dropFirst(7).prefix { $0 != "/" && $0 != "?" }) : nil
        let credentials = realmHost.map { insecure || RegistryClient.isLoopback($0) } ?? true ? self.credentials : nil
        var query: [String] = []
        if let service { query.append("service=" + percentEncoded(service)) }
        if let credentials { query.append("account=" + percentEncoded(credentials.username)) }
        query += scopes.map { "scope=" + percentEncoded($0.description) }
        let url = query.isEmpty ? realm : realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
        var request = HTTPRequest(method: "GET", url: url)
        if let credentials { request.headers.set("Authorization", credentials.basicAuthorization) }
        let started = now()
        let response = try await retryPolicy.run { _ in
            let response: HTTPResponse
            try reachability.check()
            do {
                response = try await transport.send(request)
            } catch let error as HTTPError {
                throw reachability.failure(error, target: registry)
            }
            guard response.status == 200 else {
                let message = redact(serverText(response.body), secrets: credentials?.secrets ?? [])
                if response.status == 401 || response.status == 403 {
                    throw Registry.Error.authenticationFailed(
                        registry: registry, user: credentials?.username, status: response.status, message: message)
                }
                throw Registry.Error.tokenRequestFailed(registry: registry, realm: realm, status: response.status, message: message)
            }
            return response
        }
        struct Answer: Decodable {
            var token: String?
            var access_token: String?
            var expires_in: Int?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)),
            let value = answer.token ?? answer.access_token, !value.isEmpty
        else {
            throw Registry.Error.invalidResponse(target: registry, reason: "the token server at \(realm) sent no token")
        }
        // The spec's default lifetime is 60 s; renew a little early so a token
        // does not expire between the check and the request.
        let lifetime = Double(max(answer.expires_in ?? 60, 1))
        let expires = started.addingTimeInterval(lifetime - min(30, lifetime / 4))
        return Token(value: value, scopes: scopes, expires: expires)
    }
}

/// RFC 3986 unreserved characters stay; everything else is %-encoded.
func percentEncoded(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

/// The message of an error body: OCI `errors[]` (code: message; …), a token
/// server's `{"details"}` or `{"error"}`, else the first line of the text.
func serverText(_ body: [UInt8]) -> String {
    let errors = decodeErrors(body)
    if !errors.isEmpty {
        return errors.map { [$0.code, $0.message ?? ""].filter { !$0.isEmpty }.joined(separator: ": ") }
            .joined(separator: "; ")
    }
    if let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
        for key in ["details", "error_description", "error", "message"] {
            if let text = json[key] as? String { return text }
        }
    }
    let text = String(decoding: body.prefix(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let line = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
    return line.count > 200 ? String(line.prefix(200)) + "…" : line
}

/// The OCI `errors[]` of a body, or none.
func decodeErrors(_ body: [UInt8]) -> [Registry.ServerError] {
    struct Body: Decodable {
        var errors: [Registry.ServerError]?
    }
    return (try? JSONDecoder().decode(Body.self, from: Data(body)))?.errors ?? []
}
