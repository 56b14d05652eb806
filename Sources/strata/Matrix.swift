import ArgumentParser
import Foundation
import StrataFleet
import StrataPlan

extension Strata {
    struct Matrix: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the build waves as GitHub Actions matrices, parents' waves first.",
            discussion: """
                Each wave is a matrix {"include":[{"node","image","variant","platform"}]} whose nodes can \
                build in parallel once the waves before it are done. --format github appends count, waves, \
                wave<i> and has_wave<i> (for every wave of the fleet) to the file named by $GITHUB_OUTPUT.
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
                                                    remoteCache: remoteCache)
                included = ChangedNodes.needingBuild(entries)
            }
            let document = MatrixDocument(fleet: fleet, nodes: included)
            guard let outputPath else { return try Console.json(document) }
            let text = try document.githubOutput(depth: MatrixDocument.depth(of: fleet))
            do {
                try GitHubFile.append(text, to: outputPath)
            } catch {
                Console.error("cannot append to $GITHUB_OUTPUT (\(outputPath)): \(error)")
                throw ExitCode(1)
            }
            for (number, wave) in document.waves.enumerated() {
                ProgressOutput.write("wave\(number): \(wave.include.map(\.node).joined(separator: " "))\n")
            }
            ProgressOutput.write("\(document.count) node\(document.count == 1 ? "" : "s") to build in "
                                 + "\(document.waves.count) wave\(document.waves.count == 1 ? "" : "s")\n")
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

    }

    /// One GitHub Actions matrix: `strategy.matrix: ${{ fromJSON(…) }}` takes it as is.
    struct Wave: Encodable, Equatable {
        var include: [Entry]
    }

    var count: Int
    var waves: [Wave]

    init(fleet: Fleet, nodes: Set<Int>) {
        let byWave = Dictionary(grouping: nodes.sorted()) { fleet.waves.isEmpty ? 0 : fleet.waves[$0] }
        waves = byWave.keys.sorted().map { wave in
            Wave(include: byWave[wave]!.map { index in
                let node = fleet.nodes[index]
                return Entry(node: node.name, image: node.image, variant: node.variant, platform: node.platform)
            })
        }
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

    /// The lines for `$GITHUB_OUTPUT`: `count`, `waves`, then `wave<i>` and `has_wave<i>` for
    /// every wave up to `depth` (a workflow has one job per wave of the fleet; the waves
    /// left empty by filtering get `{"include":[]}` and `has_wave<i>=false`).
    func githubOutput(depth: Int) throws -> String {
        var text = GitHubFile.outputLine(name: "count", value: "\(count)")
        text += GitHubFile.outputLine(name: "waves", value: "\(waves.count)")
        for number in 0..<max(depth, waves.count) {
            let wave = number < waves.count ? waves[number] : Wave(include: [])
            text += GitHubFile.outputLine(name: "wave\(number)", value: try Self.compactJSON(wave))
            text += GitHubFile.outputLine(name: "has_wave\(number)", value: wave.include.isEmpty ? "false" : "true")
        }
        return text
    }
}
