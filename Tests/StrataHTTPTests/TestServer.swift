import Foundation
import StrataProcess
import StrataHTTP

/// The python3 server in Fixtures/test_server.py, one per test, on a random
/// loopback port or a unix socket; stopped when released. Located through
/// #filePath because the test target declares no resources.
final class TestServer: @unchecked Sendable {
    // @unchecked: the stored properties are set once in init.
    private let process: ChildProcess
    /// `http://127.0.0.1:PORT` (or `http://localhost` over a unix socket).
    let baseURL: String
    /// The socket, when serving on one.
    let socketPath: String?

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct StartError: Error, CustomStringConvertible {
        let output: String
        var description: String { "test_server.py did not start: \(output)" }
    }

    /// Starts a server and waits for it to listen. The wait runs on a thread
    /// of its own: blocking the cooperative pool (two threads on a small
    /// machine) would delay the other tests' transfers and skew their timing.
    /// `tlsDirectory`: serve https with the certificates `makeCertificates` wrote there.
    static func start(unixSocket: Bool = false, tlsDirectory: String? = nil) async throws -> TestServer {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try TestServer(unixSocket: unixSocket, tlsDirectory: tlsDirectory) })
            }.start()
        }
    }

    private init(unixSocket: Bool, tlsDirectory: String?) throws {
        let script = Self.fixtures.appendingPathComponent("test_server.py").path
        let socket = unixSocket ? "/tmp/strata-http-\(UUID().uuidString.prefix(8)).sock" : nil
        // The system python3, not a version-manager shim: the kill must reach the server itself.
        // Clients that hang up early make http.server print tracebacks: stderr is discarded.
        let arguments = [script] + (socket.map { ["--unix", $0] } ?? []) + (tlsDirectory.map { ["--tls", $0] } ?? [])
        process = try ChildProcess("/usr/bin/python3", arguments, stderr: .discard)
        let newline = UInt8(ascii: "\n")
        let output = process.waitForOutput(.stdout, timeout: .seconds(60)) { $0.contains(newline) }
        let line = output.prefix { $0 != newline }
        let words = String(decoding: line, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard words.count == 2, words[0] == "ready" else {
            process.signal(SIGKILL)
            throw StartError(output: String(decoding: line, as: UTF8.self))
        }
        socketPath = socket
        let scheme = tlsDirectory == nil ? "http" : "https"
        baseURL = socket == nil ? "\(scheme)://127.0.0.1:\(words[1])" : "http://localhost"
    }

    deinit {
        process.signal(SIGKILL)
        _ = try? process.wait(timeout: .seconds(30))
        if let socketPath { try? FileManager.default.removeItem(atPath: socketPath) }
    }

    func url(_ path: String) -> String { baseURL + path }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in the
/// docker CLI's DOCKER_CERT_PATH layout (ca.pem, cert.pem, key.pem), made
/// with the openssl command line tool in a new temporary folder.
func makeCertificates() throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("strata-tls-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    let script = """
        set -e
        openssl req -x509 \(key) -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=strata-test-ca
        openssl req \(key) -keyout server-key.pem -out server.csr -subj /CN=127.0.0.1
        printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 1 -extfile san.ext
        openssl req \(key) -keyout key.pem -out client.csr -subj /CN=strata-client
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 1
        """
    let result = try ChildProcess.run("/bin/sh", ["-c", script], directory: directory, timeout: .seconds(120))
    guard result.succeeded else {
        throw TestServer.StartError(output: "openssl failed with status \(result.status): \(result.errorOutput)")
    }
    return directory
}

/// Deterministic bytes made on demand: byte i of the body is a function of i,
/// so 64 MiB are produced without ever being held in memory.
struct PatternStream: HTTPBodyStream {
    let length: Int
    var offset = 0

    static func byte(at index: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: index &* 31 &+ (index >> 11))
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, length - offset)
        for i in 0..<count { buffer[i] = Self.byte(at: offset + i) }
        offset += count
        return count
    }

    /// Adler-32 (RFC 1950 §9) of the whole pattern, as the server reports it.
    static func adler32(length: Int) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        var index = 0
        while index < length {
            let end = min(length, index + 5552)
            while index < end {
                a += UInt32(byte(at: index))
                b += a
                index += 1
            }
            a %= 65521
            b %= 65521
        }
        return b << 16 | a
    }
}
