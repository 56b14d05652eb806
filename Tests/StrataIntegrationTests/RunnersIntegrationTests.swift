import Foundation
import StrataProcess
import Testing

/// A GitHub Actions matrix build simulated on this machine: two runners, each with its own
/// Docker engine (`scripts/lib/runner-engine.sh`) and, per job, an empty cache, sharing
/// only the bench's registry. Every wave's nodes are separate `build --no-deps NODE --push
/// --remote-cache` jobs alternating between the runners, and each job starts on an engine
/// reset to the offline base: whatever a job needs of earlier waves comes from the registry.
@Suite(.serialized) struct RunnersIntegrationTests {
    struct GraphNode: Decodable { var node, image: String; var parents: [String]; var wave: Int }
    struct Graph: Decodable { var nodes: [GraphNode] }
    struct PlanNode: Decodable { var node, status, reason: String }
    struct Plan: Decodable { var nodes: [PlanNode] }
    struct BuildNode: Decodable { var node, status: String; var key: String? }
    struct BuildDocument: Decodable { var nodes: [BuildNode] }

    /// One runner: an engine of its own under a short folder (the socket path must fit in 108 bytes).
    struct Runner {
        var name: String
        var directory: String
        var host: String { "unix://\(directory)/d.sock" }
        var environment: [String: String] { ["DOCKER_HOST": host] }

        static let script = Bench.repository.appendingPathComponent("scripts/lib/runner-engine.sh").path

        /// Starts the engine as a child of this process (dockerd execs in place of the script).
        func start() throws -> ChildProcess {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return try ChildProcess("/bin/bash", [Self.script, "start", directory], stdout: .discard, stderr: .discard)
        }

        func engine(_ command: String) throws {
            let script = Self.script
            let result = try Bench.run("/bin/bash", [script, command, directory])
            try #require(result.status == 0, "runner \(name): runner-engine.sh \(command): \(result.stderr)")
        }

        func docker(_ arguments: [String]) throws -> Bench.Result {
            try Bench.run(Bench.dockerCLI, arguments, environment: environment)
        }
    }

