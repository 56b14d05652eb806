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
        }
    }

    /// The HTTP status, for `.status`.
    public var status: Int? {
        if case .status(_, _, let status, _) = self { status } else { nil }
    }
}
