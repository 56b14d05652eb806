import Foundation

/// Why a build session stopped.
public enum SessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection to the engine could not be opened, or broke.
    case connection(String)
    /// The engine sent something the session cannot follow.
    case protocolViolation(String)
    /// The engine reported an error.
    case peer(String)
    /// Something on this side failed (a context file could not be read).
    case local(String)
    /// The session was closed while a call was still running.
    case closed

    public var description: String {
        switch self {
        case .connection(let reason): "build session: \(reason)"
        case .protocolViolation(let reason): "build session: \(reason)"
        case .peer(let reason): reason
        case .local(let reason): reason
        case .closed: "build session: closed"
        }
    }
}

/// The HTTP/2 server side (RFC 9113) of a build session: after `POST /session` is upgraded
/// (`h2c`), the engine is the gRPC client and strata serves it. One reader thread takes
/// frames off the socket; each call runs on a thread of its own; writes go out under one
/// lock, and DATA waits for the engine's flow-control windows.
final class HTTP2Server: @unchecked Sendable {
    typealias Handler = @Sendable (GRPCServerStream) -> Void

    static let clientPreface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum FrameType: UInt8 {
        case data = 0, headers = 1, priority = 2, resetStream = 3, settings = 4, pushPromise = 5
        case ping = 6, goAway = 7, windowUpdate = 8, continuation = 9
    }

    enum Flag {
        static let endStream: UInt8 = 0x1
        static let ack: UInt8 = 0x1
        static let endHeaders: UInt8 = 0x4
        static let padded: UInt8 = 0x8
        static let priority: UInt8 = 0x20
    }

    private let socket: Int32
    private var input: [UInt8]
    private var inputStart = 0
    /// What `recv` fills (reader thread only).
    private var receiveBuffer = [UInt8](repeating: 0, count: 65_536)
    private let handler: Handler
    private var decoder = HPACKDecoder(maxHeaderListSize: HTTP2Server.maxHeaderListSize)

    /// Guards everything below; waiters (flow control, receivers, `stop`) wait on it.
    let state = NSCondition()
    private var streams: [UInt32: GRPCServerStream] = [:]
    private var connectionWindow = 65_535
    private var initialStreamWindow = 65_535
    private var maxFrameSize = 16_384
    private(set) var closed = false
    private var readerRunning = false
    private var runningCalls = 0

    private let writeLock = NSLock()

    /// A server on `socket`, an upgraded connection; `leftover` is what was read past the
    /// HTTP/1.1 answer (the start of the engine's preface).
    init(socket: Int32, leftover: [UInt8], handler: @escaping Handler) {
        self.socket = socket
        input = leftover
        self.handler = handler
    }

    /// The header list size strata accepts (SETTINGS_MAX_HEADER_LIST_SIZE, the decoder's limit).
    static let maxHeaderListSize = 1 << 20

    /// Sends the server preface (SETTINGS_MAX_HEADER_LIST_SIZE) and starts the reader thread.
    func start() throws(SessionError) {
        try writeFrame(.settings, flags: 0, stream: 0, payload: [0x00, 0x06] + bigEndian(UInt32(Self.maxHeaderListSize)))
        state.lock()
        readerRunning = true
        state.unlock()
        let thread = Thread { [self] in
            do {
                try readPreface()
                while true { try handleFrame() }
            } catch {
                // The engine hung up, or `stop` did: either way the session is over.
            }
            state.lock()
            closed = true
            readerRunning = false
            state.broadcast()
            state.unlock()
        }
        thread.name = "strata-session"
        thread.start()
    }

    /// Closes the connection, waits for the reader and every call to end, and releases
    /// the socket.
    func stop() {
        state.lock()
        closed = true
        state.broadcast()
        state.unlock()
        shutdown(socket, Int32(SHUT_RDWR))
        state.lock()
        while readerRunning || runningCalls > 0 { state.wait() }
        state.unlock()
        Foundation.close(socket)
    }

    // MARK: - Reading

    private func readPreface() throws(SessionError) {
        let preface = try read(Self.clientPreface.count)
        guard preface.elementsEqual(Self.clientPreface) else {
            throw .protocolViolation("the engine did not start HTTP/2")
        }
    }