    @Test func aMatrixAcrossTwoRunnersBuildsEachNodeOnceOnParentsFromTheRegistry() throws {
        let ping = try Bench.run("/usr/bin/curl", ["-sf", "-o", "/dev/null", "http://127.0.0.1:5000/v2/"])
        try #require(ping.status == 0, "no registry at 127.0.0.1:5000: run scripts/test, which starts one")
        let fleet = try Bench.demoFleetCopy()
        defer { try? FileManager.default.removeItem(atPath: fleet) }
        let id = UUID().uuidString.prefix(8).lowercased()
        let registry = "127.0.0.1:5000/runners-\(id)"
        let root = "/tmp/sr-\(id)"
        let runners = [Runner(name: "A", directory: root + "/a"), Runner(name: "B", directory: root + "/b")]
        var engines: [ChildProcess] = []
        defer {
            for runner in runners { try? runner.engine("stop") }
            for engine in engines { engine.signal(SIGKILL); _ = try? engine.wait(timeout: .seconds(30)) }
            try? FileManager.default.removeItem(atPath: root)
        }
        for runner in runners { engines.append(try runner.start()) }
        for runner in runners { try runner.engine("ready") }

        let graphRun = try Bench.strata(["-C", fleet, "graph", "--format", "json"])
        try #require(graphRun.status == 0, "\(graphRun.stderr)")
        let graph = try JSONDecoder().decode(Graph.self, from: Data(graphRun.stdout.utf8)).nodes
        try #require(graph.count == 18)
        let byName = Dictionary(uniqueKeysWithValues: graph.map { ($0.node, $0) })
        let depth = (graph.map(\.wave).max() ?? -1) + 1
        try #require(depth == 6)
        func ancestors(_ node: String) -> Set<String> {
            var found = Set<String>(), stack = byName[node]!.parents
            while let parent = stack.popLast() {
                if found.insert(parent).inserted { stack += byName[parent]!.parents }
            }
            return found
        }

        var jobNumber = 0
        func freshCache() -> String {
            jobNumber += 1
            return "\(root)/cache-\(jobNumber)"
        }

        /// `plan --remote-cache` from an empty cache: what a matrix job would learn from the registry.
        func plan() throws -> [String: PlanNode] {
            let cache = freshCache()
            defer { try? FileManager.default.removeItem(atPath: cache) }
            let result = try Bench.run(Bench.strata, ["-C", fleet, "--cache", cache, "--registry", registry,
                                                      "plan", "--remote-cache", "--format", "json"],
                                       environment: runners[0].environment)
            try #require(result.status == 0, "\(result.stderr)")
            let nodes = try JSONDecoder().decode(Plan.self, from: Data(result.stdout.utf8)).nodes
            return Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0) })
        }

        /// `matrix --changed --remote-cache` from an empty cache, as the workflow's plan job runs
        /// it: the nodes of its first wave.
        func firstMatrixWave() throws -> Set<String> {
            struct Matrix: Decodable {
                struct Wave: Decodable { struct Entry: Decodable { var node: String }; var include: [Entry] }
                var waves: [Wave]
            }
            let cache = freshCache()
            defer { try? FileManager.default.removeItem(atPath: cache) }
            let result = try Bench.run(Bench.strata, ["-C", fleet, "--cache", cache, "--registry", registry,
                                                      "matrix", "--changed", "--remote-cache", "--format", "json"],
                                       environment: runners[0].environment)
            try #require(result.status == 0, "\(result.stderr)")
            let matrix = try JSONDecoder().decode(Matrix.self, from: Data(result.stdout.utf8))
            return Set(matrix.waves.first?.include.map(\.node) ?? [])
        }

        /// One matrix job: a reset engine, an empty cache, one node.
        func job(_ node: String, on runner: Runner) throws -> [String: BuildNode] {
            try runner.engine("reset")
            let cache = freshCache()
            defer { try? FileManager.default.removeItem(atPath: cache) }
            let result = try Bench.run(Bench.strata, ["-C", fleet, "--cache", cache, "--registry", registry,
                                                      "build", "--no-deps", node, "--push", "--remote-cache",
                                                      "--progress", "plain", "--format", "json"],
                                       environment: runner.environment)
            #expect(result.status == 0, "\(node) on runner \(runner.name): \(result.stderr)")
            let nodes = try JSONDecoder().decode(BuildDocument.self, from: Data(result.stdout.utf8)).nodes
            let statuses = Dictionary(uniqueKeysWithValues: nodes.map { ($0.node, $0) })
            // The node and its ancestors, no more; every ancestor found in the registry, not rebuilt.
            #expect(Set(statuses.keys) == ancestors(node).union([node]), "\(node): \(statuses.keys.sorted())")
            for parent in ancestors(node) {
                #expect(statuses[parent]?.status == "cached", "\(node) on runner \(runner.name): parent \(parent) is \(statuses[parent]?.status ?? "absent")")
            }
            return statuses
        }

        // First run: wave by wave, the registry says which nodes still need a build.
        var builtBy: [String: [String]] = [:]
        var outcomes: [String: (runner: Runner, statuses: [String: BuildNode])] = [:]
        var turn = 0
        for wave in 0..<depth {
            let planned = try plan()
            let toBuild = graph.filter { planned[$0.node]?.status == "miss" && $0.wave == wave }.map(\.node)
            #expect(Set(toBuild) == Set(graph.filter { $0.wave == wave }.map(\.node)), "wave \(wave): \(toBuild)")
            #expect(try firstMatrixWave() == Set(toBuild), "wave \(wave): matrix --changed --remote-cache")
            for node in graph where node.wave < wave {
                #expect(planned[node.node]?.status == "hit", "wave \(wave): \(node.node) is \(planned[node.node]?.status ?? "absent")")
            }
            for node in toBuild {
                let runner = runners[turn % runners.count]
                turn += 1
                let statuses = try job(node, on: runner)
                #expect(statuses[node]?.status == "built", "\(node) on runner \(runner.name): \(statuses[node]?.status ?? "absent")")
                for (name, outcome) in statuses where outcome.status == "built" { builtBy[name, default: []].append(runner.name) }
                outcomes[node] = (runner, statuses)
            }
        }
        #expect(builtBy.count == 18 && builtBy.values.allSatisfy { $0.count == 1 }, "built once across runners: \(builtBy)")
        #expect(Set(builtBy.values.flatMap { $0 }) == ["A", "B"], "both runners built: \(builtBy)")

        // A leaf of the last wave, pulled by its key tag on runner B: it holds base-python's file, and
        // its layers start with the layers of the parent the previous wave pushed.
        let leafName = try #require(graph.first { $0.wave == depth - 1 && outcomes[$0.node]?.runner.name == "A" }?.node
                                    ?? graph.first { $0.wave == depth - 1 }?.node)
        let leaf = byName[leafName]!
        let parent = byName[try #require(leaf.parents.first)]!
        let leafStatuses = outcomes[leafName]!.statuses
        let leafRef = "\(registry)/\(leaf.image):strata-\(try #require(leafStatuses[leaf.node]?.key))"
        let parentRef = "\(registry)/\(parent.image):strata-\(try #require(leafStatuses[parent.node]?.key))"
        let runnerB = runners[1]
        try runnerB.engine("reset")
        for reference in [leafRef, parentRef] {
            let pull = try runnerB.docker(["pull", reference])
            #expect(pull.status == 0, "\(reference): \(pull.stderr)")
        }
        let cat = try runnerB.docker(["run", "--rm", "--network", "host", "--entrypoint", "/bin/cat", leafRef,
                                      "/opt/python/lib/sitecustomize.py"])
        #expect(cat.status == 0, "\(cat.stderr)")
        let expected = try String(contentsOfFile: fleet + "/base/base-python/sitecustomize.py", encoding: .utf8)
        #expect(cat.stdout == expected, "\(leafName): \(cat.stdout)")
        /// The image's layers (its config's diff_ids) as the registry holds them: what any runner
        /// pulls, whatever its engine's image store reports.
        func layers(_ reference: String) throws -> [String] {
            func get(_ path: String, accept: String) throws -> [String: Any] {
                let result = try Bench.run("/usr/bin/curl", ["-fsS", "-H", "Accept: \(accept)", "http://127.0.0.1:5000/v2/\(path)"])
                try #require(result.status == 0, "GET \(path): \(result.stderr)")
                return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            }
            let name = reference.dropFirst("127.0.0.1:5000/".count)
            let colon = try #require(name.lastIndex(of: ":"))
            let repository = String(name[..<colon]), tag = String(name[name.index(after: colon)...])
            let manifest = try get("\(repository)/manifests/\(tag)",
                                   accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
            let config = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
            let rootfs = try get("\(repository)/blobs/\(config)", accept: "*/*")["rootfs"] as? [String: Any]
            return rootfs?["diff_ids"] as? [String] ?? []
        }
        let leafLayers = try layers(leafRef), parentLayers = try layers(parentRef)
        #expect(!parentLayers.isEmpty && leafLayers.count > parentLayers.count
                && Array(leafLayers.prefix(parentLayers.count)) == parentLayers,
                "\(leafName) is built on the pushed \(parent.node): \(leafLayers) vs \(parentLayers)")

        // Second run: the registry has every key; every job, again from nothing, builds nothing.
        let planned = try plan()
        #expect(planned.count == 18 && planned.values.allSatisfy { $0.status == "hit" }, "\(planned.values.map { "\($0.node) \($0.status)" })")
        for wave in 0..<depth {
            for node in graph where node.wave == wave {
                let runner = runners[turn % runners.count]
                turn += 1
                let statuses = try job(node.node, on: runner)
                #expect(statuses[node.node]?.status == "cached", "second run, \(node.node) on runner \(runner.name): \(statuses[node.node]?.status ?? "absent")")
            }
        }
    }
}
