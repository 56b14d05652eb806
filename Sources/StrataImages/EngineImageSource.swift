import Foundation
import StrataArchive
import StrataCache
import StrataHash

/// An image as the engine hands it out: a `docker save` archive on disk, read with
/// `TarReader` in streaming passes (never whole in memory).
///
/// Both formats are read (DESIGN.md, "Talking to the engine"):
/// - legacy (Docker before 25): `manifest.json` with `Config` = `<id>.json` and
///   `Layers` = `<id>/layer.tar` uncompressed; a layer shared by two images of one
///   save is a symlink to the other's `layer.tar`;
/// - OCI (Docker 25 on): `index.json`, `oci-layout`, `blobs/sha256/<hex>`, plus a
///   `manifest.json` whose paths name the blobs. Without `manifest.json` the image
///   is found through `index.json`. Layers may then be gzip; they are decompressed
///   on the fly, and a zstd layer is refused.
public final class EngineImageSource: ImageSource {
    /// The `docker save` archive.
    public let archive: String
    private let described: SourceImage
    /// The digests `index.json` leads through to the image (an index, its manifest):
    /// on the containerd image store one of them is the engine's image ID.
    public let manifestDigests: Set<String>
    /// The archive entry holding each layer (links resolved), bottom first.
    private let layerEntries: [String]
    private let removeArchive: Bool

    /// Reads the description of the image in `archive` (the first image of its
    /// `manifest.json`). With `removeArchive`, the file is deleted when the source
    /// is released.
    public init(archive: String, removeArchive: Bool = false) throws {
        self.archive = archive
        self.removeArchive = removeArchive
        let listing = try ArchiveListing(archive: archive)
        let (configPath, layerPaths, repoTags) = try listing.imagePaths()
        let config = try listing.contents(of: configPath)
        let configDigest = try SHA256.hash(config)
        let diffIDs = try ImageConfig.diffIDs(config, digest: configDigest).diffIDs
        guard diffIDs.count == layerPaths.count else {
            throw ImageTransfer.Error.unreadableArchive(
                path: archive, reason: "the manifest lists \(layerPaths.count) layers, the config \(diffIDs.count) diff_ids")
        }
        layerEntries = try layerPaths.map { try listing.resolve($0) }
        manifestDigests = try listing.indexDigests()
        described = SourceImage(config: config, configDigest: configDigest,
                                layers: diffIDs.map { SourceImage.Layer(diffID: $0) }, repoTags: repoTags)
    }

    deinit {
        if removeArchive { unlink(archive) }
    }

    /// `docker save` of `reference` into a temporary file in `directory` (the cache
    /// folder, so the export's disk use stays where the cache is), removed when the
    /// source is released.
    public static func save(engine: some ImageTransferEngine, reference: String, directory: String) async throws -> EngineImageSource {
        let path = TemporaryFile.path(in: directory, suffix: "-save.tar")
        do {
            try await engine.saveImages([reference], to: path)
            return try await Blocking.run { try EngineImageSource(archive: path, removeArchive: true) }
        } catch {
            unlink(path)
            throw error
        }
    }

    public func image() throws -> SourceImage {
        described
    }

    public func forEachLayer(_ body: (LayerContent) throws -> Void) throws {
        var wanted: [String: Digest] = [:]
        for (path, layer) in zip(layerEntries, described.layers) where wanted[path] == nil {
            wanted[path] = layer.diffID
        }
        var yielded: Set<Digest> = []
        let reader = try TarReader(path: archive)
        while !wanted.isEmpty, let entry = try reader.next() {
            let path = ArchiveListing.normalized(entry.path)
            guard entry.kind == .file, let diffID = wanted.removeValue(forKey: path),
                  yielded.insert(diffID).inserted else { continue }
            try body(try Self.content(of: reader, diffID: diffID, path: path))
        }
        if let missing = wanted.keys.sorted().first {
            throw ImageTransfer.Error.missingEntry(path: missing, archive: archive)
        }
    }

    /// The uncompressed bytes of the current entry: as stored, or through
    /// `GzipReader` when they start with the gzip magic (Docker 25+ with the
    /// containerd image store keeps layers compressed).
    private static func content(of reader: TarReader, diffID: Digest, path: String) throws -> LayerContent {
        var first = try reader.nextChunk()
        let magic = first.map { Array($0.prefix(4)) } ?? []
        if magic.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) {
            throw ImageTransfer.Error.unsupportedLayer(mediaType: "zstd (\(path))")
        }
        guard magic.starts(with: [0x1F, 0x8B]) else {
            return LayerContent(diffID: diffID, blob: nil, file: nil) {
                if let chunk = first {
                    first = nil
                    return chunk
                }
                return try reader.nextChunk()
            }
        }
        var pending = first ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let gzip = try GzipReader(source: .closure { buffer in
            if pending.isEmpty {
                guard let next = try reader.nextChunk() else { return 0 }
                pending = next
            }
            let count = min(buffer.count, pending.count)
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: pending[..<count]))
            pending = UnsafeRawBufferPointer(rebasing: pending[count...])
            return count
        })
        return LayerContent(diffID: diffID, blob: nil, file: nil) { try gzip.nextChunk() }
    }
}

