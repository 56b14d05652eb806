import Foundation
import StrataFleet

/// What a node's build would send of its context, and what was left out and why
/// (`strata context NODE`).
public struct ContextReport: Sendable {
    public var node: BuildNode
    public var selection: ContextSelection
    /// Entries sent, sorted by path.
    public var sent: [ContextFile]
    /// Entries `.dockerignore` leaves out, with the rule that excludes each.
    public var ignored: [(file: ContextFile, rule: DockerIgnore.Rule?)]
    /// Entries kept by `.dockerignore` that no COPY/ADD reads.
    public var unselected: [ContextFile]
    /// The `.dockerignore` in effect, if any.
    public var ignoreFile: String?
    /// strata's cache directory, when it lies inside the context (never sent).
    public var omittedCache: String?

    /// `cacheDirectory`: strata's cache, left out of the context wherever it lies.
    /// `defaultPlatform`: the engine's, for a node that names none (`TARGETARCH` in sources).
    public init(fleet: Fleet, node index: Int, cacheDirectory: String? = nil, defaultPlatform: String? = nil) throws {
        let node = fleet.nodes[index]
        self.node = node
        let ignore = try DockerIgnore.load(contextDirectory: node.contextDirectory, dockerfilePath: node.dockerfilePath)
        ignoreFile = ignore?.file
        let kept = try walkContext(directory: node.contextDirectory, ignore: ignore, omitting: cacheDirectory)
        let root = (node.contextDirectory as NSString).standardizingPath + "/"
        omittedCache = cacheDirectory.flatMap { cache in
            (cache as NSString).standardizingPath.hasPrefix(root) && FileManager.default.fileExists(atPath: cache) ? cache : nil
        }
        selection = KeyComputer.selection(fleet: fleet, node: node, defaultPlatform: defaultPlatform)
        sent = KeyComputer.selected(kept, by: selection)
        let sentPaths = Set(sent.map(\.path))
        unselected = kept.filter { !sentPaths.contains($0.path) }
        if let ignore {
            let keptPaths = Set(kept.map(\.path))
            ignored = try walkContext(directory: node.contextDirectory, ignore: nil, omitting: cacheDirectory)
                .filter { !keptPaths.contains($0.path) }
                .map { ($0, ignore.excludingRule($0.path)) }
        } else {
            ignored = []
        }
    }

    /// Bytes of the regular files sent.
    public var sentBytes: Int64 { sent.filter { $0.kind == .file }.reduce(0) { $0 + $1.size } }
}
