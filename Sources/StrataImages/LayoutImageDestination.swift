import StrataArchive
import StrataCache
import StrataHash

/// The cache's OCI image layout as a destination: the config stored as is (its
/// digest stays the image ID), each layer gzip-compressed deterministically and
/// stored once (`DiffIDMap`), an OCI image manifest in canonical JSON, and an
/// `index.json` entry carrying `annotations`.
public struct LayoutImageDestination: ImageDestination, Sendable {
    /// The zlib level layers are compressed at. Part of what makes a layer's blob
    /// digest stable: changing it changes every digest a later export writes.
    public static let compressionLevel = 6

    public let cache: CacheDirectory
    /// The `index.json` entry's annotations (`org.opencontainers.image.ref.name`,
    /// `dev.strata.key`); nil stores the blobs without listing the image.
    public var annotations: [String: String]?

    /// Where freshly compressed layers are also sent as they are compressed (a push).
    public var tee: RegistryLayerTee?

    public init(cache: CacheDirectory, annotations: [String: String]?, tee: RegistryLayerTee? = nil) {
        self.cache = cache
        self.annotations = annotations
        self.tee = tee
    }

    public func write(from source: some ImageSource) async throws -> WrittenImage {
        try await Blocking.run { try self.writeNow(from: source) }
    }

    /// `write(from:)` on the calling thread.
    func writeNow(from source: some ImageSource) throws -> WrittenImage {
        let image = try source.image()
        let (config, _) = try ImageConfig.diffIDs(image.config, digest: image.configDigest)
        if !cache.hasBlob(image.configDigest) {
            _ = try cache.writeBlob(image.config, expected: image.configDigest)
        }
        let map = DiffIDMap(cache: cache)
        var stored: [Digest: OCIDescriptor] = [:]
        for layer in image.layers where stored[layer.diffID] == nil {
            if let blob = layer.blob, let digest = Digest(parsing: blob.digest), cache.hasBlob(digest) {
                stored[layer.diffID] = blob
            } else if let blob = try map.blob(for: layer.diffID) {
                stored[layer.diffID] = blob
            }
        }
        var written: [Digest] = []
        if image.layers.contains(where: { stored[$0.diffID] == nil }) {
            try source.forEachLayer { content in
                guard stored[content.diffID] == nil else { return }
                let blob = try content.blob.map { try copy(content, as: $0) } ?? compress(content)
                try map.record(content.diffID, blob: try Digest(parsing: blob.digest).orThrow())
                stored[content.diffID] = blob
                written.append(content.diffID)
            }
        }
        let layers = try image.layers.map { layer in
            guard let blob = stored[layer.diffID] else { throw ImageTransfer.Error.missingBlob(layer.diffID) }
            return blob
        }
        let manifest = OCIImageManifest(
            config: OCIDescriptor(mediaType: OCIImageManifest.configMediaType, digest: image.configDigest,
                                  size: Int64(image.config.count)),
            layers: layers)
        let (digest, size) = try cache.writeBlob(try manifest.encoded())
        let descriptor = OCIDescriptor(mediaType: OCIMediaType.imageManifest, digest: digest, size: size,
                                       annotations: annotations, platform: config.platform)
        if annotations != nil { try cache.addManifest(descriptor) }
        return WrittenImage(configDigest: image.configDigest, manifest: descriptor, layers: layers, layersWritten: written)
    }

    /// Compresses an uncompressed layer into a new blob on every core (1 MiB gzip
    /// members), hashing the uncompressed bytes (the diff_id, checked against the config)
    /// and the compressed ones (the blob digest, by `BlobWriter`) in the same pass.
    private func compress(_ content: LayerContent) throws -> OCIDescriptor {
        let writer = try cache.blobWriter()
        var diffHasher = try SHA256Hasher()
        let stream = tee?.begin()
        var digest: Digest?
        // Always ended: an upload waiting for bytes that never come would wait forever.
        defer { stream?.finish(digest: digest) }
        let gzip = ParallelGzipWriter(level: Self.compressionLevel) { bytes in
            try writer.write(bytes)
            stream?.write(bytes)
        }
        try content.read { chunk in
            try diffHasher.update(chunk)
            try gzip.write(chunk)
        }
        try gzip.finish()
        let diffID = try diffHasher.finalize()
        guard diffID == content.diffID else { throw ImageTransfer.Error.diffIDMismatch(expected: content.diffID, actual: diffID) }
        let (committed, size) = try writer.commit()
        digest = committed
        return OCIDescriptor(mediaType: OCIImageManifest.gzipLayerMediaType, digest: committed, size: size)
    }

    /// Stores a blob the source already holds in its final form, checked against
    /// its digest.
    private func copy(_ content: LayerContent, as blob: OCIDescriptor) throws -> OCIDescriptor {
        guard OCIImageManifest.compression(of: blob.mediaType) == .gzip else {
            throw ImageTransfer.Error.unsupportedLayer(mediaType: blob.mediaType)
        }
        let expected = try Digest(parsing: blob.digest).orThrow()
        let (digest, size) = try cache.writeBlob(expected: expected) { writer in try content.read { try writer.write($0) } }
        return OCIDescriptor(mediaType: OCIImageManifest.gzipLayerMediaType, digest: digest, size: size)
    }
}

extension Optional<Digest> {
    func orThrow() throws -> Digest {
        guard let self else { throw ImageTransfer.Error.unreadableManifest(digest: "?", reason: "a digest is not sha256:<hex>") }
        return self
    }
}