    private func read(_ count: Int) throws(SessionError) -> ArraySlice<UInt8> {
        while input.count - inputStart < count {
            if inputStart > 0 {
                input.removeFirst(inputStart)
                inputStart = 0
            }
            let received = receiveBuffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if received < 0 && errno == EINTR { continue }
            guard received > 0 else { throw .closed }
            input += receiveBuffer[0..<received]
        }
        defer { inputStart += count }
        return input[inputStart..<inputStart + count]
    }

    private struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    private func readFrame() throws(SessionError) -> Frame {
        let header = Array(try read(9))
        let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
        guard length <= 16_384 else { throw .protocolViolation("a frame of \(length) bytes exceeds the frame size") }
        let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8]))
            & 0x7fff_ffff
        return Frame(type: header[3], flags: header[4], stream: stream, payload: Array(try read(length)))
    }

    /// The payload without its padding (and, for HEADERS, its priority fields).
    private func content(of frame: Frame, skipping extra: Int = 0) throws(SessionError) -> ArraySlice<UInt8> {
        var payload = frame.payload[...]
        var padding = 0
        if frame.flags & Flag.padded != 0 {
            guard let first = payload.first else { throw .protocolViolation("a padded frame without padding length") }
            padding = Int(first)
            payload = payload.dropFirst()
        }
        guard payload.count >= padding + extra else { throw .protocolViolation("a frame shorter than its padding") }
        return payload.dropFirst(extra).dropLast(padding)
    }

    private func handleFrame() throws(SessionError) {
        let frame = try readFrame()
        switch FrameType(rawValue: frame.type) {
        case .data:
            let data = try content(of: frame)
            if !frame.payload.isEmpty {
                // What arrives is consumed at once (calls read small messages): give it back.
                try writeWindowUpdate(stream: 0, increment: frame.payload.count)
            }
            state.lock()
            let stream = streams[frame.stream]
            state.unlock()
            guard let stream else { return }
            if !frame.payload.isEmpty && frame.flags & Flag.endStream == 0 {
                try writeWindowUpdate(stream: frame.stream, increment: frame.payload.count)
            }
            stream.deliver(data, ended: frame.flags & Flag.endStream != 0)
        case .headers:
            let extra = frame.flags & Flag.priority != 0 ? 5 : 0
            var block = Array(try content(of: frame, skipping: extra))
            var flags = frame.flags
            while flags & Flag.endHeaders == 0 {
                let next = try readFrame()
                guard next.type == FrameType.continuation.rawValue, next.stream == frame.stream else {
                    throw .protocolViolation("a header block interrupted by another frame")
                }
                block += next.payload
                flags = next.flags
                guard block.count <= Self.maxHeaderListSize else {
                    throw .protocolViolation("a header block over \(Self.maxHeaderListSize) bytes")
                }
            }
            let headers: [HPACKHeader]
            do { headers = try decoder.decode(block) } catch { throw .protocolViolation("headers: \(error)") }
            try open(frame.stream, headers: headers, ended: frame.flags & Flag.endStream != 0)
        case .resetStream:
            state.lock()
            streams.removeValue(forKey: frame.stream)?.isReset = true
            state.broadcast()
            state.unlock()
        case .settings:
            guard frame.flags & Flag.ack == 0 else { return }
            try applySettings(frame.payload)
            try writeFrame(.settings, flags: Flag.ack, stream: 0, payload: [])
        case .ping:
            guard frame.flags & Flag.ack == 0 else { return }
            try writeFrame(.ping, flags: Flag.ack, stream: 0, payload: frame.payload)
        case .goAway:
            throw .closed
        case .windowUpdate:
            guard frame.payload.count == 4 else { throw .protocolViolation("a WINDOW_UPDATE of \(frame.payload.count) bytes") }
            let increment = Int(frame.payload[0] & 0x7f) << 24 | Int(frame.payload[1]) << 16
                | Int(frame.payload[2]) << 8 | Int(frame.payload[3])
            state.lock()
            if frame.stream == 0 {
                connectionWindow += increment
            } else {
                streams[frame.stream]?.sendWindow += increment
            }
            state.broadcast()
            state.unlock()
        case .pushPromise, .continuation:
            throw .protocolViolation("an unexpected frame of type \(frame.type)")
        case .priority, nil:
            return  // PRIORITY is advisory; unknown types are ignored (RFC 9113 §4.1)
        }
    }

    private func applySettings(_ payload: [UInt8]) throws(SessionError) {
        guard payload.count % 6 == 0 else { throw .protocolViolation("a SETTINGS frame of \(payload.count) bytes") }
        state.lock()
        defer {
            state.broadcast()
            state.unlock()
        }
        for offset in stride(from: 0, to: payload.count, by: 6) {
            let identifier = UInt16(payload[offset]) << 8 | UInt16(payload[offset + 1])
            let value = Int(payload[offset + 2]) << 24 | Int(payload[offset + 3]) << 16
                | Int(payload[offset + 4]) << 8 | Int(payload[offset + 5])
            switch identifier {
            case 0x4:  // SETTINGS_INITIAL_WINDOW_SIZE: open streams move by the difference
                let delta = value - initialStreamWindow
                initialStreamWindow = value
                for stream in streams.values { stream.sendWindow += delta }
            case 0x5:  // SETTINGS_MAX_FRAME_SIZE
                maxFrameSize = min(max(value, 16_384), 16_777_215)
            default:
                continue  // the header table size does not matter: strata's encoder never indexes
            }
        }
    }

    private func open(_ id: UInt32, headers: [HPACKHeader], ended: Bool) throws(SessionError) {
        state.lock()
        if let existing = streams[id] {
            state.unlock()
            // Trailers from the client: gRPC clients send none, but they end the stream.
            if ended { existing.deliver([], ended: true) }
            return
        }
        let stream = GRPCServerStream(id: id, headers: headers, server: self, window: initialStreamWindow)
        streams[id] = stream
        runningCalls += 1
        state.unlock()
        if ended { stream.deliver([], ended: true) }
        let handler = self.handler
        let thread = Thread { [self] in
            handler(stream)
            state.lock()
            streams.removeValue(forKey: id)
            runningCalls -= 1
            state.broadcast()
            state.unlock()
        }
        thread.name = "strata-session-call"
        thread.start()
    }

    // MARK: - Writing

    func writeFrame(_ type: FrameType, flags: UInt8, stream: UInt32, payload: some Collection<UInt8>) throws(SessionError) {
        let length = UInt32(payload.count)
        var frame = Array(bigEndian(length).dropFirst()) + [type.rawValue, flags] + bigEndian(stream & 0x7fff_ffff)
        frame.reserveCapacity(9 + payload.count)
        frame += payload
        writeLock.lock()
        defer { writeLock.unlock() }
        if let code = UnixSocketProbe.sendAll(socket, frame) {
            throw .connection("writing to the engine failed: \(String(cString: strerror(code)))")
        }
    }

    private func writeWindowUpdate(stream: UInt32, increment: Int) throws(SessionError) {
        try writeFrame(.windowUpdate, flags: 0, stream: stream, payload: bigEndian(UInt32(increment) & 0x7fff_ffff))
    }

    /// Sends `bytes` as DATA on `stream`, as the engine's windows allow.
    func writeData(_ bytes: [UInt8], stream: GRPCServerStream, endStream: Bool) throws(SessionError) {
        var offset = 0
        repeat {
            state.lock()
            while !closed && !stream.isReset && offset < bytes.count
                && (connectionWindow <= 0 || stream.sendWindow <= 0) {
                state.wait()
            }
            if closed || stream.isReset {
                state.unlock()
                throw .closed
            }
            let count = min(bytes.count - offset, maxFrameSize, connectionWindow, stream.sendWindow)
            connectionWindow -= count
            stream.sendWindow -= count
            state.unlock()
            let last = offset + count == bytes.count
            try writeFrame(.data, flags: last && endStream ? Flag.endStream : 0, stream: stream.id,
                           payload: bytes[offset..<offset + count])
            offset += count
        } while offset < bytes.count
    }
}

