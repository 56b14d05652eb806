import Foundation
import StrataHTTP

/// The OCI distribution client's namespace: its error type and the error
/// entries registries send.
public enum Registry {
    /// One entry of an OCI error body (distribution spec, "Error Codes":
    /// `{"errors": [{"code", "message", "detail"}]}`). `detail` is free-form
    /// JSON and is not kept.
    public struct ServerError: Codable, Sendable, Equatable {
        /// `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `UNAUTHORIZED`, `DENIED`, …
        public var code: String
        public var message: String?

        public init(code: String, message: String? = nil) {
            self.code = code
            self.message = message
        }
    }

    /// Why a registry operation failed. Descriptions are one line that names
    /// the registry and, where there is one, the repository and reference
    /// (`127.0.0.1:5000/acme/web:1.0: manifest unknown (404)`). No description
    /// ever contains a password, a token or an `Authorization` value: server
    /// messages are redacted before they are stored here.
    public enum Error: Swift.Error, CustomStringConvertible, Sendable {
        /// The registry answered `status` with the OCI `errors[]` body.
        /// `target` is `host/repository:tag`, `host/repository@digest` or `host`.
        case server(target: String, status: Int, errors: [ServerError], retryAfter: Duration?)
        /// Credentials were refused (or none were found and the registry wants
        /// some). `user` is the user name tried, if any.
        case authenticationFailed(registry: String, user: String?, status: Int, message: String)
        /// The token server (the Bearer challenge's realm) failed otherwise.
        case tokenRequestFailed(registry: String, realm: String, status: Int, message: String)
        /// The registry asked for an authentication scheme this client lacks.
        case unsupportedChallenge(registry: String, scheme: String)
        /// The connection failed (after the retries the policy allows).
        case transport(target: String, underlying: HTTPError)
        /// The registry cannot be reached at all (its name does not resolve, it refuses
        /// connections, TLS fails, or it stalls past a time limit): tried once per run.
        case unreachable(registry: String, underlying: HTTPError)
        /// Downloaded or announced content does not hash to its digest.
        case digestMismatch(target: String, expected: String, actual: String)
        /// A blob's size differs from the size expected.
        case sizeMismatch(target: String, expected: Int64, actual: Int64)
        /// The registry broke the protocol (a missing `Location`, bad JSON, …).
        case invalidResponse(target: String, reason: String)
        /// A repository name or reference this client will not send.
        case invalidReference(String, reason: String)
        /// A `docker-credential-<helper>` failed for `host`.
        case credentialHelper(helper: String, host: String, reason: String)
        /// Docker's config.json cannot be read.
        case invalidDockerConfig(path: String, reason: String)
        /// A local file could not be read or written.
        case fileSystem(path: String, reason: String)

        public var description: String {
            switch self {
            case let .server(target, status, errors, _):
                return "\(target): \(Self.message(errors, status: status)) (\(status))"
            case let .authenticationFailed(registry, user, status, message):
                let who = user.map { "authentication failed for user \($0)" }
                    ?? "authentication required and no credentials found (docker login \(registry), or set STRATA_REGISTRY_USER and STRATA_REGISTRY_PASSWORD)"
                return message.isEmpty ? "\(registry): \(who) (\(status))" : "\(registry): \(who) (\(status)): \(message)"
            case let .tokenRequestFailed(registry, realm, status, message):
                let suffix = message.isEmpty ? "" : ": \(message)"
                return "\(registry): token request to \(realm) failed (\(status))\(suffix)"
            case let .unsupportedChallenge(registry, scheme):
                return "\(registry): the registry asks for \(scheme) authentication, which strata does not support"
            case let .transport(target, underlying):
                return "\(target): connection failed: \(underlying)"
            case let .unreachable(registry, underlying):
                return "\(registry) unreachable: \(underlying)"
            case let .digestMismatch(target, expected, actual):
                return "\(target): content does not match its digest: expected \(expected), got \(actual)"
            case let .sizeMismatch(target, expected, actual):
                return "\(target): expected \(expected) bytes, got \(actual)"
            case let .invalidResponse(target, reason):
                return "\(target): unexpected response from the registry: \(reason)"
            case let .invalidReference(reference, reason):
                return "invalid reference \(reference): \(reason)"
            case let .credentialHelper(helper, host, reason):
                return "docker-credential-\(helper) for \(host): \(reason)"
            case let .invalidDockerConfig(path, reason):
                return "\(path): \(reason)"
            case let .fileSystem(path, reason):
                return "\(path): \(reason)"
            }
        }

        /// The HTTP status, when the registry or token server answered one.
        public var status: Int? {
            switch self {
            case .server(_, let status, _, _), .authenticationFailed(_, _, let status, _),
                .tokenRequestFailed(_, _, let status, _):
                status
            default: nil
            }
        }

        /// The error codes of the OCI body (`MANIFEST_UNKNOWN`, …).
        public var codes: [String] {
            if case .server(_, _, let errors, _) = self { errors.map(\.code) } else { [] }
        }

        /// Worth trying again (distribution spec: 429 "too many requests";
        /// 5xx other than 501/505, which will not change; a broken connection).
        var isTransient: Bool {
            switch self {
            case .transport: true
            case .server(_, let status, _, _), .tokenRequestFailed(_, _, let status, _):
                status == 429 || (500...599).contains(status) && status != 501 && status != 505
            default: false
            }
        }

        /// The server's `Retry-After`, for a transient status.
        var retryAfter: Duration? {
            if case .server(_, _, _, let retryAfter) = self { retryAfter } else { nil }
        }

        private static func message(_ errors: [ServerError], status: Int) -> String {
            let messages = errors.map { error in
                error.message.flatMap { $0.isEmpty ? nil : $0 } ?? error.code.lowercased().replacingOccurrences(of: "_", with: " ")
            }.filter { !$0.isEmpty }
            return messages.isEmpty ? reasonPhrase(status) : messages.joined(separator: "; ")
        }

        /// What a bodiless answer (HEAD, or a proxy's bare status) means.
        static func reasonPhrase(_ status: Int) -> String {
            switch status {
            case 400: "bad request"
            case 401: "unauthorized"
            case 403: "denied"
            case 404: "not found"
            case 405: "method not allowed"
            case 409: "conflict"
            case 416: "range not satisfiable"
            case 429: "too many requests"
            case 500: "internal server error"
            case 502: "bad gateway"
            case 503: "service unavailable"
            case 504: "gateway timeout"
            default: "HTTP \(status)"
            }
        }
    }
}