/// The entries of a `docker save` archive (headers only; data is skipped with
/// seeks) and its small JSON files.
struct ArchiveListing {
    struct Entry {
        var kind: TarReader.Entry.Kind
        var linkTarget: String?
    }

    let archive: String
    var entries: [String: Entry] = [:]
    var manifestJSON: [UInt8]?
    var indexJSON: [UInt8]?

    init(archive: String) throws {
        self.archive = archive
        let reader = try TarReader(path: archive)
        while let entry = try reader.next() {
            let path = Self.normalized(entry.path)
            entries[path] = Entry(kind: entry.kind, linkTarget: entry.linkTarget)
            if path == "manifest.json" { manifestJSON = try reader.readAll() }
            if path == "index.json" { indexJSON = try reader.readAll() }
        }
    }

    /// The config path, layer paths and tags of the archive's (first) image.
    func imagePaths() throws -> (config: String, layers: [String], repoTags: [String]) {
        if let manifestJSON {
            let items: [DockerArchiveManifest]
            do {
                items = try JSONDecoder().decode([DockerArchiveManifest].self, from: Data(manifestJSON))
            } catch {
                throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "manifest.json: \(error)")
            }
            guard let item = items.first else {
                throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "manifest.json lists no image")
            }
            return (item.Config, item.Layers, item.RepoTags ?? [])
        }
        guard let indexJSON else {
            throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "it has neither manifest.json nor index.json")
        }
        // OCI image-layout spec: index.json → (nested indexes →) an image manifest.
        var manifests = try decodeIndex(indexJSON, name: "index.json").manifests
        var tags: [String] = []
        for _ in 0..<8 {
            guard let descriptor = manifests.first(where: { entries[blobPath($0.digest)] != nil }) else { break }
            if let name = descriptor.annotations?["io.containerd.image.name"] { tags.append(name) }
            let bytes = try contents(of: blobPath(descriptor.digest))
            if descriptor.mediaType == OCIMediaType.imageIndex || descriptor.mediaType == OCIMediaType.dockerManifestList {
                // A multi-platform index: the first platform the archive holds.
                manifests = try decodeIndex(bytes, name: descriptor.digest).manifests
                continue
            }
            let manifest = try OCIImageManifest.decode(bytes, digest: descriptor.digest)
            for layer in manifest.layers where OCIImageManifest.compression(of: layer.mediaType) == nil {
                throw ImageTransfer.Error.unsupportedLayer(mediaType: layer.mediaType)
            }
            return (blobPath(manifest.config.digest), manifest.layers.map { blobPath($0.digest) }, tags)
        }
        throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "index.json leads to no image manifest in the archive")
    }

    /// Every digest `index.json` names, nested indexes the archive holds followed; empty for
    /// a legacy archive.
    func indexDigests() throws -> Set<String> {
        guard let indexJSON else { return [] }
        var found: Set<String> = []
        var pending = try decodeIndex(indexJSON, name: "index.json").manifests
        while let descriptor = pending.popLast() {
            guard found.insert(descriptor.digest).inserted else { continue }
            let isIndex = descriptor.mediaType == OCIMediaType.imageIndex || descriptor.mediaType == OCIMediaType.dockerManifestList
            if isIndex, entries[blobPath(descriptor.digest)] != nil {
                pending += try decodeIndex(try contents(of: blobPath(descriptor.digest)), name: descriptor.digest).manifests
            }
        }
        return found
    }

    /// The whole content of an entry (links followed), for JSON files.
    func contents(of path: String) throws -> [UInt8] {
        try TarReader.contents(of: resolve(path), in: .path(archive))
    }

    /// The regular file `path` leads to, through symlinks (relative to the link's
    /// folder) and hard links (archive paths).
    func resolve(_ path: String) throws -> String {
        var current = Self.normalized(path)
        for _ in 0..<16 {
            guard let entry = entries[current] else { throw ImageTransfer.Error.missingEntry(path: current, archive: archive) }
            switch entry.kind {
            case .file:
                return current
            case .symlink:
                let folder = current.split(separator: "/").dropLast().joined(separator: "/")
                current = Self.joined(folder, entry.linkTarget ?? "")
            case .hardlink:
                current = Self.normalized(entry.linkTarget ?? "")
            default:
                throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "\(current) is not a file")
            }
        }
        throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "too many links from \(path)")
    }

    private func blobPath(_ digest: String) -> String {
        "blobs/" + digest.replacingOccurrences(of: ":", with: "/")
    }

    private func decodeIndex(_ bytes: [UInt8], name: String) throws -> OCIIndex {
        do {
            return try JSONDecoder().decode(OCIIndex.self, from: Data(bytes))
        } catch {
            throw ImageTransfer.Error.unreadableArchive(path: archive, reason: "\(name): \(error)")
        }
    }

    /// `path` relative to `folder`, with `.` and `..` applied; never above the root.
    static func joined(_ folder: String, _ path: String) -> String {
        var parts = path.hasPrefix("/") ? [] : folder.split(separator: "/").map(String.init)
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast() } else { parts.append(String(part)) }
        }
        return parts.joined(separator: "/")
    }

    static func normalized(_ path: String) -> String {
        joined("", path)
    }
}
