import Foundation
import StrataCache
import StrataEngine
import StrataFleet
import StrataHash
import StrataImages
import StrataPlan
import StrataRegistry

/// What pushing one node did.
public struct PublishedNode: Sendable {
    public var node: String
    /// `host/path` of the repository.
    public var repository: String
    public var push: RegistryPush
}

/// Moves a fleet's images between the cache, the engine and a registry: pushes a
/// node's image under its tags and `strata-<key>` (recording the manifest digest
/// in the key record), looks keys up in the registry (the remote cache), and
/// pulls a remote hit by digest when the engine needs it.
public struct Publisher: Sendable {
    public let fleet: Fleet
    /// The repository prefix pushes go to (`--registry ?? STRATA_REGISTRY ??
    /// registry:`); nil uses the manifest's, as the engine's tags do.
    public let registry: String?
    public let access: RegistryAccess
    public let cache: CacheDirectory
    /// Concurrent blob uploads per image.
    public var jobs: Int
    /// What tag templates (`{sha}`, `{branch}`…) expand to, as for the engine's tags.
    public var tagValues = TagValues()

    public init(fleet: Fleet, registry: String?, access: RegistryAccess, cache: CacheDirectory, jobs: Int = 4) {
        self.fleet = fleet
        self.registry = registry.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.access = access
        self.cache = cache
        self.jobs = jobs
    }

    /// Where `node` is pushed: `<registry>/<image>`.
    public func repository(for node: BuildNode) throws -> RegistryReference {
        try RegistryReference(parsing: registry.map { "\($0)/\(node.image)" } ?? NodeBuilder.repository(fleet: fleet, node: node))
    }

    /// The tags a push gives `node`: its own and each of `extra`, templates expanded and
    /// with the variant suffix (exactly the engine's tags), and `strata-<key>` (the remote
    /// cache's record).
    public func tags(for node: BuildNode, key: String, extra: [String]) throws(TagTemplate.Error) -> [String] {
        var tags = try namedTags(for: node, extra: extra)
        if !tags.contains(NodeBuilder.keyTag(key)) { tags.append(NodeBuilder.keyTag(key)) }
        return tags
    }

    /// The node's own tags and `extra`, expanded, without `strata-<key>`.
    func namedTags(for node: BuildNode, extra: [String]) throws(TagTemplate.Error) -> [String] {
        var tags: [String] = []
        for tag in node.tags { tags.append(try TagTemplate.nodeTag(tag, of: node, values: tagValues)) }
        for tag in extra { tags.append(try TagTemplate.extraTag(tag, variant: node.variant, values: tagValues)) }
        var seen = Set<String>()
        return tags.filter { seen.insert($0).inserted }
    }

    /// The nodes of `node`'s image and variant when it is built for several platforms.
    public func platformSiblings(of node: BuildNode) -> [BuildNode]? {
        fleet.platformSiblings(of: node)
    }

    /// Pushes the image built for `entry`: from the cache's layout, exported from
    /// the engine first when the layout lacks it. A remote hit never pulled is
    /// tagged in the registry instead (its blobs are there already). A node with
    /// platform siblings is pushed under `strata-<key>` only: its image's tags name
    /// the image index `pushIndex` writes once every platform is there.
    public func push(_ entry: PlanEntry, engine: (any ContainerEngine)?, extraTags: [String]) async throws -> PublishedNode {
        let node = entry.node, key = entry.key.key
        let repository = try repository(for: node)
        let tags = platformSiblings(of: node) == nil ? try tags(for: node, key: key, extra: extraTags) : [NodeBuilder.keyTag(key)]
        if let hit = entry.remote, hit.repository == repository.name, try LayoutImageSource.forKey(key, in: cache) == nil {
            let report = try await RegistryCopy(access: access, jobs: jobs)
                .copy(repository.with(reference: hit.digest), to: repository, tags: tags)
            return PublishedNode(node: node.name, repository: repository.name, push: report)
        }
        let client = try access.client(for: repository.host)
        // Layers compressed by the export go up while they are compressed; the push then finds them there.
        let tee = RegistryLayerTee(client: client, repository: repository.repository)
        let image = try await layoutImage(entry, engine: engine, tee: tee)
        var destination = RegistryImageDestination(
            client: client, repository: repository.repository, tags: tags,
            mountFrom: try mountCandidates(entry.index, host: repository.host), jobs: jobs, staging: cache)
        destination.uploadedBefore = await tee.finish()
        let report = try await destination.push(image)
        if var record = try cache.record(forKey: key) {
            record.manifests[repository.name] = report.manifestDigest
            try cache.record(record)
        }
        return PublishedNode(node: node.name, repository: repository.name, push: report)
    }

    /// Lists the pushed platform images of one image (and variant) in an image index,
    /// put under the image's tags and `extraTags`; `members` must hold every platform.
    public func pushIndex(_ members: [(entry: PlanEntry, pushed: PublishedNode)], extraTags: [String]) async throws
        -> PublishedNode
    {
        guard let first = members.first?.entry.node, let siblings = platformSiblings(of: first) else {
            preconditionFailure("pushIndex takes the nodes of an image built for several platforms")
        }
        precondition(Set(members.map(\.entry.node.name)) == Set(siblings.map(\.name)), "every platform is pushed first")
        let repository = try repository(for: first)
        let tags = try namedTags(for: first, extra: extraTags)
        let report = try await RegistryIndexPush.push(
            members.map { RegistryIndexPush.Member(manifestDigest: $0.pushed.push.manifestDigest, platform: $0.entry.node.platform ?? "") },
            to: repository, tags: tags, access: access)
        return PublishedNode(node: first.imageNodeName, repository: repository.name, push: report)
    }

