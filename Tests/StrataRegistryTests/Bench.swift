import Foundation
import StrataProcess
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
    let process: ChildProcess
    let registry: String
    let tokenServer: String?

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/registry_bench.py").path

    init(_ arguments: String...) throws {
        guard let python = ChildProcess.find("python3") else { throw TestFailure("python3 is not on PATH") }
        process = try ChildProcess(python, [Self.script] + arguments, input: .pipe, stderr: .discard)
        // The first line is `ready {json}`; anything else (or EOF) is a failure.
        let newline = UInt8(ascii: "\n")
        let output = process.waitForOutput(.stdout, timeout: .seconds(120)) { $0.contains(newline) }
        let text = String(decoding: output.prefix { $0 != newline }, as: UTF8.self)
        guard text.hasPrefix("ready "),
            let ready = try JSONSerialization.jsonObject(with: Data(text.dropFirst(6).utf8)) as? [String: String],
            let registry = ready["registry"]
        else {
            process.signal(SIGKILL)
            throw TestFailure("registry_bench.py \(arguments.joined(separator: " ")) did not start: \(text)")
        }
        self.registry = registry
        tokenServer = ready["token"]
    }

    deinit {
        // Closing stdin stops the bench and what it started.
        process.closeInput()
        _ = try? process.wait(timeout: .seconds(60))
    }

    /// GET on one of the bench's own endpoints (token log, fault counts).
    func get(_ url: String) async throws -> [UInt8] {
        try await CurlTransport().send(HTTPRequest(url: url)).body
    }
}
