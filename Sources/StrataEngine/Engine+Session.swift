import Foundation
import StrataHTTP

extension Engine {
    /// True when builds can take their context through a session: the session's
    /// connection is a plain socket (a unix socket, or TCP without TLS). Over TLS the
    /// context goes as a tar body.
    public var acceptsSessionContexts: Bool { endpoint.tls == nil }

    /// A BuildKit build whose context BuildKit fetches from strata over a session
    /// (`POST /session`, then `POST /build?…&session=…&remote=client-session`), the way
    /// the docker CLI sends it: no tar to unpack on the engine's side, and BuildKit asks
    /// only for what the Dockerfile's frontend needs.
    func build(
        session context: SessionContext, options: BuildOptions, events: @escaping @Sendable (BuildEvent) -> Void
    ) async throws -> BuildResult {
        let sessionID = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let server = try await openSession(id: sessionID, context: context)
        defer { server.stop() }
        var query = Self.buildQuery(options)
        query.removeAll { $0.0 == "dockerfile" }
        query += [("dockerfile", context.dockerfileName), ("session", sessionID), ("remote", "client-session")]
        return try await build(query: query, body: .empty, contentType: nil, events: events)
    }

    /// Opens a session on a connection of its own and serves `context` on it (on threads:
    /// the connection is blocking I/O).
    func openSession(id: String, context: SessionContext) async throws -> HTTP2Server {
        let endpoint = self.endpoint
        let target = target("/session")
        let request = requestName("POST", target)
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let (socket, leftover) = try SessionConnection.upgrade(
                        endpoint: endpoint, target: target, request: request,
                        headers: [("X-Docker-Expose-Session-Uuid", id),
                                  ("X-Docker-Expose-Session-Name", "strata"),
                                  ("X-Docker-Expose-Session-Sharedkey", context.sharedKey),
                                  ("X-Docker-Expose-Session-Grpc-Method", SessionCalls.diffCopy),
                                  ("X-Docker-Expose-Session-Grpc-Method", SessionCalls.getSecret),
                                  ("X-Docker-Expose-Session-Grpc-Method", SessionCalls.credentials),
                                  ("X-Docker-Expose-Session-Grpc-Method", SessionCalls.healthCheck)])
                    let server = HTTP2Server(socket: socket, leftover: leftover) { SessionCalls.serve($0, context: context) }
                    do {
                        try server.start()
                    } catch {
                        server.stop()
                        throw Error.transfer(request: request, reason: "\(error)")
                    }
                    continuation.resume(returning: server)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "strata-session-open"
            thread.start()
        }
    }
}

/// The calls a session serves: `FileSync/DiffCopy` (the context and the Dockerfile),
/// `Secrets/GetSecret` (build secrets), `Auth/Credentials` (private bases) and the health
/// check BuildKit makes every five seconds; anything else is UNIMPLEMENTED. Auth's token
/// calls are not offered: BuildKit then fetches a registry's token itself, with the
/// credentials `Credentials` gave.
enum SessionCalls {
    static let diffCopy = "/moby.filesync.v1.FileSync/DiffCopy"
    static let getSecret = "/moby.buildkit.secrets.v1.Secrets/GetSecret"
    static let credentials = "/moby.filesync.v1.Auth/Credentials"
    static let healthCheck = "/grpc.health.v1.Health/Check"

    /// gRPC status codes (grpc/grpc `doc/statuscodes.md`).
    enum Status {
        static let ok = 0
        static let unknown = 2
        static let notFound = 5
        static let unimplemented = 12
    }

    static func serve(_ stream: GRPCServerStream, context: SessionContext) {
        switch stream.path {
        case healthCheck:
            unary(stream) { _ in
                var answer = ProtobufWriter()
                answer.varint(1, 1)  // HealthCheckResponse.status = SERVING
                return .message(answer)
            }
        case getSecret:
            // GetSecretRequest { string ID = 1; map<string,string> annotations = 2; }
            // GetSecretResponse { bytes data = 1; }. A missing one is NotFound, which BuildKit
            // reads as "not provided" (an error for a `required` mount). Never logged.
            unary(stream) { request in
                let id = try firstString(of: request)
                guard let value = context.secret(id) else { return .notFound("secret \(id) not found") }
                var answer = ProtobufWriter()
                answer.bytes(1, value[...])
                return .message(answer)
            }
        case credentials:
            // CredentialsRequest { string Host = 1; } → CredentialsResponse { string Username = 1;
            // string Secret = 2; }; empty for a host strata has nothing for (anonymous).
            unary(stream) { request in
                var answer = ProtobufWriter()
                if let found = context.credentials(try firstString(of: request)) {
                    answer.string(1, found.username)
                    answer.string(2, found.password)
                }
                return .message(answer)
            }
        case diffCopy:
            let request = SessionDirectoryRequest(
                name: stream.metadata["dir-name"]?.first ?? "",
                includePatterns: stream.metadata["include-patterns"] ?? [],
                excludePatterns: stream.metadata["exclude-patterns"] ?? [],
                followPaths: stream.metadata["followpaths"] ?? [])
            guard let files = context.directory(request) else {
                stream.finish(status: Status.notFound, message: "no access allowed to dir \"\(request.name)\"")
                return
            }
            do {
                try FileSyncSender.send(FileSyncSender.walkOrder(files), over: stream)
                stream.finish(status: Status.ok)
            } catch {
                stream.finish(status: Status.unknown, message: "\(error)")
            }
        default:
            stream.finish(status: Status.unimplemented, message: "unknown method \(stream.path)")
        }
    }
}

