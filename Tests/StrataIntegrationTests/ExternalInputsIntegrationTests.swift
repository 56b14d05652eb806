import Foundation
import StrataProcess
import Testing

/// What a build fetches from outside the fleet is keyed by content: a base re-tagged or
/// pushed anew is a miss, never a stale hit, and an `ADD <url>` is keyed by what it serves.
@Suite(.serialized) struct ExternalInputsIntegrationTests {
    static var registry: String { ProcessInfo.processInfo.environment["STRATA_TEST_REGISTRY"] ?? "127.0.0.1:5000" }

    @Test func aBaseMovedInTheEngineOrTheRegistryIsAMissAndRefreshBasesPullsIt() throws {
        try Bench.requireEngine()
        let base = "\(Self.registry)/" + Bench.scratchRegistry("extbase", host: "it").replacingOccurrences(of: "/", with: "-") + ":1"
        let root = try Bench.fleet("extbase", [
            "strata.yaml": "images:\n  app: {context: app}\n",
            "app/Dockerfile": "FROM \(base)\nCOPY a.txt /a.txt\n",
            "app/a.txt": "a\n",
            "v2/Dockerfile": "FROM strata-busybox:1\nRUN echo two > /v2\n",
            "v3/Dockerfile": "FROM strata-busybox:1\nRUN echo three > /v3\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let prefix = Bench.scratchRegistry("extbase")
        defer {
            Bench.removeImages(under: prefix)
            _ = try? Bench.docker(["rmi", base])
        }
        let common = ["-C", root, "--cache", root + "/.cache", "--registry", prefix]
        func plan(_ extra: [String] = []) throws -> (status: String, stderr: String) {
            let result = try Bench.strata(common + ["plan", "--format", "json"] + extra)
            try #require(result.status == 0, "\(result.stderr)")
            return (try Bench.statuses(result.stdout)["app"] ?? "?", result.stderr)
        }

        // v1: the busybox base, pushed, so the engine has a repo digest for it.
        try #require(try Bench.docker(["tag", "strata-busybox:1", base]).status == 0)
        let pushed = try Bench.docker(["push", base])
        try #require(pushed.status == 0, "\(pushed.stderr)")
        let v1 = try Bench.docker(["image", "inspect", "--format", "{{.Id}}", base]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let built = try Bench.strata(common + ["build", "--progress", "plain"])
        try #require(built.status == 0, "\(built.stderr)")
        #expect(try plan().status == "hit")

        // v2 pushed under the same tag; the engine's tag goes back to v1. The classic store
        // builds on v1 (a hit); the containerd store's BuildKit asks the registry first and
        // would build on v2 (a miss).
        let v2 = try Bench.run(Bench.dockerCLI, ["build", "--quiet", "--network", "host", "-t", base, root + "/v2"],
                               environment: ["DOCKER_BUILDKIT": "1"])
        try #require(v2.status == 0, "\(v2.stderr)")
        try #require(try Bench.docker(["push", base]).status == 0)
        try #require(try Bench.docker(["tag", v1, base]).status == 0)
        let containerdStore = try Bench.docker(["info", "--format", "{{json .DriverStatus}}"]).stdout.contains("io.containerd.snapshotter")
        #expect(try plan().status == (containerdStore ? "miss" : "hit"))

        // --refresh-bases asks the registry, pulls v2 and keys by it.
        let refreshed = try plan(["--refresh-bases"])
        #expect(refreshed.status == "miss")
        #expect(refreshed.stderr.contains("refreshed \(base): "), "\(refreshed.stderr)")
        #expect(try plan().status == "miss")
        let rebuilt = try Bench.strata(common + ["build", "--progress", "plain"])
        try #require(rebuilt.status == 0, "\(rebuilt.stderr)")
        let content = try Bench.docker(["run", "--rm", "\(prefix)/app:latest", "cat", "/v2"])
        #expect(content.stdout == "two\n", "\(content.stderr)")
        #expect(try plan().status == "hit")

        // Back on v1: the first build's key, a hit of that build's image.
        try #require(try Bench.docker(["tag", v1, base]).status == 0)
        #expect(try plan().status == "hit")
        // The engine's tag re-pointed at content built here, never pushed: a miss on the classic
        // store, which builds on it; the containerd store builds on the registry's v2, a hit.
        let v3 = try Bench.run(Bench.dockerCLI, ["build", "--quiet", "--network", "host", "-t", base, root + "/v3"],
                               environment: ["DOCKER_BUILDKIT": "1"])
        try #require(v3.status == 0, "\(v3.stderr)")
        #expect(try plan().status == (containerdStore ? "hit" : "miss"))
    }

    @Test func anAddURLIsKeyedByWhatItServes() throws {
        try Bench.requireEngine()
        let served = FileManager.default.temporaryDirectory.path + "/strata-served-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: served) }
        try Data("first\n".utf8).write(to: URL(fileURLWithPath: served + "/data.txt"))
        let port = Int.random(in: 20000..<40000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "http.server", "\(port)", "--bind", "127.0.0.1", "--directory", served]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { server.terminate() }
        let url = "http://127.0.0.1:\(port)/data.txt"
        var answered = false
        for _ in 0..<50 where !answered {
            answered = (try? Bench.run("/usr/bin/curl", ["-fsS", "-o", "/dev/null", url]).status) == 0
            if !answered { Thread.sleep(forTimeInterval: 0.1) }
        }
        try #require(answered, "python3 -m http.server did not answer on \(url)")

        let root = try Bench.fleet("addurl", [
            "strata.yaml": "images:\n  app: {context: app}\n",
            "app/Dockerfile": "FROM strata-busybox:1\nADD \(url) /data.txt\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let prefix = Bench.scratchRegistry("addurl")
        defer { Bench.removeImages(under: prefix) }
        let common = ["-C", root, "--cache", root + "/.cache", "--registry", prefix]
        func plan() throws -> (status: String, stdout: String) {
            let result = try Bench.strata(common + ["plan", "--explain"])
            try #require(result.status == 0, "\(result.stderr)")
            return (result.stdout.contains("app  wave 0  hit") ? "hit" : "miss", result.stdout)
        }

        let built = try Bench.strata(common + ["build", "--progress", "plain"])
        try #require(built.status == 0, "\(built.stderr)")
        #expect(try plan().status == "hit")
        try Data("second\n".utf8).write(to: URL(fileURLWithPath: served + "/data.txt"))
        let changed = try plan()
        #expect(changed.status == "miss")
        #expect(changed.stdout.contains("URL content: \(url) sha256:"), "\(changed.stdout)")
        let rebuilt = try Bench.strata(common + ["build", "--progress", "plain"])
        try #require(rebuilt.status == 0, "\(rebuilt.stderr)")
        let content = try Bench.docker(["run", "--rm", "\(prefix)/app:latest", "cat", "/data.txt"])
        #expect(content.stdout == "second\n", "\(content.stderr)")
    }
}
