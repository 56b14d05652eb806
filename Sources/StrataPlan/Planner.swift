import Foundation
import StrataCache
import StrataFleet

/// One node of a plan: its key, whether that key was built before, and why not.
public struct PlanEntry: Sendable {
    public enum Status: String, Sendable { case hit, miss }

    public var index: Int
    public var node: BuildNode
    public var key: NodeKey
    public var wave: Int
    public var status: Status
    /// One line: why the node is a miss (or when the hit was recorded).
    public var reason: String
    /// For a miss with an earlier record: every input that changed since (`plan --explain`).
    public var changes: [String]
    /// The record of a hit.
    public var record: KeyRecord?
    /// For a hit found in the registry only (remote cache): where.
    public var remote: RemoteHit?
}

/// A key found in a registry: `<repository>:strata-<key>` exists.
public struct RemoteHit: Sendable, Equatable {
    /// `host/path` of the repository.
    public var repository: String
    /// The manifest digest the key's tag names.
    public var digest: String

    public init(repository: String, digest: String) {
        self.repository = repository
        self.digest = digest
    }
}

/// The remote cache (DESIGN.md, "The cache directory"): whether a registry holds
/// the image built for a key. Implemented over the registry client by the layers
/// that know where a node is pushed; one `HEAD` per lookup.
public protocol RemoteKeyIndex: Sendable {
    /// The registry copy of `node`'s image for `key`, or nil when there is none.
    func find(node: BuildNode, key: String) async throws -> RemoteHit?
}

/// Compares each node's key with the cache's key index.
public struct Planner {
    public let fleet: Fleet
    public let cache: CacheDirectory
    /// The engine's platform, for the nodes that name none (see `KeyComputer`).
    public let defaultPlatform: String?
    /// What each external image reference is keyed as (see `KeyComputer.bases`).
    public let bases: [String: String]
    /// What each `ADD` URL is keyed as (see `KeyComputer.urls`).
    public let urls: [String: String]

    public init(fleet: Fleet, cache: CacheDirectory, defaultPlatform: String? = nil, bases: [String: String] = [:],
                urls: [String: String] = [:]) {
        self.fleet = fleet
        self.cache = cache
        self.defaultPlatform = defaultPlatform
        self.bases = bases
        self.urls = urls
    }

    /// The plan for `requested` nodes (indices into `fleet.nodes`) and their ancestors, in
    /// build order (parents first).
    public func plan(_ requested: [Int]) throws -> [PlanEntry] {
        let keys = try KeyComputer(fleet: fleet, fileIndexDirectory: cache.filesDirectory, cacheDirectory: cache.path,
                                   defaultPlatform: defaultPlatform, bases: bases, urls: urls)
            .keys(for: requested)
        let wanted = fleet.graph.ancestorsIncluding(requested)
        let order = (fleet.graph.topologicalOrder() ?? []).filter { wanted.contains($0) }
        var entries: [PlanEntry] = []
        for index in order {
            let node = fleet.nodes[index]
            guard let key = keys[node.name] else { continue }
            let wave = fleet.waves.isEmpty ? 0 : fleet.waves[index]
            if let record = try? cache.record(forKey: key.key) {
                let created = ISO8601DateFormatter().string(from: record.created)
                entries.append(PlanEntry(index: index, node: node, key: key, wave: wave, status: .hit,
                                         reason: "built \(created)", changes: [], record: record))
                continue
            }
            let previous = try? cache.lastRecord(forNode: node.name)
            let changes = previous.map { Explain.changes(from: $0, to: key) } ?? []
            let reason: String
            if previous == nil {
                reason = "never built"
            } else if let first = changes.first {
                reason = changes.count > 1 ? "\(first) (+\(changes.count - 1) more)" : first
            } else {
                reason = "key changed"
            }
            entries.append(PlanEntry(index: index, node: node, key: key, wave: wave, status: .miss,
                                     reason: reason, changes: changes, record: nil))
        }
        return entries
    }

