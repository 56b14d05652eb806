import Foundation
import StrataCache
import StrataEngine
import StrataFleet
import StrataPlan
import Synchronization
import Testing
@testable import StrataBuild

/// A reporter that remembers why nodes started and the order they finished in.
final class RecordingReporter: BuildReporter {
    let finishedNodes = Mutex<[String]>([])
    let reasons = Mutex<[String: String]>([:])
    func started(node: String, reason: String) { reasons.withLock { $0[node] = reason } }
    func event(node: String, _ event: BuildEvent) {}
    func finished(_ outcome: NodeOutcome) { finishedNodes.withLock { $0.append(outcome.node) } }
}

/// A fleet in a temp folder: base → mid → (leaf-a, leaf-b), and a separate `other`.
final class TestFleet {
    let root: String

    init(_ files: [String: String]? = nil) throws {
        root = FileManager.default.temporaryDirectory.path + "/strata-build-test-" + UUID().uuidString
        let files = files ?? [
            "strata.yaml": """
            registry: example.test/acme
            cache: .cache
            images:
              base: {context: base}
              mid: {context: mid}
              leaf-a: {context: leaf-a}
              leaf-b: {context: leaf-b}
              other: {context: other}
            """,
            "base/Dockerfile": "FROM strata-busybox:1\nCOPY a.txt /a.txt\n",
            "base/a.txt": "a\n",
            "base/unused.txt": "not read\n",
            "mid/Dockerfile": "ARG REGISTRY=example.test/acme\nFROM ${REGISTRY}/base:latest AS m\nRUN true\n",
            "leaf-a/Dockerfile": "FROM mid\nCOPY --from=base /a.txt /b.txt\n",
            "leaf-b/Dockerfile": "FROM mid\n",
            "other/Dockerfile": "FROM strata-busybox:1\n",
        ]
        for (path, contents) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        }
    }

    func write(_ path: String, _ contents: String) throws {
        try Data(contents.utf8).write(to: URL(fileURLWithPath: root + "/" + path))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func run(_ engine: FakeEngine, nodes: [String] = [], options: (Set<Int>) -> SchedulerOptions = { SchedulerOptions(jobs: 2, requested: $0) })
        async throws -> (outcomes: [NodeOutcome], reporter: RecordingReporter, fleet: Fleet) {
        let fleet = try Fleet.load(path: root + "/strata.yaml")
        #expect(fleet.findings.isEmpty, "\(fleet.findings)")
        let requested = try NodeSelector.select(nodes, in: fleet)
        let cache = try CacheDirectory(path: root + "/.cache")
        let entries = try Planner(fleet: fleet, cache: cache).plan(requested)
        let reporter = RecordingReporter()
        let scheduler = Scheduler(fleet: fleet, entries: entries, engine: engine, cache: cache,
                                  options: options(Set(requested)), reporter: reporter)
        return (await scheduler.run(), reporter, fleet)
    }
}

