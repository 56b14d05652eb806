import Foundation

/// The fleet resolved: every image's Dockerfile read and parsed, one build node per variant
/// combination and platform, parents inferred from FROM lines, and the graph over the nodes.
/// Loading never throws for a problem in the fleet: problems become findings, so that
/// `strata check` can report all of them at once.
public struct Fleet: Sendable {
    public var manifest: Manifest
    /// Registries whose `<registry>/<image>` references name fleet images: the `--registry` in
    /// effect first (it is where the fleet's images are tagged and pushed), then the manifest's.
    public var registries: [String]
    /// Nodes in manifest order (images as written, then each image's variants and platforms).
    public var nodes: [BuildNode]
    /// Parsed Dockerfiles by absolute path (variants of one image share one).
    public var dockerfiles: [String: Dockerfile]
    /// Problems found while resolving (missing files, parse errors, unknown variants, cycles…).
    public var findings: [Finding]
    public var graph: Graph
    /// Wave of each node (parallel to `nodes`), empty when the graph has a cycle.
    public var waves: [Int]

    /// The node with this name.
    public func node(named name: String) -> BuildNode? {
        graph.index[name].map { nodes[$0] }
    }

    /// The nodes of `node`'s image and variant when it is built for several platforms
    /// (`platforms:`), in fleet order; nil for an image of one platform.
    public func platformSiblings(of node: BuildNode) -> [BuildNode]? {
        guard node.platform != nil else { return nil }
        let siblings = nodes.filter { $0.image == node.image && $0.variant == node.variant && $0.platform != nil }
        return siblings.count > 1 ? siblings : nil
    }

    /// The image spec of a node.
    public func image(named name: String) -> ImageSpec? {
        manifest.images.first { $0.name == name }
    }

    /// A path relative to the manifest's folder, as findings name files.
    public func displayPath(_ absolute: String) -> String {
        relativePath(absolute, to: manifest.directory)
    }

    /// True when a finding of severity error was recorded while loading.
    public var hasErrors: Bool { findings.contains { $0.severity == .error } }

    /// Resolves `manifest`. `registry` is the `--registry` in effect, if any.
    public static func load(_ manifest: Manifest, registry: String? = nil) -> Fleet {
        var resolver = FleetResolver(manifest: manifest, registryOverride: registry)
        return resolver.resolve()
    }

    /// Loads the manifest at `path` and resolves it. `platform` (`build --platform`) is the
    /// platform of every image that names none (`platforms:` of its own, its variant's or the
    /// defaults'): such an image then gets a key of its own for that platform.
    public static func load(path: String, registry: String? = nil, platform: String? = nil) throws(Manifest.Error) -> Fleet {
        var manifest = try ManifestLoader.load(path: path)
        if let platform, manifest.defaults.platforms == nil { manifest.defaults.platforms = [platform] }
        return load(manifest, registry: registry)
    }
}