/// One gRPC call the engine makes on a session: its method (`path`), its metadata, the
/// messages it sends (length-prefixed, gRPC over HTTP/2) and what strata answers.
final class GRPCServerStream: @unchecked Sendable {
    let id: UInt32
    /// `/package.Service/Method`.
    let path: String
    /// Request metadata by lowercased name, values in order; `-encoded` values decoded
    /// (BuildKit percent-encodes non-ASCII patterns and says so in `<name>-encoded`).
    let metadata: [String: [String]]

    private unowned let server: HTTP2Server
    // Guarded by `server.state`.
    var sendWindow: Int
    var isReset = false
    private var pending: [UInt8] = []
    private var messages: [[UInt8]] = []
    private var ended = false
    private var headersSent = false
    private var finished = false

    init(id: UInt32, headers: [HPACKHeader], server: HTTP2Server, window: Int) {
        self.id = id
        self.server = server
        sendWindow = window
        var metadata: [String: [String]] = [:]
        var path = ""
        for header in headers {
            if header.name == ":path" { path = header.value }
            if !header.name.hasPrefix(":") { metadata[header.name.lowercased(), default: []].append(header.value) }
        }
        for (name, values) in metadata where ["1", "true"].contains(metadata[name + "-encoded"]?.first?.lowercased()) {
            metadata[name] = values.map(Self.queryUnescape)
        }
        self.path = path
        self.metadata = metadata
    }

