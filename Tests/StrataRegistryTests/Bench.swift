import Foundation
import StrataHTTP
@testable import StrataRegistry

/// The registry `scripts/test` starts (STRATA_TEST_REGISTRY, else 127.0.0.1:5000).
/// Tests that use it fail, never skip, when it does not answer.
let testRegistry = ProcessInfo.processInfo.environment["STRATA_TEST_REGISTRY"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:5000"

/// A retry policy fast enough for tests, patient enough for a 20 % fault rate.
let patientPolicy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(5), maxDelay: .milliseconds(100))

/// One `registry_bench.py` service (an auth-protected registry, a token
/// server, a fault proxy), stopped when released: closing its stdin ends it.
final class Bench: @unchecked Sendable {
    // @unchecked: immutable after init.
    let process = Process()
    private let input = Pipe()
    let registry: String
    let tokenServer: String?

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/registry_bench.py").path

    init(_ arguments: String...) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script] + arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // The first line is `ready {json}`; anything else (or EOF) is a failure.
        var line: [UInt8] = []
        let handle = output.fileHandleForReading
        while let byte = try handle.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("ready "),
            let ready = try JSONSerialization.jsonObject(with: Data(text.dropFirst(6).utf8)) as? [String: String],
            let registry = ready["registry"]
        else {
            process.terminate()
            throw TestFailure("registry_bench.py \(arguments.joined(separator: " ")) did not start: \(text)")
        }
        self.registry = registry
        tokenServer = ready["token"]
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// GET on one of the bench's own endpoints (token log, fault counts).
    func get(_ url: String) async throws -> [UInt8] {
        try await CurlTransport().send(HTTPRequest(url: url)).body
    }
}
