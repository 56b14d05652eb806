import Foundation
import StrataProcess
import Testing

/// `plan` with `remote_cache: true` and a registry that cannot be used: one warning naming
/// it, every node a plain miss, and a time bounded by one attempt rather than one per node
/// and retry (it was 44 s for an unresolvable host).
@Suite struct RemoteCacheUnreachableTests {
    struct Plan: Decodable {
        struct Node: Decodable { var node, status, reason: String }
        var nodes: [Node]
    }

    /// A fleet of a base and five services that pushes to `registry`.
    static func fleet(registry: String) throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        var manifest = "registry: \(registry)\nremote_cache: true\nimages:\n  base:\n    context: base\n"
        try folder.write("base/Dockerfile", "FROM strata-busybox:1\nCOPY a.txt /a.txt\n")
        try folder.write("base/a.txt", "a\n")
        for service in 1...5 {
            manifest += "  svc\(service):\n    context: svc\(service)\n"
            try folder.write("svc\(service)/Dockerfile", "FROM base\nCOPY s.txt /s.txt\n")
            try folder.write("svc\(service)/s.txt", "\(service)\n")
        }
        try folder.write("strata.yaml", manifest)
        return folder
    }

    static func planOnce(_ folder: TemporaryFolder, environment: [String: String] = [:]) throws -> (StrataBinary.Result, Duration) {
        let start = ContinuousClock.now
        let result = try StrataBinary.run(["-C", folder.path, "plan", "--format", "json"], environment: environment)
        return (result, ContinuousClock.now - start)
    }

    static func expectOneWarningAndMisses(_ result: StrataBinary.Result, host: String) throws {
        #expect(result.status == 0, "\(result.stderr)")
        let warnings = result.stderr.split(separator: "\n").filter { $0.contains("remote cache:") }
        #expect(warnings.count == 1, "\(result.stderr)")
        let warning = try #require(warnings.first)
        #expect(warning.hasPrefix("strata: warning: remote cache: \(host) unreachable ("))
        #expect(warning.hasSuffix("); every miss is built"))
        let plan = try JSONDecoder().decode(Plan.self, from: Data(result.stdout.utf8))
        #expect(plan.nodes.count == 6)
        #expect(plan.nodes.allSatisfy { $0.status == "miss" && $0.reason == "never built" }, "\(plan.nodes)")
    }

    @Test func aRegistryThatDoesNotResolve() throws {
        let folder = try Self.fleet(registry: "registry.strata-test.invalid/acme")
        let (result, elapsed) = try Self.planOnce(folder)
        try Self.expectOneWarningAndMisses(result, host: "registry.strata-test.invalid")
        #expect(result.stderr.contains("Could not resolve host"), "\(result.stderr)")
        #expect(elapsed < .seconds(20), "plan took \(elapsed)")
    }

    @Test func aRegistryThatAcceptsAndNeverAnswers() throws {
        // Listens, accepts every connection, reads, and never writes a byte.
        let script = """
            import signal, socket, threading, time
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
            print("ready", s.getsockname()[1], flush=True)
            held = []
            while True:
                c, _ = s.accept(); held.append(c)
            """
        let server = try ChildProcess("/usr/bin/python3", ["-c", script], stderr: .discard)
        defer {
            server.signal(SIGKILL)
            _ = try? server.wait(timeout: .seconds(30))
        }
        let newline = UInt8(ascii: "\n")
        let line = server.waitForOutput(.stdout, timeout: .seconds(60)) { $0.contains(newline) }.prefix { $0 != newline }
        let words = String(decoding: line, as: UTF8.self).split(separator: " ")
        let port = try #require(words.count == 2 ? words[1] : nil, "the silent server did not start")
        let folder = try Self.fleet(registry: "127.0.0.1:\(port)/acme")
        let (result, elapsed) = try Self.planOnce(folder, environment: ["STRATA_IDLE_TIMEOUT": "2"])
        try Self.expectOneWarningAndMisses(result, host: "127.0.0.1:\(port)")
        #expect(result.stderr.contains("nothing received for 2 s (STRATA_IDLE_TIMEOUT)"), "\(result.stderr)")
        // Six lookups at once, each cut by the 2 s limit, none retried.
        #expect(elapsed < .seconds(20), "plan took \(elapsed)")
    }

    @Test func aTimeLimitThatIsNotSecondsIsAUsageError() throws {
        let folder = try Self.fleet(registry: "127.0.0.1:9/acme")
        let (result, _) = try Self.planOnce(folder, environment: ["STRATA_IDLE_TIMEOUT": "soon"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("STRATA_IDLE_TIMEOUT=soon: not a number of seconds"), "\(result.stderr)")
    }
}
