import Foundation
import StrataFleet
import StrataPlan
import Testing

/// A copy of the demo fleet (`images/` at the repository root) in a temporary folder, with
/// one extra image, `bound`, whose `RUN --mount=type=bind` reads its whole context. Tests
/// change files of the copy and compare keys; the folder goes away with the value.
final class FleetCopy {
    /// Holds `fleet/` (the manifest's folder) and `cache/`.
    let root: String
    var fleetDirectory: String { root + "/fleet" }
    var manifestPath: String { fleetDirectory + "/strata.yaml" }
    var cacheDirectory: String { root + "/cache" }

    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/strata-keys-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.repositoryRoot + "/images", toPath: fleetDirectory)
        try write("services/bound/Dockerfile", """
            FROM base-python
            RUN --mount=type=bind,target=/src cat /src/a.txt > /srv/a.txt
            """)
        try write("services/bound/a.txt", "a\n")
        try write("services/bound/notes/b.md", "b\n")
        try write("services/bound/.dockerignore", "*.log\n")
        try write("services/bound/debug.log", "log\n")
        try editManifest("discover:\n", "  bound:\n    context: services/bound\ndiscover:\n")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func path(_ relative: String) -> String { fleetDirectory + "/" + relative }

    func write(_ relative: String, _ text: String) throws {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }

    func append(_ relative: String, _ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path(relative)))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    /// Replaces `old` (which must occur) in the manifest.
    func editManifest(_ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: manifestPath, encoding: .utf8)
        #expect(text.contains(old), "the manifest has no '\(old)'")
        try Data(text.replacingOccurrences(of: old, with: new).utf8).write(to: URL(fileURLWithPath: manifestPath))
    }

    func setModificationDate(_ relative: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path(relative))
    }

    /// Loads the fleet, which must have no errors.
    func fleet() throws -> Fleet {
        let fleet = try Fleet.load(path: manifestPath)
        let errors = fleet.findings.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.description))")
        return fleet
    }

    /// Every node's key, by node name.
    func keys() throws -> [String: NodeKey] {
        let fleet = try fleet()
        return try KeyComputer(fleet: fleet, fileIndexDirectory: cacheDirectory + "/files")
            .keys(for: Array(fleet.nodes.indices))
    }

    /// Node name → key hex.
    func keyHexes() throws -> [String: String] {
        try keys().mapValues(\.key)
    }

    /// The nodes of `images` and all their descendants.
    func nodesBelow(images: [String]) throws -> Set<String> {
        let fleet = try fleet()
        let roots = fleet.nodes.indices.filter { images.contains(fleet.nodes[$0].image) }
        #expect(roots.count >= images.count, "unknown image among \(images)")
        return Set(fleet.graph.descendantsIncluding(roots).map { fleet.nodes[$0].name })
    }
}

/// Names of the nodes whose key differs between two key sets (over the union of nodes).
func changedNodes(_ before: [String: String], _ after: [String: String]) -> Set<String> {
    Set(Set(before.keys).union(after.keys).filter { before[$0] != after[$0] })
}
