import ArgumentParser
import Foundation
import StrataCache
import StrataEngine
import StrataFleet
import StrataPlan

extension Strata {
    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which nodes would build and why: every node's key, hit or miss.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Images or nodes (default: all). Their ancestors are planned too.")
        var nodes: [String] = []

        @Option(help: "Output format.")
        var format: Format = .text

        @Flag(help: "For each miss, name every input that changed since its last recorded key.")
        var explain = false

        @Flag(help: "Look local misses up in the registry (strata-<key>); also on with remote_cache: true.")
        var remoteCache = false

        @Flag(help: "Ask the registry of every external image what its tag names now, pull what moved, and key by that.")
        var refreshBases = false

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            let selected = try select(nodes, in: fleet)
            let cache = try openCache(global.cachePath(for: fleet.manifest))
            let lock = try sharedLock(cache)
            let entries = try await global.plan(selected, fleet: fleet, cache: cache,
                                                publisher: global.publisher(fleet: fleet, cache: cache),
                                                remoteCache: remoteCache, engine: try? await Engine.connect(),
                                                refreshBases: refreshBases)
            lock.release()
            switch format {
            case .json:
                try Console.json(PlanDocument(entries: entries, explain: explain))
            case .text:
                Console.output(PlanRendering.text(entries, explain: explain))
            }
        }
    }
}

/// Resolves NODES, as a usage error (exit 2) when one is unknown. Not a `ValidationError`:
/// thrown from `run()`, that exits 64 under the root command's usage, not DESIGN.md's 2.
func select(_ names: [String], in fleet: Fleet) throws -> [Int] {
    do {
        return try NodeSelector.select(names, in: fleet)
    } catch {
        Console.error(error.description)
        throw ExitCode(2)
    }
}

/// Opens the cache directory, as one clear line when it cannot be.
func openCache(_ path: String) throws -> CacheDirectory {
    try Console.failingInOneLine { try CacheDirectory(path: path) }
}

/// `plan --format json`: `{"nodes":[{"node","image","variant","platform","key","parents":[…],
/// "wave","status","reason"}]}` (and `changes` with `--explain`).
struct PlanDocument: Encodable {
    struct Node: Encodable {
        var node: String
        var image: String
        @Nullable var variant: String?
        @Nullable var platform: String?
        var key: String
        var parents: [String]
        var wave: Int
        var status: String
        var reason: String
        var changes: [String]?
    }

    var nodes: [Node]

    init(entries: [PlanEntry], explain: Bool) {
        nodes = entries.map { entry in
            Node(node: entry.node.name, image: entry.node.image, variant: entry.node.variant, platform: entry.node.platform,
                 key: entry.key.key, parents: entry.node.parentNames, wave: entry.wave, status: entry.status.rawValue,
                 reason: entry.reason, changes: explain ? entry.changes : nil)
        }
    }
}

enum PlanRendering {
    static func text(_ entries: [PlanEntry], explain: Bool) -> String {
        let width = entries.map(\.node.name.count).max() ?? 4
        var lines: [String] = []
        for entry in entries {
            let name = entry.node.name.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("\(name)  wave \(entry.wave)  \(entry.status == .hit ? "hit " : "miss")  \(entry.key.key.prefix(12))  \(entry.reason)")
            if explain {
                for change in entry.changes { lines.append(String(repeating: " ", count: width) + "    - \(change)") }
            }
        }
        let misses = entries.filter { $0.status == .miss }.count
        lines.append("\(entries.count) nodes: \(misses) to build, \(entries.count - misses) cached")
        return lines.joined(separator: "\n")
    }
}