    /// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
    static func queryUnescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                      let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Called by the reader thread with a DATA payload.
    func deliver(_ data: ArraySlice<UInt8>, ended: Bool) {
        server.state.lock()
        pending += data
        while pending.count >= 5 {
            let length = Int(pending[1]) << 24 | Int(pending[2]) << 16 | Int(pending[3]) << 8 | Int(pending[4])
            guard pending.count >= 5 + length else { break }
            messages.append(Array(pending[5..<5 + length]))
            pending.removeFirst(5 + length)
        }
        if ended { self.ended = true }
        server.state.broadcast()
        server.state.unlock()
    }

    /// The next message, or nil when the engine ended its side of the call.
    func receive() throws(SessionError) -> [UInt8]? {
        server.state.lock()
        defer { server.state.unlock() }
        while messages.isEmpty && !ended && !isReset && !server.closed { server.state.wait() }
        if !messages.isEmpty { return messages.removeFirst() }
        if isReset || (server.closed && !ended) { throw .closed }
        return nil
    }

    /// What every answer starts with.
    static let responseHeaders = [HPACKHeader(name: ":status", value: "200"),
                                  HPACKHeader(name: "content-type", value: "application/grpc")]

    /// Sends one message (the response headers first, once).
    func send(_ message: [UInt8]) throws(SessionError) {
        try sendHeadersIfNeeded()
        var framed: [UInt8] = [0] + bigEndian(UInt32(message.count))
        framed.reserveCapacity(5 + message.count)
        framed += message
        try server.writeData(framed, stream: self, endStream: false)
    }

    private func sendHeadersIfNeeded() throws(SessionError) {
        server.state.lock()
        let needed = !headersSent
        headersSent = true
        server.state.unlock()
        guard needed else { return }
        try server.writeFrame(.headers, flags: HTTP2Server.Flag.endHeaders, stream: id,
                              payload: HPACKEncoder.encode(Self.responseHeaders))
    }

    /// Ends the call with a gRPC status (0 is OK) in the trailers; a response that sent
    /// nothing yet is trailers-only. Later calls do nothing.
    func finish(status: Int, message: String? = nil) {
        server.state.lock()
        let first = !finished
        finished = true
        let headersSent = self.headersSent
        server.state.unlock()
        guard first else { return }
        var headers = headersSent ? [] : Self.responseHeaders
        headers.append(HPACKHeader(name: "grpc-status", value: String(status)))
        if let message, !message.isEmpty {
            headers.append(HPACKHeader(name: "grpc-message", value: Self.percentEncode(message)))
        }
        try? server.writeFrame(.headers, flags: HTTP2Server.Flag.endHeaders | HTTP2Server.Flag.endStream, stream: id,
                               payload: HPACKEncoder.encode(headers))
    }

    /// gRPC's `grpc-message` encoding: printable ASCII but `%` stays, the rest is `%XX`.
    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7e && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// `value` as four bytes, most significant first (HTTP/2 and gRPC's byte order).
func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
}
