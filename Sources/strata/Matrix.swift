import ArgumentParser
import Foundation
import StrataEngine
import StrataFleet
import StrataPlan

extension Strata {
    struct Matrix: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the build waves as GitHub Actions matrices, parents' waves first.",
            discussion: """
                Each wave is a matrix {"include":[{"node","image","variant","platform"}]} whose nodes can \
                build in parallel once the waves before it are done. --format github appends count, waves, \
                wave<i> and has_wave<i> (for every wave of the fleet, numbered as in the fleet) to the file \
                named by $GITHUB_OUTPUT; a wave of the fleet with more than 256 nodes, more than a GitHub \
                matrix runs, gets wave<i>_<p> and has_wave<i>_<p> for each part of at most 256 instead.
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case json, github }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Images or nodes (default: all). Their ancestors are included too.")
        var nodes: [String] = []

        @Flag(help: "Only the nodes that need a build: keys not recorded in the cache.")
        var changed = false

        @Flag(help: "With --changed, look local misses up in the registry (strata-<key>); also on with remote_cache: true.")
        var remoteCache = false

        @Option(help: "Output format: json (stdout), github (appended to $GITHUB_OUTPUT).")
        var format: Format = .json

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            var outputPath: String?
            if format == .github {
                guard let path = environment["GITHUB_OUTPUT"], !path.isEmpty else {
                    Console.error("--format github appends to the file named by $GITHUB_OUTPUT, which is not set "
                                  + "(GitHub Actions sets it for every step); elsewhere use --format json")
                    throw ExitCode(2)
                }
                outputPath = path
            }
            let fleet = try global.loadSoundFleet()
            let selected = try select(nodes, in: fleet)
            var included = fleet.graph.ancestorsIncluding(selected)
            if changed {
                let cache = try openCache(global.cachePath(for: fleet.manifest))
                let lock = try sharedLock(cache)
                defer { lock.release() }
                // With the remote cache, "changed" means missing locally and in the registry
                // (the strata-<key> tags): a CI runner starts with an empty cache.
                let entries = try await global.plan(selected, fleet: fleet, cache: cache,
                                                    publisher: global.publisher(fleet: fleet, cache: cache),
                                                    remoteCache: remoteCache, engine: try? await Engine.connect())
                included = ChangedNodes.needingBuild(entries)
            }
            guard let outputPath else {
                let document = MatrixDocument(fleet: fleet, nodes: included)
                try Console.json(document)
                for (number, wave) in document.waves.enumerated() where wave.include.count > WaveJob.matrixLimit {
                    ProgressOutput.write("wave \(number) has \(wave.include.count) nodes, more than the "
                                         + "\(WaveJob.matrixLimit) jobs a GitHub matrix runs: split it (--format github "
                                         + "writes such a wave as wave<i>_0, wave<i>_1, …)\n")
                }
                return
            }
            let output = GitHubMatrixOutput(fleet: fleet, nodes: included)
            do {
                try GitHubFile.append(try output.text(), to: outputPath)
            } catch {
                Console.error("cannot append to $GITHUB_OUTPUT (\(outputPath)): \(error)")
                throw ExitCode(1)
            }
            ProgressOutput.write(output.progress())
        }
    }
}

/// Which planned nodes `--changed` keeps: the one place that decides whether a node needs
/// a build: a miss both in the local key index and in the registry.
enum ChangedNodes {
    static func needingBuild(_ entries: [PlanEntry]) -> Set<Int> {
        Set(entries.filter { $0.status == .miss }.map(\.index))
    }
}

/// `matrix --format json`: `{"count":N,"waves":[{"include":[{"node","image","variant",
/// "platform"}]}]}`. Waves are renumbered from 0 without gaps after filtering; in a wave,
/// nodes keep fleet order.
struct MatrixDocument: Encodable, Equatable {
    struct Entry: Encodable, Equatable {
        var node: String
        var image: String
        @Nullable var variant: String?
        @Nullable var platform: String?

        init(_ node: BuildNode) {
            self.node = node.name
            image = node.image
            variant = node.variant
            platform = node.platform
        }
    }

    /// One GitHub Actions matrix: `strategy.matrix: ${{ fromJSON(…) }}` takes it as is.
    struct Wave: Encodable, Equatable {
        var include: [Entry]
    }

    var count: Int
    var waves: [Wave]

    init(fleet: Fleet, nodes: Set<Int>) {
        let byWave = Dictionary(grouping: nodes.sorted()) { fleet.waves.isEmpty ? 0 : fleet.waves[$0] }
        waves = byWave.keys.sorted().map { wave in Wave(include: byWave[wave]!.map { Entry(fleet.nodes[$0]) }) }
        count = nodes.count
    }

    /// The number of waves of the whole fleet: how many wave jobs `ci github` writes.
    static func depth(of fleet: Fleet) -> Int {
        (fleet.waves.max() ?? -1) + 1
    }

    /// Sorted keys, no spaces, `/` unescaped: one line, the same bytes for the same fleet.
    static func compactJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// `matrix --format github`: the lines for `$GITHUB_OUTPUT`, one matrix per wave job of the
/// workflow `ci github` writes. Waves keep the fleet's numbers (a workflow has a job per wave
/// of the fleet, and the waves of a run are a subset): the waves with nothing to build get
/// `{"include":[]}` and `has_<job>=false`, and their jobs are skipped.
struct GitHubMatrixOutput {
    struct JobMatrix {
        var job: WaveJob
        var matrix: MatrixDocument.Wave
    }

    var count: Int
    /// The waves with a node to build.
    var waves: Int
    /// Every wave job of the fleet, in workflow order.
    var jobs: [JobMatrix]

    init(fleet: Fleet, nodes: Set<Int>) {
        let jobsOfWaves = WaveJob.jobs(of: fleet)
        var byWave = [[MatrixDocument.Entry]](repeating: [], count: jobsOfWaves.count)
        for index in nodes.sorted() { byWave[fleet.waves[index]].append(MatrixDocument.Entry(fleet.nodes[index])) }
        jobs = jobsOfWaves.flatMap { waveJobs in
            waveJobs.map { JobMatrix(job: $0, matrix: MatrixDocument.Wave(include: Array($0.slice(byWave[$0.wave])))) }
        }
        count = nodes.count
        waves = byWave.filter { !$0.isEmpty }.count
    }

    /// `count`, `waves`, then `<job>` and `has_<job>` for each wave job.
    func text() throws -> String {
        var text = GitHubFile.outputLine(name: "count", value: "\(count)")
        text += GitHubFile.outputLine(name: "waves", value: "\(waves)")
        for entry in jobs {
            text += GitHubFile.outputLine(name: entry.job.name, value: try MatrixDocument.compactJSON(entry.matrix))
            text += GitHubFile.outputLine(name: "has_\(entry.job.name)", value: entry.matrix.include.isEmpty ? "false" : "true")
        }
        return text
    }

    /// For the log: each split wave and its jobs, each job's nodes, then the counts.
    func progress() -> String {
        var text = ""
        for entry in jobs where entry.job.parts > 1 && entry.job.part == 0 {
            let names = jobs.filter { $0.job.wave == entry.job.wave }.map(\.job.name)
            text += "wave\(entry.job.wave) has more nodes than the \(WaveJob.matrixLimit) jobs a GitHub matrix runs: "
                + "split into \(names.joined(separator: ", "))\n"
        }
        for entry in jobs where !entry.matrix.include.isEmpty {
            text += "\(entry.job.name): \(entry.matrix.include.map(\.node).joined(separator: " "))\n"
        }
        return text + "\(count) node\(count == 1 ? "" : "s") to build in \(waves) wave\(waves == 1 ? "" : "s")\n"
    }
}