    /// `plan(_:)`, then each local miss looked up in `remote` (concurrently): one found
    /// there is a hit, `in registry <repository>`. A lookup that fails leaves the miss,
    /// saying why, so an unreachable registry costs a rebuild, never a wrong hit.
    public func plan(_ requested: [Int], remote: (any RemoteKeyIndex)?) async throws -> [PlanEntry] {
        var entries = try plan(requested)
        guard let remote else { return entries }
        let misses = entries.indices.filter { entries[$0].status == .miss }
        let found = await withTaskGroup(of: (Int, Result<RemoteHit?, any Error>).self) { group in
            for position in misses {
                let node = entries[position].node, key = entries[position].key.key
                group.addTask {
                    // The tuple is built after the await (docs/release-miscompile.md).
                    let result: Result<RemoteHit?, any Error>
                    do { result = .success(try await remote.find(node: node, key: key)) } catch { result = .failure(error) }
                    return (position, result)
                }
            }
            var results: [Int: Result<RemoteHit?, any Error>] = [:]
            for await (position, result) in group { results[position] = result }
            return results
        }
        for (position, result) in found {
            switch result {
            case .success(let hit?):
                entries[position].status = .hit
                entries[position].reason = "in registry \(hit.repository)"
                entries[position].remote = hit
            case .success(nil):
                break
            case .failure(let error):
                entries[position].reason += " (registry lookup failed: \(error))"
            }
        }
        return entries
    }
}

/// Names what changed between a node's last recorded inputs and its current ones.
public enum Explain {
    public static func changes(from old: KeyRecord, to new: NodeKey) -> [String] {
        var changes: [String] = []
        let before = old.inputs, after = new.inputs
        for parent in after.parents {
            if let previous = before.parents.first(where: { $0.node == parent.node }) {
                if previous.key != parent.key { changes.append("parent \(parent.node) changed") }
            } else {
                changes.append("new parent \(parent.node)")
            }
        }
        for parent in before.parents where !after.parents.contains(where: { $0.node == parent.node }) {
            changes.append("parent \(parent.node) removed")
        }
        if before.dockerfile != after.dockerfile { changes.append("Dockerfile changed") }
        if before.context != after.context {
            let paths = Set(old.files.keys).union(new.files.keys).sorted()
            var fileChanges: [String] = []
            for path in paths {
                switch (old.files[path], new.files[path]) {
                case (nil, .some): fileChanges.append("file added: \(path)")
                case (.some, nil): fileChanges.append("file removed: \(path)")
                case let (a?, b?) where a != b: fileChanges.append("file changed: \(path)")
                default: break
                }
            }
            changes += fileChanges.isEmpty ? ["context changed (file modes)"] : fileChanges
        }
        for name in Set(before.args.keys).union(after.args.keys).sorted() where before.args[name] != after.args[name] {
            let from = before.args[name].map { "'\($0)'" } ?? "unset"
            let to = after.args[name].map { "'\($0)'" } ?? "unset"
            changes.append("arg \(name): \(from) -> \(to)")
        }
        if before.bases != after.bases {
            changes.append("base changed: \(before.bases.joined(separator: ", ")) -> \(after.bases.joined(separator: ", "))")
        }
        if (before.urls ?? []) != (after.urls ?? []) {
            let old = Set(before.urls ?? []), new = Set(after.urls ?? [])
            let added = new.subtracting(old).sorted(), removed = old.subtracting(new).sorted()
            changes.append(added.isEmpty ? "ADD no longer reads \(removed.joined(separator: ", "))"
                                         : "URL content: \(added.joined(separator: ", "))")
        }
        if before.target != after.target { changes.append("target: \(before.target ?? "none") -> \(after.target ?? "none")") }
        if before.platform != after.platform { changes.append("platform: \(before.platform ?? "default") -> \(after.platform ?? "default")") }
        if before.labels != after.labels { changes.append("labels changed") }
        if before.contextMode != after.contextMode { changes.append("context: \(before.contextMode) -> \(after.contextMode)") }
        if before.version != after.version { changes.append("key version: \(before.version) -> \(after.version)") }
        return changes
    }
}

/// Resolves the NODES arguments of a command: an image name means all its nodes.
public enum NodeSelector {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var name: String
        public var suggestion: String?
        public var description: String {
            "no image or node named '\(name)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
        }
    }

    /// Indices of the selected nodes (all nodes when `names` is empty), in fleet order.
    public static func select(_ names: [String], in fleet: Fleet) throws(Error) -> [Int] {
        if names.isEmpty { return Array(fleet.nodes.indices) }
        var selected = Set<Int>()
        for name in names {
            let matches = fleet.nodes.indices.filter { fleet.nodes[$0].name == name || fleet.nodes[$0].image == name }
            guard !matches.isEmpty else {
                let candidates = fleet.nodes.map(\.name) + fleet.manifest.images.map(\.name)
                throw Error(name: name, suggestion: nearest(name, in: candidates))
            }
            selected.formUnion(matches)
        }
        return selected.sorted()
    }
}
