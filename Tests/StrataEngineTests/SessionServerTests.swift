import Foundation
@testable import StrataEngine
import Testing

/// The session server against a minimal HTTP/2 gRPC client playing the engine's part
/// (fsutil's receiver), over a socket pair: no engine needed.
@Suite struct SessionServerTests {
    /// The engine's side of the connection: writes frames, reads them back whole.
    final class PeerClient {
        let socket: Int32
        var input: [UInt8] = []
        var decoder = HPACKDecoder()

        init(socket: Int32) {
            self.socket = socket
        }

        func write(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let count = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress! + offset, bytes.count - offset, 0) }
                precondition(count > 0)
                offset += count
            }
        }

        func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8]) {
            let length = payload.count
            write([UInt8(length >> 16), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags,
                   UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload)
        }

        func call(_ path: String, stream: UInt32, metadata: [(String, String)] = []) {
            let headers = [HPACKHeader(name: ":method", value: "POST"), HPACKHeader(name: ":scheme", value: "http"),
                           HPACKHeader(name: ":path", value: path), HPACKHeader(name: ":authority", value: "localhost"),
                           HPACKHeader(name: "content-type", value: "application/grpc"), HPACKHeader(name: "te", value: "trailers")]
                + metadata.map { HPACKHeader(name: $0.0, value: $0.1) }
            frame(1, flags: 0x4, stream: stream, HPACKEncoder.encode(headers))
        }

        func message(_ bytes: [UInt8], stream: UInt32, end: Bool = false) {
            let length = UInt32(bytes.count)
            frame(0, flags: end ? 1 : 0, stream: stream,
                  [0, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + bytes)
        }

        func windowUpdate(stream: UInt32, _ increment: UInt32) {
            frame(8, stream: stream, [UInt8(increment >> 24), UInt8(increment >> 16 & 0xff), UInt8(increment >> 8 & 0xff),
                                      UInt8(increment & 0xff)])
        }

        func readBytes(_ count: Int) -> [UInt8]? {
            while input.count < count {
                var chunk = [UInt8](repeating: 0, count: 65_536)
                let received = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                guard received > 0 else { return nil }
                input += chunk[0..<received]
            }
            defer { input.removeFirst(count) }
            return Array(input[0..<count])
        }

        struct Frame {
            var type: UInt8
            var flags: UInt8
            var stream: UInt32
            var payload: [UInt8]
        }

        func readFrame() -> Frame? {
            guard let header = readBytes(9) else { return nil }
            let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            let stream = UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])
            guard let payload = readBytes(length) else { return nil }
            return Frame(type: header[3], flags: header[4], stream: stream, payload: payload)
        }
    }

    /// What the client collected on one stream.
    struct Call {
        var messages: [[UInt8]] = []
        var pending: [UInt8] = []
        var trailers: [HPACKHeader] = []
        var ended = false
        var dataBytes = 0
    }

    /// Reads frames until `until` is satisfied, answering PINGs and SETTINGS as grpc-go would;
    /// `onData` may top up the windows.
    static func pump(_ client: PeerClient, _ calls: inout [UInt32: Call], until done: ([UInt32: Call]) -> Bool,
                     onData: (UInt32, Int, Call) -> Void = { _, _, _ in }) throws {
        while !done(calls) {
            guard let frame = client.readFrame() else { throw SessionError.closed }
            switch frame.type {
            case 0:
                var call = calls[frame.stream, default: Call()]
                call.pending += frame.payload
                call.dataBytes += frame.payload.count
                while call.pending.count >= 5 {
                    let length = Int(call.pending[1]) << 24 | Int(call.pending[2]) << 16 | Int(call.pending[3]) << 8
                        | Int(call.pending[4])
                    guard call.pending.count >= 5 + length else { break }
                    call.messages.append(Array(call.pending[5..<5 + length]))
                    call.pending.removeFirst(5 + length)
                }
                if frame.flags & 1 != 0 { call.ended = true }
                calls[frame.stream] = call
                onData(frame.stream, frame.payload.count, call)
            case 1:
                let headers = try client.decoder.decode(frame.payload)
                var call = calls[frame.stream, default: Call()]
                if frame.flags & 1 != 0 {
                    call.trailers = headers
                    call.ended = true
                }
                calls[frame.stream] = call
            case 4 where frame.flags & 1 == 0:
                client.frame(4, flags: 1, stream: 0, [])
            default:
                continue
            }
        }
    }

    static func status(_ call: Call?) -> String? {
        call?.trailers.first { $0.name == "grpc-status" }?.value
    }

    /// A server on one end of a socket pair and the client on the other, preface sent.
    static func connect(_ context: SessionContext) throws -> (HTTP2Server, PeerClient) {
        var pair: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        let server = HTTP2Server(socket: pair[0], leftover: []) { SessionCalls.serve($0, context: context) }
        try server.start()
        let client = PeerClient(socket: pair[1])
        client.write(HTTP2Server.clientPreface)
        client.frame(4, stream: 0, [])
        return (server, client)
    }

    static func packet(_ type: FileSyncSender.PacketType, id: UInt32 = 0) -> [UInt8] {
        FileSyncSender.encode(type: type, id: id)
    }

    /// The stat packets' paths and modes, in the order sent (the empty stat ends the list).
    static func stats(_ messages: [[UInt8]]) throws -> [(path: String, mode: UInt32, size: Int64)] {
        var stats: [(String, UInt32, Int64)] = []
        for message in messages {
            var packet = ProtobufReader(message)
            var type: UInt64 = 0
            var stat: [UInt8]?
            while let (field, value) = try packet.next() {
                if field == 1, case .varint(let value) = value { type = value }
                if field == 2, let data = value.data { stat = Array(data) }
            }
            guard type == 0, let stat else { continue }
            var reader = ProtobufReader(stat)
            var path = ""
            var mode: UInt32 = 0
            var size: Int64 = 0
            while let (field, value) = try reader.next() {
                switch field {
                case 1: path = value.string ?? ""
                case 2: mode = UInt32(value.integer ?? 0)
                case 5: size = value.integer ?? 0
                default: continue
                }
            }
            stats.append((path, mode, size))
        }
        return stats
    }

    @Test func walkOrderPutsDirectoriesBeforeTheirChildrenAndAddsImpliedOnes() {
        let files = [SessionFile(path: "a.txt", kind: .file, mode: 0o644, mtime: 0),
                     SessionFile(path: "a/b/c", kind: .file, mode: 0o644, mtime: 7),
                     SessionFile(path: "a", kind: .directory, mode: 0o700, mtime: 0),
                     SessionFile(path: "Z", kind: .file, mode: 0o644, mtime: 0)]
        let ordered = FileSyncSender.walkOrder(files)
        #expect(ordered.map(\.path) == ["Z", "a", "a/b", "a/b/c", "a.txt"])
        #expect(ordered[1].mode == 0o700)
        #expect(ordered[2] == SessionFile(path: "a/b", kind: .directory, mode: 0o755, mtime: 7))
    }

    @Test func modesAreGoFileModes() {
        #expect(SessionFile(path: "d", kind: .directory, mode: 0o755, mtime: 0).goFileMode == 1 << 31 | 0o755)
        #expect(SessionFile(path: "l", kind: .symlink, mode: 0o777, mtime: 0).goFileMode == 1 << 27 | 0o777)
        #expect(SessionFile(path: "s", kind: .file, mode: 0o4755, mtime: 0).goFileMode == 1 << 23 | 0o755)
        #expect(SessionFile(path: "t", kind: .directory, mode: 0o1777, mtime: 0).goFileMode == 1 << 31 | 1 << 20 | 0o777)
    }

    @Test func diffCopySendsStatsThenRequestedFilesWithinTheWindows() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("session-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Larger than the initial 65,535-byte windows: the rest waits for WINDOW_UPDATEs.
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(big).write(to: directory.appendingPathComponent("big.bin"))
        let served = [SessionFile(path: "src/big.bin", kind: .file, mode: 0o600, size: Int64(big.count), mtime: 0,
                                  contents: .path(directory.appendingPathComponent("big.bin").path)),
                      SessionFile(path: "hello", kind: .file, mode: 0o644, size: 2, mtime: 0, contents: .bytes(Array("hi".utf8))),
                      SessionFile(path: "link", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "hello")]
        let requests = RequestLog()
        let context = SessionContext(sharedKey: "k", dockerfileName: "Dockerfile") { request in
            requests.append(request)
            return request.name == "context" ? served : nil
        }
        let (server, client) = try Self.connect(context)
        defer { server.stop() }
        client.call(SessionCalls.diffCopy, stream: 1,
                    metadata: [("dir-name", "context"), ("followpaths", "src"), ("followpaths", "hello"),
                               ("exclude-patterns", "%2A.tmp"), ("exclude-patterns-encoded", "1")])
        var calls: [UInt32: Call] = [:]
        try Self.pump(client, &calls, until: { ($0[1]?.messages.last ?? [0]).isEmpty })
        let stats = try Self.stats(calls[1]!.messages)
        #expect(stats.map(\.path) == ["hello", "link", "src", "src/big.bin"])
        #expect(stats.map(\.mode) == [0o644, 1 << 27 | 0o777, 1 << 31 | 0o755, 0o600])
        #expect(stats.last?.size == Int64(big.count))
        #expect(requests.all == [SessionDirectoryRequest(name: "context", excludePatterns: ["*.tmp"], followPaths: ["src", "hello"])])

        // Ask for big.bin (ID 3) and hello (ID 0), as fsutil's receiver does.
        client.message(Self.packet(.request, id: 3), stream: 1)
        client.message(Self.packet(.request, id: 0), stream: 1)
        var received: [UInt32: [UInt8]] = [:]
        var finished: Set<UInt32> = []
        var consumed = calls[1]!.messages.count
        try Self.pump(client, &calls, until: { _ in finished.count == 2 }, onData: { stream, count, call in
            client.windowUpdate(stream: 0, UInt32(count))
            client.windowUpdate(stream: stream, UInt32(count))
            for message in call.messages.dropFirst(consumed) {
                let packet = try! FileSyncSender.decode(message)
                #expect(packet.type == FileSyncSender.PacketType.data.rawValue)
                if packet.data.isEmpty { finished.insert(packet.id) } else { received[packet.id, default: []] += packet.data }
            }
            consumed = call.messages.count
        })
        #expect(received[3] == big)
        #expect(received[0] == Array("hi".utf8))

        client.message(Self.packet(.fin), stream: 1, end: true)
        try Self.pump(client, &calls, until: { $0[1]?.ended == true })
        #expect(try FileSyncSender.decode(calls[1]!.messages.last!).type == FileSyncSender.PacketType.fin.rawValue)
        #expect(Self.status(calls[1]) == "0")
    }

    @Test func answersHealthChecksAndRefusesUnknownDirectoriesAndMethods() throws {
        let context = SessionContext(sharedKey: "k", dockerfileName: "Dockerfile") { _ in nil }
        let (server, client) = try Self.connect(context)
        defer { server.stop() }
        client.call(SessionCalls.healthCheck, stream: 1)
        client.message([], stream: 1, end: true)
        client.call(SessionCalls.diffCopy, stream: 3, metadata: [("dir-name", "secrets")])
        client.call("/moby.sshforward.v1.SSH/ForwardAgent", stream: 5)
        var calls: [UInt32: Call] = [:]
        try Self.pump(client, &calls, until: { calls in [1, 3, 5].allSatisfy { calls[$0]?.ended == true } })
        #expect(calls[1]?.messages == [[0x08, 0x01]])  // SERVING
        #expect(Self.status(calls[1]) == "0")
        #expect(Self.status(calls[3]) == "5")
        #expect(calls[3]?.trailers.first { $0.name == "grpc-message" }?.value == "no access allowed to dir \"secrets\"")
        #expect(Self.status(calls[5]) == "12")
    }

    @Test func servesSecretsAndCredentialsByName() throws {
        let context = SessionContext(sharedKey: "k", dockerfileName: "Dockerfile",
                                     secret: { $0 == "token" ? Array("s3cret".utf8) : nil },
                                     credentials: { $0 == "127.0.0.1:5101" ? ("alice", "pw") : nil }) { _ in nil }
        let (server, client) = try Self.connect(context)
        defer { server.stop() }
        // A request's field 1 (a string): 0x0a, its length, its bytes.
        func request(_ text: String) -> [UInt8] { [0x0A, UInt8(text.utf8.count)] + Array(text.utf8) }
        client.call(SessionCalls.getSecret, stream: 1)
        client.message(request("token"), stream: 1, end: true)
        client.call(SessionCalls.getSecret, stream: 3)
        client.message(request("other"), stream: 3, end: true)
        client.call(SessionCalls.credentials, stream: 5)
        client.message(request("127.0.0.1:5101"), stream: 5, end: true)
        client.call(SessionCalls.credentials, stream: 7)
        client.message(request("ghcr.io"), stream: 7, end: true)
        var calls: [UInt32: Call] = [:]
        try Self.pump(client, &calls, until: { calls in [1, 3, 5, 7].allSatisfy { calls[$0]?.ended == true } })
        #expect(calls[1]?.messages == [[0x0A, 6] + Array("s3cret".utf8)])
        #expect(Self.status(calls[1]) == "0")
        #expect(Self.status(calls[3]) == "5")
        #expect(calls[3]?.trailers.first { $0.name == "grpc-message" }?.value == "secret other not found")
        #expect(calls[5]?.messages == [[0x0A, 5] + Array("alice".utf8) + [0x12, 2] + Array("pw".utf8)])
        #expect(calls[7]?.messages == [[]])  // anonymous: an empty answer
        #expect(Self.status(calls[7]) == "0")
    }

    @Test func anUnreadableFileFailsTheCallWithItsPath() throws {
        let missing = "/nonexistent/strata-\(UUID().uuidString)"
        let context = SessionContext(sharedKey: "k", dockerfileName: "Dockerfile") { _ in
            [SessionFile(path: "gone", kind: .file, mode: 0o644, size: 1, mtime: 0, contents: .path(missing))]
        }
        let (server, client) = try Self.connect(context)
        defer { server.stop() }
        client.call(SessionCalls.diffCopy, stream: 1, metadata: [("dir-name", "context")])
        var calls: [UInt32: Call] = [:]
        try Self.pump(client, &calls, until: { ($0[1]?.messages.last ?? [0]).isEmpty })
        client.message(Self.packet(.request, id: 0), stream: 1)
        try Self.pump(client, &calls, until: { $0[1]?.ended == true })
        let error = try FileSyncSender.decode(calls[1]!.messages.last!)
        #expect(error.type == FileSyncSender.PacketType.error.rawValue)
        #expect(String(decoding: error.data, as: UTF8.self).contains(missing))
        #expect(Self.status(calls[1]) == "2")
    }

    @Test func stopEndsACallWaitingForTheEngine() throws {
        let context = SessionContext(sharedKey: "k", dockerfileName: "Dockerfile") { _ in [] }
        let (server, client) = try Self.connect(context)
        client.call(SessionCalls.diffCopy, stream: 1, metadata: [("dir-name", "context")])
        var calls: [UInt32: Call] = [:]
        try Self.pump(client, &calls, until: { ($0[1]?.messages.last ?? [0]).isEmpty })
        // The call now waits for REQ or FIN; stop ends it (without an OK) instead of waiting.
        server.stop()
        var endedOK = false
        while let frame = client.readFrame() {
            if frame.type == 1, frame.stream == 1, let headers = try? client.decoder.decode(frame.payload),
               headers.contains(HPACKHeader(name: "grpc-status", value: "0")) {
                endedOK = true
            }
        }
        #expect(!endedOK)
        close(client.socket)
    }

    @Test func percentEncodingOfMessagesAndDecodingOfMetadata() {
        #expect(GRPCServerStream.percentEncode("100% é\n") == "100%25 %C3%A9%0A")
        #expect(GRPCServerStream.queryUnescape("a+b%2Fc%") == "a b/c%")
    }
}