@Suite struct SchedulerTests {
    func statuses(_ outcomes: [NodeOutcome]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: outcomes.map { ($0.node, $0.status.rawValue) })
    }

    @Test func buildsParentsFirstThenReusesEverything() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        let first = try await fleet.run(engine)
        #expect(statuses(first.outcomes).values.allSatisfy { $0 == "built" })
        let order = engine.builds.map { $0.tags.first ?? "" }
        func position(_ image: String) -> Int { order.firstIndex { $0.hasPrefix("example.test/acme/\(image):") } ?? -1 }
        #expect(position("base") < position("mid"))
        #expect(position("mid") < position("leaf-a"))
        #expect(position("mid") < position("leaf-b"))
        #expect(engine.maxRunning <= 2)

        let second = try await fleet.run(engine)
        #expect(statuses(second.outcomes).values.allSatisfy { $0 == "cached" })
        #expect(engine.builds.count == 5)
    }

    @Test func childrenAreBuiltOnTheExactParentImage() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        let run = try await fleet.run(engine)
        let keys = Dictionary(uniqueKeysWithValues: run.outcomes.map { ($0.node, $0.key) })
        let mid = try #require(engine.builds.first { $0.tags.contains { $0.hasPrefix("example.test/acme/mid:") } })
        #expect(mid.dockerfile == "ARG REGISTRY=example.test/acme\nFROM example.test/acme/base:strata-\(keys["base"]!) AS m\nRUN true\n")
        let leafA = try #require(engine.builds.first { $0.tags.contains { $0.hasPrefix("example.test/acme/leaf-a:") } })
        #expect(leafA.dockerfile == "FROM example.test/acme/mid:strata-\(keys["mid"]!)\nCOPY --from=example.test/acme/base:strata-\(keys["base"]!) /a.txt /b.txt\n")
        // The precise context of base: a.txt and the Dockerfile as strata rewrote it, not unused.txt.
        let base = try #require(engine.builds.first { $0.tags.contains { $0.hasPrefix("example.test/acme/base:") } })
        #expect(base.files == ["Dockerfile", "a.txt"])
        #expect(base.tags == ["example.test/acme/base:latest", "example.test/acme/base:strata-\(keys["base"]!)"])
        #expect(base.options.labels["dev.strata.key"] == keys["base"])
    }

    @Test func anEngineThatTakesSessionsGetsTheSameContextsOverOne() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine(sessions: true)
        let run = try await fleet.run(engine)
        #expect(statuses(run.outcomes).values.allSatisfy { $0 == "built" })
        let keys = Dictionary(uniqueKeysWithValues: run.outcomes.map { ($0.node, $0.key) })
        let base = try #require(engine.builds.first { $0.tags.contains { $0.hasPrefix("example.test/acme/base:") } })
        // The context holds only the selected files; the rewritten Dockerfile comes from the
        // `dockerfile` directory.
        #expect(base.files == ["a.txt"])
        #expect(base.options.dockerfile == SessionContexts.dockerfileName)
        #expect(engine.builds.allSatisfy { $0.session })
        let mid = try #require(engine.builds.first { $0.tags.contains { $0.hasPrefix("example.test/acme/mid:") } })
        #expect(mid.dockerfile == "ARG REGISTRY=example.test/acme\nFROM example.test/acme/base:strata-\(keys["base"]!) AS m\nRUN true\n")

        let tar = FakeEngine(sessions: true)
        let forced = try await fleet.run(tar, options: { SchedulerOptions(jobs: 2, noCache: true, requested: $0, sessionContexts: false) })
        #expect(statuses(forced.outcomes).values.allSatisfy { $0 == "built" })
        #expect(tar.builds.count == 5 && tar.builds.allSatisfy { !$0.session })
    }

    @Test func aChangeRebuildsTheNodeAndItsDescendantsOnly() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        _ = try await fleet.run(engine)
        try fleet.write("base/a.txt", "changed\n")
        let second = try await fleet.run(engine)
        #expect(statuses(second.outcomes) == ["base": "built", "mid": "built", "leaf-a": "built", "leaf-b": "built", "other": "cached"])
        try fleet.write("base/unused.txt", "still not read\n")
        let third = try await fleet.run(engine)
        #expect(statuses(third.outcomes).values.allSatisfy { $0 == "cached" })
    }

    @Test func aFailureSkipsDescendantsAndOtherBranchesGoOn() async throws {
        let fleet = try TestFleet()
        try fleet.write("mid/Dockerfile", "FROM base\nRUN FAIL\n")
        let engine = FakeEngine()
        let run = try await fleet.run(engine)
        #expect(statuses(run.outcomes) == ["base": "built", "mid": "failed", "leaf-a": "skipped", "leaf-b": "skipped", "other": "built"])
        let failed = try #require(run.outcomes.first { $0.node == "mid" })
        #expect(failed.failure?.logs == ["sh: FAIL: not found"])
        #expect(run.outcomes.first { $0.node == "leaf-a" }?.message == "parent mid failed")
        // Nothing was recorded for the failed node: the next run builds it again.
        let again = try await fleet.run(engine)
        #expect(statuses(again.outcomes)["mid"] == "failed")
        #expect(statuses(again.outcomes)["base"] == "cached")
    }

    @Test func failFastStopsEverything() async throws {
        let fleet = try TestFleet()
        try fleet.write("base/Dockerfile", "FROM strata-busybox:1\nRUN FAIL\n")
        let engine = FakeEngine(delay: .milliseconds(200))
        let run = try await fleet.run(engine) { SchedulerOptions(jobs: 1, failFast: true, requested: $0) }
        #expect(statuses(run.outcomes)["base"] == "failed")
        #expect(run.outcomes.filter { $0.status == .built }.count <= 1)
        #expect(run.outcomes.contains { $0.message?.contains("--fail-fast") == true })
    }

    @Test func noDepsRequiresBuiltParents() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        let refused = try await fleet.run(engine, nodes: ["mid"]) { SchedulerOptions(jobs: 2, noDeps: true, requested: $0) }
        // The missing parent is not this run's failure (in a CI matrix its own job reports it).
        #expect(statuses(refused.outcomes) == ["base": "skipped", "mid": "skipped"])
        #expect(refused.outcomes.first?.message?.hasPrefix("parent base (wave 0) is not built") == true)
        #expect(refused.outcomes.last?.message == "parent base skipped")
        _ = try await fleet.run(engine, nodes: ["base"])
        let built = try await fleet.run(engine, nodes: ["mid"]) { SchedulerOptions(jobs: 2, noDeps: true, requested: $0) }
        #expect(statuses(built.outcomes) == ["base": "cached", "mid": "built"])
    }

    /// `build mid --no-deps --no-cache`: the requested node is built again, its parent (a
    /// hit) is reused, not reported as a missing parent.
    @Test func noCacheAppliesToTheRequestedNodesOnly() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        _ = try await fleet.run(engine, nodes: ["mid"])
        let again = try await fleet.run(engine, nodes: ["mid"]) {
            SchedulerOptions(jobs: 2, noCache: true, noDeps: true, requested: $0)
        }
        #expect(statuses(again.outcomes) == ["base": "cached", "mid": "built"])
        let withParents = try await fleet.run(engine, nodes: ["mid"]) { SchedulerOptions(jobs: 2, noCache: true, requested: $0) }
        #expect(statuses(withParents.outcomes) == ["base": "cached", "mid": "built"])
    }

    /// A file written after it was hashed for the key and while the build ran: the image may
    /// hold bytes the key does not name, so the node fails and nothing is recorded.
    @Test func aFileEditedDuringItsBuildFailsTheNode() async throws {
        let fleet = try TestFleet()
        let file = fleet.root + "/base/a.txt"
        let engine = FakeEngine { try? Data("edited meanwhile\n".utf8).write(to: URL(fileURLWithPath: file)) }
        let run = try await fleet.run(engine, nodes: ["base"])
        let base = try #require(run.outcomes.first { $0.node == "base" })
        #expect(base.status == .failed)
        #expect(base.message == "base/a.txt changed during the build; its key is not recorded (build again)",
                "\(base.message ?? "")")
        let cache = try CacheDirectory(path: fleet.root + "/.cache")
        #expect(try cache.record(forKey: base.key) == nil)
        // Built again, the key names the new bytes.
        let again = try await fleet.run(FakeEngine(), nodes: ["base"])
        #expect(statuses(again.outcomes)["base"] == "built")
    }

    /// Tags are mutable: `<repo>:strata-<key>` re-pointed at another image does not make it
    /// the key's image. The recorded image is used (and the tag put back); without it, the
    /// node is rebuilt.
    @Test func aKeyTagPointedElsewhereIsNotAHit() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        let first = try await fleet.run(engine)
        let keyTags = engine.builds.flatMap(\.tags).filter { $0.contains(":strata-") }
        try #require(!keyTags.isEmpty)
        for tag in keyTags { engine.repoint(tag) }
        let again = try await fleet.run(engine)
        #expect(statuses(again.outcomes).values.allSatisfy { $0 == "cached" })
        #expect(again.outcomes.map(\.imageID) == first.outcomes.map(\.imageID))
        for tag in keyTags { #expect(try await engine.inspectImage(tag)?.labels["dev.strata.key"] != nil) }

        // The recorded images gone, the re-pointed tags alone are not trusted.
        for id in first.outcomes.compactMap(\.imageID) { try await engine.removeImage(id) }
        for tag in keyTags { engine.repoint(tag) }
        let rebuilt = try await fleet.run(engine)
        #expect(statuses(rebuilt.outcomes).values.allSatisfy { $0 == "built" })
    }

    @Test func aHitWhoseImageTheEngineLostIsRebuilt() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine()
        _ = try await fleet.run(engine)
        engine.forgetImages()
        let run = try await fleet.run(engine)
        #expect(statuses(run.outcomes).values.allSatisfy { $0 == "built" })
        // Said, not silent: this engine cannot load images, and nothing was exported.
        #expect(run.reporter.reasons.withLock { $0["mid"] } == "image missing from the engine and from the cache's layout")
    }

    @Test func theNodeMoreWaitOnGetsThePermitFirst() async throws {
        let fleet = try TestFleet()
        let loaded = try Fleet.load(path: fleet.root + "/strata.yaml")
        let priority = Scheduler.priorities(loaded.graph, planned: Set(loaded.nodes.indices))
        func of(_ name: String) -> Int { priority[loaded.graph.index[name]!] ?? -1 }
        #expect(of("base") > of("mid"))
        #expect(of("mid") > of("leaf-a"))
        #expect(of("leaf-a") == of("leaf-b"))
        #expect(of("leaf-b") == of("other"))
        // Not planned, not counted: with `mid` alone planned, nothing waits on it.
        let alone = Scheduler.priorities(loaded.graph, planned: [loaded.graph.index["mid"]!])
        #expect(alone == [loaded.graph.index["mid"]!: 0])
    }

    @Test func aBaseListedAfterLeavesStillBuildsFirst() async throws {
        var files = ["strata.yaml": "registry: example.test/acme\nimages:\n"]
        for leaf in ["leaf-1", "leaf-2", "leaf-3", "base", "child-1", "child-2"] {
            files["strata.yaml"]! += "  \(leaf): {context: \(leaf)}\n"
            files["\(leaf)/Dockerfile"] = leaf.hasPrefix("child") ? "FROM base\n" : "FROM strata-busybox:1\n"
        }
        let fleet = try TestFleet(files)
        let engine = FakeEngine()
        let run = try await fleet.run(engine) { SchedulerOptions(jobs: 1, requested: $0) }
        #expect(statuses(run.outcomes).values.allSatisfy { $0 == "built" })
        let order = engine.builds.map { $0.tags.first!.split(separator: ":").first!.split(separator: "/").last! }
        #expect(order == ["base", "leaf-1", "leaf-2", "leaf-3", "child-1", "child-2"])
    }

    @Test func jobsBoundConcurrency() async throws {
        let fleet = try TestFleet()
        let engine = FakeEngine(delay: .milliseconds(50))
        _ = try await fleet.run(engine) { SchedulerOptions(jobs: 1, requested: $0) }
        #expect(engine.maxRunning == 1)
    }
}