extension SessionCalls {
    enum UnaryAnswer {
        case message(ProtobufWriter)
        case notFound(String)
    }

    /// A call of one request and one answer: `respond` reads the request's bytes.
    static func unary(_ stream: GRPCServerStream, _ respond: ([UInt8]) throws -> UnaryAnswer) {
        do {
            switch try respond(stream.receive() ?? []) {
            case .message(let answer):
                try stream.send(answer.bytes)
                stream.finish(status: Status.ok)
            case .notFound(let message):
                stream.finish(status: Status.notFound, message: message)
            }
        } catch {
            stream.finish(status: Status.unknown, message: "\(error)")
        }
    }

    /// Field 1 of a request message, a string (the secret's ID, the registry's host).
    static func firstString(of message: [UInt8]) throws -> String {
        var reader = ProtobufReader(message)
        var text = ""
        while let field = try reader.next() {
            if field.field == 1, case .bytes(let bytes) = field.value { text = String(decoding: bytes, as: UTF8.self) }
        }
        return text
    }
}

/// The connection a session runs on: a socket of its own to the engine (unix or plain
/// TCP), an HTTP/1.1 `POST /session` with `Upgrade: h2c`, and the engine's
/// `101 Switching Protocols`.
enum SessionConnection {
    /// The connected, upgraded socket and the bytes read past the engine's answer.
    static func upgrade(endpoint: Engine.Endpoint, target: String, request: String,
                        headers: [(String, String)]) throws(Engine.Error) -> (Int32, [UInt8]) {
        let socket = try connect(endpoint)
        var text = "POST \(target) HTTP/1.1\r\nHost: docker\r\nUser-Agent: strata\r\n"
            + "Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        if let code = UnixSocketProbe.sendAll(socket, Array(text.utf8)) {
            close(socket)
            throw .transfer(request: request, reason: "sending the request failed: \(String(cString: strerror(code)))")
        }
        // The answer's head, up to the blank line; what follows belongs to HTTP/2.
        var received: [UInt8] = []
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        var chunk = [UInt8](repeating: 0, count: 4096)
        while headEnd == nil {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                close(socket)
                throw .transfer(request: request, reason: "the engine closed the connection without an answer")
            }
            received += chunk[0..<count]
            headEnd = received.firstRange(of: separator)?.upperBound
            if headEnd == nil && received.count > 65_536 {
                close(socket)
                throw .unexpectedResponse(request: request, detail: "an answer head over 64 KiB")
            }
        }
        let head = String(decoding: received[..<headEnd!], as: UTF8.self)
        let statusLine = head.prefix { $0 != "\r" }
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        guard status == 101 else {
            close(socket)
            // The body (the engine's JSON message) is short; what arrived with the head is enough to name it.
            let body = String(decoding: received[headEnd!...], as: UTF8.self)
            let message = (try? JSONDecoder().decode([String: String].self, from: Data(body.utf8)))?["message"] ?? body
            throw .refused(request: request, status: status,
                           message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return (socket, Array(received[headEnd!...]))
    }

    /// A socket connected to the engine: its unix socket, or `host:port` of `http://host:port`.
    static func connect(_ endpoint: Engine.Endpoint) throws(Engine.Error) -> Int32 {
        if let path = endpoint.unixSocketPath {
            switch UnixSocketProbe.connect(path) {
            case .success(let descriptor): return descriptor
            case .failure(.noSocket(let code)), .failure(.connect(let code)): throw unreachable(endpoint, code)
            }
        }
        guard let url = URLComponents(string: endpoint.baseURL), let host = url.host, let port = url.port else {
            throw .invalidHost(endpoint.host, source: "the engine address", reason: "no host and port in it")
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw .unreachable(host: endpoint.host, reason: "could not resolve host \(host)")
        }
        defer { freeaddrinfo(list) }
        var code = ECONNREFUSED
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            let descriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                                    info.pointee.ai_protocol)
            if descriptor >= 0 {
                if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    var noDelay: Int32 = 1
                    setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
                    return descriptor
                }
                code = errno
                close(descriptor)
            }
            candidate = info.pointee.ai_next
        }
        throw unreachable(endpoint, code)
    }

    static func unreachable(_ endpoint: Engine.Endpoint, _ code: Int32) -> Engine.Error {
        let reason = switch code {
        case ENOENT: "no such socket"
        case ENAMETOOLONG: "the socket path is too long"
        default: String(cString: strerror(code)).lowercased()
        }
        return .unreachable(host: endpoint.host, reason: reason)
    }
}