/// The directory requests a test's session received.
final class RequestLog: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [SessionDirectoryRequest] = []

    func append(_ request: SessionDirectoryRequest) {
        lock.withLock { requests.append(request) }
    }

    var all: [SessionDirectoryRequest] { lock.withLock { requests } }
}

/// The `POST /session` upgrade against a one-shot server on TCP and on a unix socket.
@Suite struct SessionConnectionTests {
    /// Listens on `address`, accepts one connection, reads the request head, answers `reply`,
    /// and hands back the head it read.
    final class OneShotServer: @unchecked Sendable {
        let listener: Int32
        private let done = DispatchSemaphore(value: 0)
        private(set) var head = ""

        init(listener: Int32, reply: [UInt8]) {
            self.listener = listener
            Thread { [self] in
                let connection = accept(listener, nil, nil)
                var received: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while connection >= 0 {
                    let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                    if count <= 0 { break }
                    received += chunk[0..<count]
                    if received.firstRange(of: Array("\r\n\r\n".utf8)) != nil { break }
                }
                head = String(decoding: received, as: UTF8.self)
                reply.withUnsafeBytes { _ = Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(connection)
                done.signal()
            }.start()
        }

        func wait() -> String {
            done.wait()
            close(listener)
            return head
        }
    }

    static func tcpListener() -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(descriptor, 1)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: bound.sin_port)))
    }

    @Test func upgradesOverTCPAndKeepsWhatFollowsTheAnswer() throws {
        let (listener, port) = Self.tcpListener()
        let server = OneShotServer(listener: listener,
                                   reply: Array("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nPRI *".utf8))
        let endpoint = Engine.Endpoint(host: "tcp://127.0.0.1:\(port)", unixSocketPath: nil,
                                       baseURL: "http://127.0.0.1:\(port)", tls: nil)
        let (socket, leftover) = try SessionConnection.upgrade(
            endpoint: endpoint, target: "/v1.41/session", request: "POST /v1.41/session",
            headers: [("X-Docker-Expose-Session-Uuid", "abc"), ("X-Docker-Expose-Session-Grpc-Method", SessionCalls.diffCopy)])
        close(socket)
        #expect(leftover == Array("PRI *".utf8))
        let head = server.wait()
        #expect(head.hasPrefix("POST /v1.41/session HTTP/1.1\r\n"))
        #expect(head.contains("Upgrade: h2c\r\n") && head.contains("Connection: Upgrade\r\n"))
        #expect(head.contains("X-Docker-Expose-Session-Uuid: abc\r\n"))
        #expect(head.contains("X-Docker-Expose-Session-Grpc-Method: /moby.filesync.v1.FileSync/DiffCopy\r\n"))
    }

    @Test func aRefusalOnAUnixSocketSaysWhatTheEngineSaid() throws {
        let path = FileManager.default.temporaryDirectory.path + "/session-\(UUID().uuidString.prefix(8)).sock"
        defer { unlink(path) }
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
            buffer[path.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(listener, 1)
        let body = #"{"message":"session not supported"}"#
        let server = OneShotServer(listener: listener, reply: Array(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
        let endpoint = Engine.Endpoint(host: "unix://\(path)", unixSocketPath: path, baseURL: "http://localhost", tls: nil)
        #expect(throws: Engine.Error.refused(request: "POST /v1.41/session", status: 400, message: "session not supported")) {
            _ = try SessionConnection.upgrade(endpoint: endpoint, target: "/v1.41/session", request: "POST /v1.41/session",
                                              headers: [])
        }
        _ = server.wait()
    }

    @Test func noEngineAtTheSocketIsUnreachable() {
        let path = "/nonexistent/strata-\(UUID().uuidString.prefix(8)).sock"
        let endpoint = Engine.Endpoint(host: "unix://\(path)", unixSocketPath: path, baseURL: "http://localhost", tls: nil)
        #expect(throws: Engine.Error.unreachable(host: "unix://\(path)", reason: "no such socket")) {
            _ = try SessionConnection.connect(endpoint)
        }
    }
}
