import Foundation
import StrataArchive
import StrataHTTP
@testable import StrataEngine
import Testing

/// Captured engine streams under `Fixtures/`, found next to this file (no bundle resources).
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func lines(_ name: String) throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        // The captures keep the wire's CRLF line ends.
        return text.split(whereSeparator: \.isNewline).map(String.init)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}

/// A transport answering from a closure and remembering what was asked.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [HTTPRequest] = []
    private let respond: @Sendable (HTTPRequest) throws -> HTTPResponse

    init(_ respond: @escaping @Sendable (HTTPRequest) throws -> HTTPResponse) {
        self.respond = respond
    }

    var requests: [HTTPRequest] { lock.withLock { recorded } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        lock.withLock { recorded.append(request) }
        return try respond(request)
    }
}

/// The path and query of a request URL, without the scheme and host.
func target(_ request: HTTPRequest) -> String {
    guard let schemeEnd = request.url.range(of: "://"),
          let slash = request.url[schemeEnd.upperBound...].firstIndex(of: "/") else { return request.url }
    return String(request.url[slash...])
}

func json(_ text: String, status: Int = 200) -> HTTPResponse {
    HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(text.utf8))
}

/// Collects build events from the callback's thread.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [BuildEvent] = []

    var events: [BuildEvent] { lock.withLock { recorded } }
    var steps: [BuildEvent.Step] {
        events.compactMap { if case .step(let step) = $0 { step } else { nil } }
    }
    func lines(of stepID: String) -> [String] {
        events.compactMap { if case .log(stepID, let line) = $0 { line } else { nil } }
    }

    func record(_ event: BuildEvent) {
        lock.withLock { recorded.append(event) }
    }
}

/// A temporary folder removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-engine-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func file(_ relative: String, _ text: String) throws -> String {
        let target = "\(path)/\(relative)"
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: target))
        return target
    }
}

/// A build context packed on demand, as the scheduler sends it.
func contextBody(_ files: [String: String]) -> BuildContext {
    let entries = files.sorted { $0.key < $1.key }.map { TarEntry.file($0.key, contents: Array($0.value.utf8)) }
    return .tar(.stream(length: nil) { TarBody(try TarStream(entries: entries)) })
}

/// The same files served over a session; the Dockerfile is `files["Dockerfile"]`.
func sessionContext(_ files: [String: String], log: RequestLog? = nil) -> BuildContext {
    let entries = files.sorted { $0.key < $1.key }.map {
        SessionFile(path: $0.key, kind: .file, mode: 0o644, size: Int64($0.value.utf8.count), mtime: 0,
                    contents: .bytes(Array($0.value.utf8)))
    }
    return .session(sessionContext(entries, dockerfile: files["Dockerfile"] ?? "", log: log))
}

/// `context` serves `entries`, `dockerfile` the text given; `log` records what BuildKit asks for.
func sessionContext(_ entries: [SessionFile], dockerfile: String, log: RequestLog? = nil) -> SessionContext {
    let text = Array(dockerfile.utf8)
    let dockerfileEntry = SessionFile(path: "Dockerfile", kind: .file, mode: 0o644, size: Int64(text.count), mtime: 0,
                                      contents: .bytes(text))
    return SessionContext(sharedKey: UUID().uuidString, dockerfileName: "Dockerfile") { request in
        log?.append(request)
        switch request.name {
        case "context": return entries
        case "dockerfile": return [dockerfileEntry]
        default: return nil
        }
    }
}

final class TarBody: HTTPBodyStream {
    let stream: TarStream

    init(_ stream: TarStream) {
        self.stream = stream
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try stream.read(into: buffer)
    }
}

/// The bench's engine: DOCKER_HOST, else the socket `scripts/lib/services.sh`
/// starts. No engine is a failure, never a skip: `scripts/test` always starts one.
enum Bench {
    static let socket = "/tmp/strata-bench/engine/docker.sock"
    static let base = "strata-busybox:1"

    static func engine() async throws -> Engine {
        var environment = ProcessInfo.processInfo.environment
        if (environment["DOCKER_HOST"] ?? "").isEmpty, FileManager.default.fileExists(atPath: socket) {
            environment["DOCKER_HOST"] = "unix://\(socket)"
        }
        let engine: Engine
        do {
            engine = try await Engine.connect(environment: environment)
        } catch {
            Issue.record("""
                the integration tests need a Docker engine (scripts/test starts one; by hand: \
                bash -c '. scripts/lib/services.sh; start_engine; import_busybox_base'): \(error)
                """)
            throw error
        }
        guard try await engine.inspectImage(base) != nil else {
            let message = "the engine at \(engine.endpoint) has no \(base): run "
                + "bash -c '. scripts/lib/services.sh; start_engine; import_busybox_base'"
            Issue.record(Comment(rawValue: message))
            throw BenchError(message: message)
        }
        return engine
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String { message }
        let message: String
    }

    /// A reference no other test run uses.
    static func reference(_ tag: String) -> String {
        "strata-engine-test-\(UUID().uuidString.prefix(8).lowercased()):\(tag)"
    }
}
