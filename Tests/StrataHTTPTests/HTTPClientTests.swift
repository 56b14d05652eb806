import Foundation
import Testing
@testable import StrataHTTP

/// HTTPClient and the body helpers, with a fake transport: no network.
@Suite struct HTTPClientTests {
    struct FakeTransport: HTTPTransport {
        let respond: @Sendable (HTTPRequest) -> HTTPResponse
        func send(_ request: HTTPRequest) async throws -> HTTPResponse { respond(request) }
    }

    @Test func defaultHeadersApplyUnlessTheRequestSetsThem() async throws {
        let transport = FakeTransport { request in
            HTTPResponse(status: 200, body: Array("\(request.headers["Accept"] ?? "-") \(request.headers["X-A"] ?? "-")".utf8))
        }
        let client = HTTPClient(transport: transport, defaultHeaders: ["Accept": "application/json", "X-A": "1"])
        let response = try await client.send(HTTPRequest(url: "http://x/", headers: ["x-a": "2"]))
        #expect(String(decoding: response.body, as: UTF8.self) == "application/json 2")
    }

    @Test(arguments: [
        (#"{"message":"No such container: abc"}"#, "No such container: abc"),
        (#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#, "MANIFEST_UNKNOWN: manifest unknown"),
        ("plain text\nsecond line", "plain text"),
        ("", ""),
    ])
    func serverMessagesAreDecoded(body: String, message: String) {
        #expect(serverMessage(from: Array(body.utf8)) == message)
    }

    @Test func statusErrorsNameTheEndpoint() async throws {
        let client = HTTPClient(transport: FakeTransport { _ in HTTPResponse(status: 500) })
        await #expect {
            try await client.send(HTTPRequest(method: "delete", url: "https://u:p@registry.test/v2/a/manifests/x"))
        } throws: { error in
            "\(error)" == "DELETE https://registry.test/v2/a/manifests/x: HTTP 500"
        }
    }

    @Test(arguments: [
        ("https://user:pass@host:5000/v2/?q=a@b", "https://host:5000/v2/?q=a@b"),
        ("http://localhost/v1.41/_ping", "http://localhost/v1.41/_ping"),
        ("not a url", "not a url"),
    ])
    func userInfoIsRedacted(url: String, redacted: String) {
        #expect(redactingUserInfo(url) == redacted)
    }

    @Test func retryAfterReadsSecondsAndDates() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(retryAfterDelay("120", now: now) == .seconds(120))
        #expect(retryAfterDelay("Tue, 14 Nov 2023 22:13:50 GMT", now: now) == .seconds(30))
        #expect(retryAfterDelay("soon", now: now) == nil)
        #expect(retryAfterDelay(nil, now: now) == nil)
    }

    @Test func headersAreCaseInsensitiveAndOrdered() {
        var headers: HTTPHeaders = ["WWW-Authenticate": "Basic", "Content-Type": "a"]
        headers.add("www-authenticate", "Bearer realm=x")
        headers.set("content-type", "b")
        #expect(headers.values("Www-Authenticate") == ["Basic", "Bearer realm=x"])
        #expect(headers["CONTENT-TYPE"] == "b")
    }

    /// The captured BuildKit stream, cut into uneven chunks, comes back as its lines.
    @Test(arguments: [1, 7, 100, 4096])
    func linesSurviveAnyChunking(chunkSize: Int) async throws {
        let path = TestServer.fixtures.appendingPathComponent("buildkit-stream.jsonl").path
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let (stream, sink) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        for start in stride(from: 0, to: bytes.count, by: chunkSize) {
            sink.yield(Array(bytes[start..<min(bytes.count, start + chunkSize)]))
        }
        sink.finish()
        var lines: [String] = []
        for try await line in HTTPResponseBody(chunks: stream).lines() { lines.append(line) }
        // The engine ends each line with CRLF.
        let expected = bytes.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0.dropLast(), as: UTF8.self) }
        #expect(lines.count == 22)
        #expect(lines == expected)
        #expect(lines.contains { $0.contains(#""id":"moby.image.id""#) })
    }

    @Test func lastLineWithoutNewlineAndCRLFAreHandled() async throws {
        var lines: [String] = []
        for try await line in HTTPResponseBody.bytes(Array("a\r\n\r\nb\nc".utf8)).lines() { lines.append(line) }
        #expect(lines == ["a", "b", "c"])
    }
}

/// Flow control between the transfer thread and the body's consumer.
@Suite struct TransferControlTests {
    @Test func theProducerWaitsForASlowConsumer() async throws {
        let control = TransferControl(bufferLimit: 10)
        #expect(control.produced(8))
        let released = Locked(false)
        let producer = Thread {
            _ = control.produced(8)  // 16 > 10: waits until the consumer catches up
            released.value = true
        }
        producer.start()
        try await Task.sleep(for: .milliseconds(200))
        #expect(!released.value)
        control.consumed(8)
        for _ in 0..<50 where !released.value { try await Task.sleep(for: .milliseconds(20)) }
        #expect(released.value)
    }

    @Test func cancellingReleasesAWaitingProducer() async throws {
        let control = TransferControl(bufferLimit: 1)
        let result = Locked<Bool?>(nil)
        Thread { result.value = control.produced(5) }.start()
        try await Task.sleep(for: .milliseconds(100))
        control.cancel()
        for _ in 0..<50 where result.value == nil { try await Task.sleep(for: .milliseconds(20)) }
        #expect(result.value == false)
        #expect(control.isCancelled)
    }
}

/// A value shared with a thread in a test.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
