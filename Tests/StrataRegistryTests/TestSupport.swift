import Foundation
import StrataHTTP
import StrataHash
@testable import StrataRegistry

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A fake transport: answers through `handler` and records every request.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked: `recorded` is guarded by `lock`; `handler` is immutable.
    private let lock = NSLock()
    private var recorded: [HTTPRequest] = []
    private let handler: @Sendable (HTTPRequest) async throws -> HTTPResponse

    init(_ handler: @escaping @Sendable (HTTPRequest) async throws -> HTTPResponse) {
        self.handler = handler
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        lock.withLock { recorded.append(request) }
        return try await handler(request)
    }

    var requests: [HTTPRequest] { lock.withLock { recorded } }

    /// `METHOD path?query` of each request.
    var lines: [String] { requests.map { "\($0.method) \($0.path)" } }
}

/// A transport that passes requests on and counts them by "METHOD kind".
final class CountingTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked: `counts` is guarded by `lock`.
    private let lock = NSLock()
    private var counts: [String] = []
    let base: any HTTPTransport

    init(base: any HTTPTransport = CurlTransport()) {
        self.base = base
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        record(request)
        return try await base.send(request)
    }

    func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        record(request)
        return try await base.stream(request)
    }

    private func record(_ request: HTTPRequest) {
        lock.withLock { counts.append("\(request.method) \(request.url)") }
    }

    /// Requests that move blob bytes or open uploads.
    var uploadRequests: [String] {
        lock.withLock { counts.filter { $0.contains("/blobs/uploads/") } }
    }

    func reset() {
        lock.withLock { counts.removeAll() }
    }
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    // @unchecked: `current` is guarded by `lock`.
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_700_000_000)

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }
}

/// Records the delays a retry policy asked for, without sleeping.
final class SleepRecorder: @unchecked Sendable {
    // @unchecked: `delays` is guarded by `lock`.
    private let lock = NSLock()
    private var recorded: [Duration] = []

    var delays: [Duration] { lock.withLock { recorded } }

    func policy(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100)) -> RetryPolicy {
        RetryPolicy(
            maxAttempts: maxAttempts, baseDelay: baseDelay, maxDelay: .seconds(8), maxRetryAfter: .seconds(60),
            sleep: { [self] delay in lock.withLock { recorded.append(delay) } }, random: { 0.5 })
    }
}

/// A temporary directory, removed when released.
final class TempDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "strata-registry-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file) }
        return file
    }

    /// A file of `size` pseudo-random bytes (seeded), and its digest.
    func randomFile(_ name: String, size: Int, seed: UInt64) throws -> (path: String, digest: Digest) {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var bytes = [UInt8](repeating: 0, count: size)
        for index in stride(from: 0, to: size, by: 8) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            withUnsafeBytes(of: state.bigEndian) { word in
                for offset in 0..<min(8, size - index) { bytes[index + offset] = word[offset] }
            }
        }
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return (file, try SHA256.hash(bytes))
    }
}

func json(_ object: Any) -> [UInt8] {
    Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
}

func response(_ status: Int, _ headers: HTTPHeaders = [:], body: [UInt8] = []) -> HTTPResponse {
    HTTPResponse(status: status, headers: headers, body: body)
}

extension HTTPRequest {
    var path: String {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
        return afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/"
    }

    var queryItems: [URLQueryItem] {
        URLComponents(string: url)?.queryItems ?? []
    }
}

/// A unique repository name per test (the real registry is shared).
func uniqueRepository(_ stem: String) -> String {
    "strata-test/\(stem)-\(UUID().uuidString.prefix(8).lowercased())"
}
