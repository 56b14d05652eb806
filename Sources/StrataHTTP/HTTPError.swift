/// Why a request failed. Descriptions are one line naming the endpoint;
/// they never contain request header values (credentials).
public enum HTTPError: Error, CustomStringConvertible, Sendable {
    /// The transfer failed before a complete response arrived. `url` names the
    /// endpoint (method, URL without credentials, unix socket if any); `code`
    /// is libcurl's CURLcode, `message` its `curl_easy_strerror` text and
    /// error buffer.
    case transport(url: String, code: Int, message: String)
    /// The server answered with an unexpected status. `body` is the server's
    /// message: Docker's `{"message": …}` or OCI `errors[].message` when the
    /// body is JSON, else the start of the body text.
    case status(method: String, url: String, status: Int, body: String)
    /// The request body's stream threw.
    case bodyStream(url: String, underlying: any Error)
    /// A time limit cut the transfer: `limit` says which, and the variable that sets it.
    case timedOut(url: String, limit: String)
    /// The connection closed before the response was complete (inside the head, or
    /// short of the body's announced length): a broken connection, never an answer.
    case truncated(url: String, detail: String)

    public var description: String {
        switch self {
        case .transport(let url, _, let message):
            "\(url): \(message)"
        case .status(let method, let url, let status, let body):
            body.isEmpty
                ? "\(method) \(url): HTTP \(status)"
                : "\(method) \(url): HTTP \(status): \(body)"
        case .bodyStream(let url, let underlying):
            "\(url): reading the request body failed: \(underlying)"
        case .timedOut(let url, let limit):
            "\(url): \(limit)"
        case .truncated(let url, let detail):
            "\(url): \(detail)"
        }
    }

    /// The host cannot be used at all: its name does not resolve, it refuses connections,
    /// TLS fails, or it stalls past a time limit. Trying again within one run only costs
    /// time; a connection cut mid-transfer is not this (it is retried).
    public var isUnreachable: Bool {
        switch self {
        case .timedOut: true
        case .transport(_, let code, _): Self.unreachableCodes.contains(code)
        default: false
        }
    }

    /// CURLE_COULDNT_RESOLVE_PROXY (5), _HOST (6), CURLE_COULDNT_CONNECT (7),
    /// CURLE_SSL_CONNECT_ERROR (35), CURLE_SSL_CERTPROBLEM (58), CURLE_SSL_CIPHER (59),
    /// CURLE_PEER_FAILED_VERIFICATION (60), CURLE_SSL_CACERT_BADFILE (77),
    /// CURLE_SSL_ISSUER_ERROR (83), CURLE_SSL_PINNEDPUBKEYNOTMATCH (90),
    /// CURLE_SSL_INVALIDCERTSTATUS (91).
    static let unreachableCodes: Set<Int> = [5, 6, 7, 35, 58, 59, 60, 77, 83, 90, 91]

    /// The HTTP status, for `.status`.
    public var status: Int? {
        if case .status(_, _, let status, _) = self { status } else { nil }
    }
}
