import StrataArchive
import StrataCache
import StrataHash

/// An image in the cache's OCI layout: a manifest listed in `index.json` (or named
/// by a key record), its config and its layer blobs, streamed from their files.
public struct LayoutImageSource: ImageSource {
    public let cache: CacheDirectory
    /// The image manifest's descriptor.
    public let manifest: OCIDescriptor

    public init(cache: CacheDirectory, manifest: OCIDescriptor) {
        self.cache = cache
        self.manifest = manifest
    }

    /// The image exported for `key`: the last `index.json` entry annotated with it,
    /// else the manifest its key record names as `manifests["layout"]`; nil when the
    /// layout has neither.
    public static func forKey(_ key: String, in cache: CacheDirectory) throws -> LayoutImageSource? {
        if let entry = try cache.manifests().last(where: { $0.annotations?[OCIDescriptor.keyAnnotation] == key }) {
            return LayoutImageSource(cache: cache, manifest: entry)
        }
        if let recorded = try cache.record(forKey: key)?.manifests[layoutManifestKey],
           let digest = Digest(parsing: recorded), let size = try cache.blobSize(digest) {
            return LayoutImageSource(cache: cache, manifest: OCIDescriptor(mediaType: OCIMediaType.imageManifest, digest: digest, size: size))
        }
        return nil
    }

    /// The name under which a key record's `manifests` holds the layout's manifest digest.
    public static let layoutManifestKey = "layout"

    /// The manifest, parsed.
    public func imageManifest() throws -> OCIImageManifest {
        let digest = try Digest(parsing: manifest.digest).orThrow()
        guard let bytes = try cache.readBlob(digest) else { throw ImageTransfer.Error.missingBlob(digest) }
        return try OCIImageManifest.decode(bytes, digest: manifest.digest)
    }

    public func image() throws -> SourceImage {
        let parsed = try imageManifest()
        let configDigest = try Digest(parsing: parsed.config.digest).orThrow()
        guard let config = try cache.readBlob(configDigest) else { throw ImageTransfer.Error.missingBlob(configDigest) }
        let diffIDs = try ImageConfig.diffIDs(config, digest: configDigest).diffIDs
        guard diffIDs.count == parsed.layers.count else {
            throw ImageTransfer.Error.unreadableManifest(
                digest: manifest.digest, reason: "\(parsed.layers.count) layers for \(diffIDs.count) diff_ids in the config")
        }
        for layer in parsed.layers where OCIImageManifest.compression(of: layer.mediaType) == nil {
            throw ImageTransfer.Error.unsupportedLayer(mediaType: layer.mediaType)
        }
        return SourceImage(config: config, configDigest: configDigest,
                           layers: zip(diffIDs, parsed.layers).map { SourceImage.Layer(diffID: $0, blob: $1) })
    }

    public func forEachLayer(_ body: (LayerContent) throws -> Void) throws {
        var seen: Set<Digest> = []
        for layer in try image().layers {
            guard let blob = layer.blob, seen.insert(layer.diffID).inserted else { continue }
            let digest = try Digest(parsing: blob.digest).orThrow()
            guard cache.hasBlob(digest) else { throw ImageTransfer.Error.missingBlob(digest) }
            let file = try FileChunks(path: cache.blobPath(digest))
            try body(LayerContent(diffID: layer.diffID, blob: blob, file: cache.blobPath(digest)) { try file.next() })
        }
    }
}

/// A file read in `Archive.chunkSize` chunks.
final class FileChunks {
    private let path: String
    private let descriptor: Int32
    private let buffer: UnsafeMutableRawBufferPointer

    init(path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImageTransfer.Error.file(path: path, errno: errno) }
        self.path = path
        self.descriptor = descriptor
        buffer = .allocate(byteCount: Archive.chunkSize, alignment: 16)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    func next() throws -> UnsafeRawBufferPointer? {
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count == 0 { return nil }
            if count > 0 { return UnsafeRawBufferPointer(rebasing: buffer[..<count]) }
            if errno != EINTR { throw ImageTransfer.Error.file(path: path, errno: errno) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
