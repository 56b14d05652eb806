import Foundation
import StrataProcess
import Testing

/// Ctrl-C during a build: running builds are cancelled, nothing is recorded for them, and the
/// cache stays consistent.
@Suite(.serialized) struct InterruptIntegrationTests {
    @Test func sigintCancelsRunningBuildsAndKeepsTheCacheConsistent() throws {
        try Bench.requireEngine()
        let files = [
            "strata.yaml": "images:\n  fast: {context: fast, network: host}\n  slow: {context: slow, network: host}\n",
            "fast/Dockerfile": "FROM strata-busybox:1\nRUN echo fast > /fast\n",
            "slow/Dockerfile": "FROM fast\nRUN sleep 60 && echo \(UUID().uuidString) > /slow\n",
        ]
        let root = try Bench.fleet("int", files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = root + "/.cache"
        let registry = Bench.scratchRegistry("interrupt")
        defer { Bench.removeImages(under: registry) }
        let build = try ChildProcess(Bench.strata, ["-C", root, "--cache", cache, "--registry", registry, "build",
                                                    "--progress", "plain", "--format", "json"],
                                     environment: Bench.environment())
        // Wait until the slow step runs, then interrupt.
        let seen = String(decoding: build.waitForOutput(.stderr, timeout: .seconds(60)) {
            String(decoding: $0, as: UTF8.self).contains("sleep 60")
        }, as: UTF8.self)
        #expect(seen.contains("sleep 60"), "the slow step never started: \(seen)")
        let interrupted = Date()
        build.signal(SIGINT)
        let result = try build.wait(timeout: .seconds(120))
        #expect(Date().timeIntervalSince(interrupted) < 40, "the step sleeps 60 s")
        #expect(result.status == 1 && !result.signaled)
        let table = result.output
        #expect(table.contains("\"node\":\"fast\",\"seconds\"") || table.contains("\"status\":\"built\""), "\(table)")
        #expect(table.contains("\"status\":\"failed\""), "\(table)")

        let verify = try Bench.strata(["--cache", cache, "cache", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let plan = try Bench.strata(["-C", root, "--cache", cache, "--registry", registry, "plan", "--format", "json"])
        #expect(plan.stdout.contains("\"node\":\"slow\"") && plan.stdout.contains("\"status\":\"miss\""))
    }
}
