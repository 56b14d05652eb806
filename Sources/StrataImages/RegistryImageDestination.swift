import StrataCache
import StrataHash
import StrataRegistry

/// What one push (or copy) of an image did.
public struct RegistryPush: Sendable, Equatable {
    /// The manifest's digest, the same under every tag.
    public var manifestDigest: String
    /// The tags the manifest was put under.
    public var tags: [String]
    /// Blobs sent byte for byte.
    public var uploaded = 0
    /// Blobs mounted from another repository of the same registry.
    public var mounted = 0
    /// Blobs the repository had already (`HEAD` answered 200).
    public var skipped = 0
    public var bytesUploaded: Int64 = 0

    public init(manifestDigest: String, tags: [String]) {
        self.manifestDigest = manifestDigest
        self.tags = tags
    }

    mutating func count(_ result: BlobPushResult, size: Int64) {
        switch result {
        case .alreadyPresent: skipped += 1
        case .mounted: mounted += 1
        case .uploaded:
            uploaded += 1
            bytesUploaded += size
        }
    }
}

/// A registry repository as an image destination (distribution spec "Push"): every
/// blob first (config and layers, `HEAD` before upload, a cross-repository mount
/// from `mountFrom` — the parent images' repositories, which hold the shared
/// layers — before sending bytes), at most `jobs` at once; then the manifest,
/// byte for byte as the cache's layout holds it, under each tag. The digest a
/// registry reports is therefore the layout's.
public struct RegistryImageDestination: ImageDestination, Sendable {
    public let client: RegistryClient
    /// The repository path inside the registry (`team/web`).
    public let repository: String
    public var tags: [String]
    /// Repositories of the same registry to mount blobs from, tried in order.
    public var mountFrom: [String]
    /// Concurrent blob uploads at most.
    public var jobs: Int
    /// Where a source that is not the cache's layout (the engine) is compressed
    /// into blobs first.
    public let staging: CacheDirectory
    /// Blobs this push sent already, while the export compressed them
    /// (`RegistryLayerTee`): counted as uploaded when the registry has them.
    public var uploadedBefore: Set<String> = []

    public init(client: RegistryClient, repository: String, tags: [String], mountFrom: [String] = [], jobs: Int = 4,
                staging: CacheDirectory) {
        self.client = client
        self.repository = repository
        self.tags = tags
        self.mountFrom = mountFrom
        self.jobs = jobs
        self.staging = staging
    }

    public func write(from source: some ImageSource) async throws -> WrittenImage {
        let layout: LayoutImageSource
        if let already = source as? LayoutImageSource {
            layout = already
        } else {
            let written = try await LayoutImageDestination(cache: staging, annotations: nil).write(from: source)
            layout = LayoutImageSource(cache: staging, manifest: try written.manifest.orThrowMissing())
        }
        _ = try await push(layout)
        let manifest = try layout.imageManifest()
        return WrittenImage(configDigest: try Digest(parsing: manifest.config.digest).orThrow(), manifest: layout.manifest,
                            layers: manifest.layers, layersWritten: [])
    }

    /// Pushes an image of the cache's layout, holding the cache lock shared so that
    /// `gc` removes none of its blobs meanwhile.
    public func push(_ image: LayoutImageSource) async throws -> RegistryPush {
        let cache = image.cache
        let held = try await Blocking.run { try cache.lock(.shared, wait: true) }
        defer { held.release() }
        let manifestDigest = try Digest(parsing: image.manifest.digest).orThrow()
        guard let bytes = try cache.readBlob(manifestDigest) else { throw ImageTransfer.Error.missingBlob(manifestDigest) }
        let manifest = try OCIImageManifest.decode(bytes, digest: image.manifest.digest)
        var blobs: [OCIDescriptor] = []
        for blob in [manifest.config] + manifest.layers where !blobs.contains(where: { $0.digest == blob.digest }) {
            blobs.append(blob)
        }
        let client = self.client, repository = self.repository, mountFrom = self.mountFrom
        let uploadedBefore = self.uploadedBefore
        let results = try await concurrentMap(blobs, limit: jobs) { blob -> (BlobPushResult, Int64) in
            let digest = try Digest(parsing: blob.digest).orThrow()
            guard cache.hasBlob(digest) else { throw ImageTransfer.Error.missingBlob(digest) }
            let result = try await client.pushBlob(repository: repository, digest: digest, size: blob.size,
                                                   from: .file(cache.blobPath(digest)), mountFrom: mountFrom)
            return (result == .alreadyPresent && uploadedBefore.contains(blob.digest) ? .uploaded : result, blob.size)
        }
        var report = RegistryPush(manifestDigest: manifestDigest.description, tags: tags)
        for (result, size) in results { report.count(result, size: size) }
        let mediaType = manifest.mediaType ?? MediaType.ociManifest
        for tag in tags {
            try await client.putManifest(repository: repository, reference: tag, bytes: bytes, mediaType: mediaType)
        }
        return report
    }
}
