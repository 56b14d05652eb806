/// One HTTP request. A value: a retry can send the same request again,
/// because a streamed body is described by a factory, not an open stream.
public struct HTTPRequest: Sendable {
    /// The method, e.g. `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`.
    public var method: String
    /// An absolute `http://` or `https://` URL. Over a unix socket the host is
    /// ignored by the server, e.g. `http://localhost/v1.41/_ping`.
    public var url: String
    /// Header fields to send.
    public var headers: HTTPHeaders
    /// The request body.
    public var body: HTTPBody
    /// Abort when fewer than `bytesPerSecond` move for `seconds`; `nil` uses the
    /// transport's default, `.disabled` waits forever (a build that runs a long,
    /// silent step sends nothing for minutes).
    public var lowSpeedLimit: HTTPLowSpeedLimit?
    /// Follow 3xx redirects (e.g. a registry blob served from object storage).
    /// libcurl does not send a custom `Authorization` header to another host.
    public var followRedirects: Bool
    /// A large response read for its bytes, not line by line as they come (`docker save`,
    /// a blob): received through larger buffers.
    public var bulk: Bool

    /// Creates a request.
    public init(
        method: String = "GET",
        url: String,
        headers: HTTPHeaders = [:],
        body: HTTPBody = .empty,
        lowSpeedLimit: HTTPLowSpeedLimit? = nil,
        followRedirects: Bool = false,
        bulk: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.lowSpeedLimit = lowSpeedLimit
        self.followRedirects = followRedirects
        self.bulk = bulk
    }
}

/// A request body: nothing, bytes in memory, or a stream pulled in chunks so
/// that a 2 GiB layer never sits in memory.
public enum HTTPBody: Sendable {
    /// No body.
    case empty
    /// A body held in memory.
    case bytes([UInt8])
    /// A body produced on demand. `length` is the exact size when known (sent as
    /// `Content-Length`), or `nil` for `Transfer-Encoding: chunked`. `open` is
    /// called once per attempt, on the transfer's thread.
    case stream(length: Int64?, open: @Sendable () throws -> any HTTPBodyStream)

    /// The body's size when known in advance.
    public var length: Int64? {
        switch self {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .stream(let length, _): length
        }
    }
}

/// A pull-based source of request body bytes (libcurl pulls it through
/// CURLOPT_READFUNCTION as the socket can take more).
public protocol HTTPBodyStream {
    /// Copies up to `buffer.count` bytes into `buffer` and returns how many;
    /// 0 means the end of the body. Throwing aborts the transfer, and the
    /// transport rethrows this error.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A low-speed limit: the transfer fails when it moves fewer than
/// `bytesPerSecond` for `seconds` in a row (CURLOPT_LOW_SPEED_LIMIT and
/// CURLOPT_LOW_SPEED_TIME). Unlike a total timeout it never cuts a long,
/// healthy transfer.
public struct HTTPLowSpeedLimit: Sendable, Equatable {
    /// Minimum average speed.
    public var bytesPerSecond: Int
    /// How long the speed may stay below the minimum.
    public var seconds: Int
    /// The environment variable that sets this limit, named when it cuts a transfer.
    public var setting: String?

    /// Creates a limit.
    public init(bytesPerSecond: Int, seconds: Int, setting: String? = nil) {
        self.bytesPerSecond = bytesPerSecond
        self.seconds = seconds
        self.setting = setting
    }

    /// No limit: wait as long as the server keeps the connection.
    public static let disabled = HTTPLowSpeedLimit(bytesPerSecond: 0, seconds: 0)
}
