import Foundation
import StrataProcess
import Testing

@Suite struct ChildProcessTests {
    @Test func capturesBothStreamsAndTheStatus() throws {
        let result = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"])
        #expect(result.output == "out\n")
        #expect(result.errorOutput == "err\n")
        #expect(result.status == 3)
        #expect(!result.signaled && !result.succeeded)
    }

    @Test func inputBytesReachTheChild() throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let result = try ChildProcess.run("/bin/cat", input: .bytes(bytes))
        #expect(result.stdout == bytes)
        #expect(result.succeeded)
    }

    /// Megabytes on both streams at once: neither pipe may fill up and stall the child.
    @Test func chattyChildrenNeverBlock() throws {
        let script = "head -c 3000000 /dev/zero; head -c 2000000 /dev/zero >&2; head -c 1000000 /dev/zero"
        let result = try ChildProcess.run("/bin/sh", ["-c", script], timeout: .seconds(60))
        #expect(result.stdout.count == 4_000_000)
        #expect(result.stderr.count == 2_000_000)
    }

    @Test func aChildThatOutlivesItsTimeIsKilledAndNamed() throws {
        let started = Date()
        let error = #expect(throws: ChildProcess.Error.self) {
            try ChildProcess.run("/bin/sh", ["-c", "echo waiting >&2; exec sleep 30"], timeout: .milliseconds(500))
        }
        #expect(Date().timeIntervalSince(started) < 10)
        let description = try #require(error).description
        #expect(description.hasPrefix("/bin/sh -c echo waiting >&2; exec sleep 30: still running after 0.5 s, killed"))
        #expect(description.contains("it said: waiting"))
    }

    /// A daemon that keeps the output pipe open does not keep the caller waiting.
    @Test func aGrandchildHoldingThePipeDoesNotHoldTheCaller() throws {
        let started = Date()
        let result = try ChildProcess.run("/bin/sh", ["-c", "sleep 20 & echo started"], timeout: .seconds(30))
        #expect(result.output == "started\n")
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test func signalsAndOutputWhileRunning() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "echo ready; exec sleep 30"])
        let seen = child.waitForOutput(.stdout, timeout: .seconds(10)) { $0.contains(UInt8(ascii: "\n")) }
        #expect(String(decoding: seen, as: UTF8.self) == "ready\n")
        #expect(child.isRunning)
        child.signal(SIGTERM)
        let result = try child.wait(timeout: .seconds(10))
        #expect(result.signaled && result.status == SIGTERM)
    }

    @Test func aPipeInputStaysOpenUntilClosed() throws {
        let child = try ChildProcess("/bin/sh", ["-c", "read line; echo \"got $line\"; cat >/dev/null; echo done"], input: .pipe)
        child.writeInput(Array("one\n".utf8))
        let first = child.waitForOutput(.stdout, timeout: .seconds(10)) { $0.count >= 8 }
        #expect(String(decoding: first, as: UTF8.self) == "got one\n")
        #expect(child.isRunning)
        child.closeInput()
        #expect(try child.wait(timeout: .seconds(10)).output == "got one\ndone\n")
    }

    @Test func outputToAFileAndDirectoryAndEnvironment() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/strata-child-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        try ChildProcess.run("/bin/sh", ["-c", "pwd; echo \"$GREETING\""], directory: directory,
                             environment: ["GREETING": "hello"], stdout: .file(log))
        try ChildProcess.run("/bin/sh", ["-c", "echo again"], stdout: .file(log))
        let resolved = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "\(resolved)\nhello\nagain\n")
    }

    @Test func aMissingExecutableCannotStart() throws {
        let error = #expect(throws: ChildProcess.Error.self) { try ChildProcess.run("/nonexistent/tool", ["x"]) }
        #expect(try #require(error).description.hasPrefix("/nonexistent/tool x: cannot start:"))
    }

    @Test func findLooksAlongThePath() {
        #expect(ChildProcess.find("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(ChildProcess.find("no-such-tool-here", path: "/bin:/usr/bin") == nil)
    }

    /// Hundreds of children ended from many threads at once: every end is seen. (Foundation's
    /// `waitUntilExit` can miss them under this load.)
    @Test func manyConcurrentChildrenAllEnd() async throws {
        try await withThrowingTaskGroup(of: Int32.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try ChildProcess.run("/bin/sh", ["-c", "exit \(index % 7)"], timeout: .seconds(60)).status
                }
            }
            var statuses: [Int32] = []
            for try await status in group { statuses.append(status) }
            #expect(statuses.count == 200)
            let expected: [Int32] = (0..<200).map { Int32($0 % 7) }
            #expect(statuses.sorted() == expected.sorted())
        }
    }
}
