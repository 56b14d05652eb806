import Foundation
import Testing

/// Ctrl-C during a build: running builds are cancelled, nothing is recorded for them, and the
/// cache stays consistent.
@Suite(.serialized) struct InterruptIntegrationTests {
    @Test func sigintCancelsRunningBuildsAndKeepsTheCacheConsistent() throws {
        try Bench.requireEngine()
        let root = FileManager.default.temporaryDirectory.path + "/strata-int-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = [
            "strata.yaml": "images:\n  fast: {context: fast, network: host}\n  slow: {context: slow, network: host}\n",
            "fast/Dockerfile": "FROM strata-busybox:1\nRUN echo fast > /fast\n",
            "slow/Dockerfile": "FROM fast\nRUN sleep 60 && echo \(UUID().uuidString) > /slow\n",
        ]
        for (path, contents) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        }
        let cache = root + "/.cache"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Bench.strata)
        process.arguments = ["-C", root, "--cache", cache, "--registry", "local.test", "build", "--progress", "plain", "--format", "json"]
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = Bench.dockerHost
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Wait until the slow step runs, then interrupt.
        let deadline = Date().addingTimeInterval(60)
        var seen = ""
        while Date() < deadline, !seen.contains("sleep 60") {
            seen += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        #expect(seen.contains("sleep 60"), "the slow step never started: \(seen)")
        let interrupted = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(interrupted) < 40, "the step sleeps 60 s")
        #expect(process.terminationStatus == 1)
        let table = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(table.contains("\"node\":\"fast\",\"seconds\"") || table.contains("\"status\":\"built\""), "\(table)")
        #expect(table.contains("\"status\":\"failed\""), "\(table)")

        let verify = try Bench.strata(["--cache", cache, "cache", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let plan = try Bench.strata(["-C", root, "--cache", cache, "--registry", "local.test", "plan", "--format", "json"])
        #expect(plan.stdout.contains("\"node\":\"slow\"") && plan.stdout.contains("\"status\":\"miss\""))
    }
}
