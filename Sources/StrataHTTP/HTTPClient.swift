/// Sends requests. Production code passes `CurlTransport`; unit tests of the
/// modules above pass a fake, so nothing there needs a network or a daemon.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and reads the whole response, whatever its status.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
    /// Sends `request` and returns as soon as the response head arrived; the
    /// body follows in `HTTPStreamingResponse.body`.
    func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse
}

extension HTTPTransport {
    /// For transports that only answer whole responses (test fakes).
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let response = try await send(request)
        return HTTPStreamingResponse(status: response.status, headers: response.headers, body: .bytes(response.body))
    }
}

/// A transport plus what every caller wants: an unexpected status turned into
/// `HTTPError.status` with the server's message. No retries here: the
/// registry client owns its retry policy, using `status` and `retryAfter`.
public struct HTTPClient: Sendable {
    /// The transport requests go through.
    public let transport: any HTTPTransport
    /// Headers added to every request that does not set them itself.
    public var defaultHeaders: HTTPHeaders

    /// Creates a client.
    public init(transport: any HTTPTransport = CurlTransport(), defaultHeaders: HTTPHeaders = [:]) {
        self.transport = transport
        self.defaultHeaders = defaultHeaders
    }

    /// True for 2xx.
    public static func isSuccess(_ status: Int) -> Bool {
        (200..<300).contains(status)
    }

    /// Sends `request` and reads the response; throws `HTTPError.status` when
    /// `accept` refuses the status.
    public func send(_ request: HTTPRequest, accept: (Int) -> Bool = HTTPClient.isSuccess) async throws -> HTTPResponse {
        let request = withDefaults(request)
        let response = try await transport.send(request)
        guard accept(response.status) else {
            throw statusError(request, status: response.status, body: response.body)
        }
        return response
    }

    /// Sends `request` and returns once the head arrived; throws
    /// `HTTPError.status` (with the start of the body) when `accept` refuses it.
    public func stream(
        _ request: HTTPRequest, accept: (Int) -> Bool = HTTPClient.isSuccess
    ) async throws -> HTTPStreamingResponse {
        let request = withDefaults(request)
        let response = try await transport.stream(request)
        guard accept(response.status) else {
            let body = try await response.body.collect(limit: 64 << 10)
            throw statusError(request, status: response.status, body: body)
        }
        return response
    }

    /// Sends `request` and returns the response body's lines as they arrive
    /// (the Docker engine's JSON progress streams).
    public func lines(_ request: HTTPRequest) async throws -> HTTPBodyLines {
        try await stream(request).body.lines()
    }

    private func withDefaults(_ request: HTTPRequest) -> HTTPRequest {
        var request = request
        for field in defaultHeaders where request.headers[field.name] == nil {
            request.headers.add(field.name, field.value)
        }
        return request
    }

    /// A careless server may echo credentials in its error body: the values of
    /// the request's credential headers are blanked from the message.
    private func statusError(_ request: HTTPRequest, status: Int, body: [UInt8]) -> HTTPError {
        var message = serverMessage(from: body)
        for name in ["Authorization", "Proxy-Authorization"] {
            for value in request.headers.values(name) {
                let secrets = [value] + value.split(separator: " ").dropFirst().map(String.init)
                for secret in secrets where secret.count >= 4 {
                    message = message.replacingOccurrences(of: secret, with: "<redacted>")
                }
            }
        }
        return .status(method: request.method.uppercased(), url: redactingUserInfo(request.url), status: status, body: message)
    }
}

/// `scheme://user:password@host/path` → `scheme://host/path`.
func redactingUserInfo(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return url }
    let authorityEnd = url[schemeEnd.upperBound...].firstIndex { "/?#".contains($0) } ?? url.endIndex
    guard let at = url[schemeEnd.upperBound..<authorityEnd].lastIndex(of: "@") else { return url }
    return String(url[..<schemeEnd.upperBound]) + url[url.index(after: at)...]
}
