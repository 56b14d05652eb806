import Foundation

/// A response whose body was read completely.
public struct HTTPResponse: Sendable {
    /// The status code of the final response (after any `100 Continue`).
    public var status: Int
    /// The final response's header fields.
    public var headers: HTTPHeaders
    /// The body bytes.
    public var body: [UInt8]

    /// Creates a response (fake transports build these in tests).
    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// How long the server asks the client to wait (`Retry-After`, RFC 9110
    /// §10.2.3: delay-seconds or an HTTP-date), or `nil` when absent or unreadable.
    public func retryAfter(now: Date = Date()) -> Duration? {
        retryAfterDelay(headers["Retry-After"], now: now)
    }
}

/// A response whose body arrives as it is received: the head is available as
/// soon as the server sent it, while the transfer goes on.
public struct HTTPStreamingResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The header fields.
    public var headers: HTTPHeaders
    /// The body, chunk by chunk. Stopping the iteration (or cancelling the
    /// consuming task) aborts the transfer.
    public var body: HTTPResponseBody

    /// Creates a streaming response.
    public init(status: Int, headers: HTTPHeaders = [:], body: HTTPResponseBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The chunks of a response body, in order, for one consumer. A slow consumer
/// slows the transfer down rather than letting chunks pile up in memory.
public struct HTTPResponseBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    private let chunks: AsyncThrowingStream<[UInt8], any Error>
    private let control: TransferControl?

    /// A body made of the given chunks (for fake transports).
    public init(chunks: AsyncThrowingStream<[UInt8], any Error>) {
        self.init(chunks: chunks, control: nil)
    }

    /// A body of the given bytes, as a single chunk.
    public static func bytes(_ bytes: [UInt8]) -> HTTPResponseBody {
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        if !bytes.isEmpty { continuation.yield(bytes) }
        continuation.finish()
        return HTTPResponseBody(chunks: stream)
    }

    init(chunks: AsyncThrowingStream<[UInt8], any Error>, control: TransferControl?) {
        self.chunks = chunks
        self.control = control
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
        let control: TransferControl?

        public mutating func next() async throws -> [UInt8]? {
            guard let chunk = try await base.next() else {
                // AsyncThrowingStream ends quietly when the consuming task is
                // cancelled; a cut-off body must not pass for a whole one.
                try Task.checkCancellation()
                return nil
            }
            control?.consumed(chunk.count)
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: chunks.makeAsyncIterator(), control: control)
    }

    /// Reads the whole body; stops after `limit` bytes (the rest is dropped and
    /// the transfer aborted), for reading an error message of unknown size.
    public func collect(limit: Int = .max) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in self {
            bytes.append(contentsOf: chunk.prefix(limit - bytes.count))
            if bytes.count >= limit { break }
        }
        return bytes
    }

    /// The body split into lines (on `\n`, dropping a trailing `\r`), each
    /// delivered as soon as it is complete; empty lines are skipped. For JSON
    /// lines such as the Docker engine's build and pull progress.
    public func lines() -> HTTPBodyLines {
        HTTPBodyLines(body: self)
    }
}

/// The lines of a response body; see `HTTPResponseBody.lines()`.
public struct HTTPBodyLines: AsyncSequence, Sendable {
    public typealias Element = String

    let body: HTTPResponseBody

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: HTTPResponseBody.AsyncIterator
        var pending: [UInt8] = []
        var start = 0
        var finished = false

        public mutating func next() async throws -> String? {
            while true {
                if let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    var line = pending[start..<newline]
                    start = newline + 1
                    if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                    if line.isEmpty { continue }
                    return String(decoding: line, as: UTF8.self)
                }
                if finished {
                    guard start < pending.count else { return nil }
                    let rest = pending[start...]
                    start = pending.count
                    return String(decoding: rest, as: UTF8.self)
                }
                pending.removeFirst(start)
                start = 0
                if let chunk = try await chunks.next() {
                    pending.append(contentsOf: chunk)
                } else {
                    finished = true
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: body.makeAsyncIterator())
    }
}

/// Parses a `Retry-After` value: delay-seconds or an IMF-fixdate.
func retryAfterDelay(_ value: String?, now: Date) -> Duration? {
    guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
    if let seconds = Int(value), seconds >= 0 { return .seconds(seconds) }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    guard let date = formatter.date(from: value) else { return nil }
    return .seconds(max(0, Int(date.timeIntervalSince(now).rounded(.up))))
}

/// The message a server put in an error body: Docker's `{"message": …}`, the
/// OCI distribution spec's `{"errors": [{"code", "message"}]}`, else the first
/// line of the text, shortened.
func serverMessage(from body: [UInt8]) -> String {
    if let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
        if let message = json["message"] as? String { return message }
        if let errors = json["errors"] as? [[String: Any]] {
            let messages = errors.map { error in
                [error["code"] as? String, error["message"] as? String]
                    .compactMap { $0 }.joined(separator: ": ")
            }
            return messages.joined(separator: "; ")
        }
    }
    let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let firstLine = text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
    return firstLine.count > 300 ? String(firstLine.prefix(300)) + "…" : firstLine
}