    /// The key's image in the cache's layout, exported from the engine when missing.
    func layoutImage(_ entry: PlanEntry, engine: (any ContainerEngine)?, tee: RegistryLayerTee? = nil) async throws
        -> LayoutImageSource
    {
        let key = entry.key.key
        if let image = try LayoutImageSource.forKey(key, in: cache) { return image }
        guard let images = engine as? any ImageTransferEngine else { throw ImageTransfer.Error.engineCannotTransfer }
        let refName = NodeBuilder.keyReference(fleet: fleet, node: entry.node, key: key)
        // The recorded image ID first: the engine's tags name the registry the build ran with,
        // which a push to another registry (`--registry`) does not share.
        var reference = refName
        let recorded = try cache.record(forKey: key)
        if let id = recorded?.imageID, (try? await images.inspectImage(id)) != nil { reference = id }
        let exported = try await exportImage(engine: images, reference: reference, cache: cache, key: key, refName: refName,
                                             tee: tee)
        if var record = recorded {
            record.manifests[LayoutImageSource.layoutManifestKey] = exported.manifestDigest.description
            try cache.record(record)
        }
        guard let image = try LayoutImageSource.forKey(key, in: cache) else { throw ImageTransfer.Error.missingBlob(exported.manifestDigest) }
        return image
    }

    /// Repositories (same host) of the node's ancestors, nearest first: a parent's
    /// repository holds every layer the parent shares with the child.
    func mountCandidates(_ index: Int, host: String) throws -> [String] {
        var order: [Int] = [], queue = fleet.graph.parents[index], seen = Set<Int>()
        while !queue.isEmpty {
            let next = queue.removeFirst()
            guard seen.insert(next).inserted else { continue }
            order.append(next)
            queue += fleet.graph.parents[next]
        }
        var repositories: [String] = []
        for ancestor in order {
            let repository = try repository(for: fleet.nodes[ancestor])
            if repository.host == host, !repositories.contains(repository.repository) { repositories.append(repository.repository) }
        }
        return repositories
    }

    /// Pulls a remote hit by digest into the cache's layout, loads it into the
    /// engine as `<repository>:strata-<key>`, and records the key locally (so the
    /// next plan is a local hit). Returns the image ID.
    public func pull(_ entry: PlanEntry, hit: RemoteHit, engine: any ContainerEngine) async throws -> String {
        guard let images = engine as? any ImageTransferEngine else { throw ImageTransfer.Error.engineCannotTransfer }
        let key = entry.key.key, node = entry.node
        let repository = try RegistryReference(parsing: hit.repository)
        let reference = NodeBuilder.keyReference(fleet: fleet, node: node, key: key)
        let source = RegistryImageSource(client: try access.client(for: repository.host), repository: repository.repository,
                                         reference: hit.digest)
        // The key's platform: the node's, else the engine's it was planned for.
        let platform = entry.key.inputs.platform ?? BuildPlatform.host.description
        let layout = try await source.pull(into: cache, annotations: [OCIDescriptor.refNameAnnotation: reference,
                                                                       OCIDescriptor.keyAnnotation: key],
                                           platform: platform)
        guard let imageID = try await restoreImage(cache: cache, key: key, engine: images, tags: [reference]) else {
            throw ImageTransfer.Error.missingBlob(try Digest(parsing: layout.manifest.digest).orThrowUnreadable())
        }
        let size = (try? await engine.inspectImage(imageID))?.size
        let record = KeyRecord(key: key, node: node.name, image: node.image, variant: node.variant, platform: node.platform,
                               created: Date(), imageID: imageID, size: size,
                               manifests: [hit.repository: hit.digest, LayoutImageSource.layoutManifestKey: layout.manifest.digest],
                               inputs: entry.key.inputs, files: entry.key.files)
        try cache.record(record)
        return imageID
    }
}

extension Publisher: RemoteKeyIndex {
    /// One `HEAD` on `<repository>:strata-<key>`. A registry that cannot be reached has
    /// no hit: the caller warns once (`RegistryAccess.unreachable`), not once per node.
    public func find(node: BuildNode, key: String) async throws -> RemoteHit? {
        let repository = try repository(for: node)
        let digest: String?
        do {
            digest = try await access.manifestDigest(repository.with(reference: NodeBuilder.keyTag(key)))
        } catch Registry.Error.unreachable {
            return nil
        }
        guard let digest else { return nil }
        return RemoteHit(repository: repository.name, digest: digest)
    }
}

extension Optional<Digest> {
    func orThrowUnreadable() throws -> Digest {
        guard let self else { throw ImageTransfer.Error.unreadableManifest(digest: "?", reason: "a digest is not sha256:<hex>") }
        return self
    }
}
