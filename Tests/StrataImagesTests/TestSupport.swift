import Foundation
import StrataArchive
import StrataCache
import StrataEngine
import StrataHash
@testable import StrataImages
import Synchronization
import Testing

/// A temporary folder removed when the value is released, with a cache in `cache/`.
final class Workspace {
    let path: String
    let cache: CacheDirectory

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-images-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        cache = try CacheDirectory(path: path + "/cache")
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Another cache in this folder.
    func otherCache(_ name: String) throws -> CacheDirectory {
        try CacheDirectory(path: path + "/" + name)
    }

    /// The blob files of `cache`.
    func blobs(_ cache: CacheDirectory) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: cache.blobsDirectory))
    }
}

func sha(_ bytes: [UInt8]) throws -> Digest {
    try SHA256.hash(bytes)
}

/// The bytes of a deterministic tar of `entries`.
func tarBytes(_ entries: [TarEntry]) throws -> [UInt8] {
    let stream = try TarStream(entries: entries)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while case let count = try buffer.withUnsafeMutableBytes({ try stream.read(into: $0) }), count > 0 {
        bytes += buffer[..<count]
    }
    return bytes
}

func gzipBytes(_ bytes: [UInt8]) throws -> [UInt8] {
    var out: [UInt8] = []
    let writer = try GzipWriter(sink: .closure { out += $0 })
    try bytes.withUnsafeBytes { raw in try Result { () throws(Archive.Error) in try writer.write(raw) }.get() }
    try writer.finish()
    return out
}

func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    var offset = 0
    let reader = try GzipReader(source: .closure { buffer in
        let count = min(buffer.count, bytes.count - offset)
        bytes[offset..<offset + count].withUnsafeBytes { buffer.copyMemory(from: $0) }
        offset += count
        return count
    })
    var out: [UInt8] = []
    while let chunk = try reader.nextChunk() { out += chunk }
    return out
}

/// Writes a tar of `entries` (in this order) to `path`.
func writeTar(_ entries: [TarEntry], to path: String) throws {
    try Data(tarBytes(entries)).write(to: URL(fileURLWithPath: path))
}

/// A small image made in the test: layer tars, a config naming their diff_ids.
struct FixtureImage {
    var layers: [[UInt8]]
    var config: [UInt8]
    var configDigest: Digest
    var diffIDs: [Digest]

    /// An image whose layers each hold one file `name` with `content`.
    init(_ files: [(name: String, content: String)], label: String = "fixture") throws {
        layers = try files.map { try tarBytes([.directory("etc"), .file("etc/" + $0.name, contents: Array($0.content.utf8))]) }
        diffIDs = try layers.map(sha)
        let ids = diffIDs.map { "\"\($0)\"" }.joined(separator: ",")
        config = Array(#"{"architecture":"amd64","config":{"Labels":{"test":"\#(label)"}},"os":"linux","rootfs":{"diff_ids":[\#(ids)],"type":"layers"}}"#.utf8)
        configDigest = try sha(config)
    }

    var id: String { configDigest.description }

    /// `docker save` as Docker 20.10 writes it: `<id>/layer.tar` folders, `<config>.json`,
    /// `manifest.json`, `repositories`. A layer equal to an earlier one is a symlink to it.
    func legacyArchive(at path: String, repoTags: [String]) throws {
        var entries: [TarEntry] = [.file(configDigest.hex + ".json", contents: config)]
        var written: [Digest: String] = [:]
        var layerPaths: [String] = []
        for (index, layer) in layers.enumerated() {
            let folder = try sha(Array("v1 id \(index) \(diffIDs[index])".utf8)).hex
            entries.append(.directory(folder))
            entries.append(.file(folder + "/VERSION", contents: Array("1.0".utf8)))
            entries.append(.file(folder + "/json", contents: Array("{}".utf8)))
            if let earlier = written[diffIDs[index]] {
                entries.append(.symlink(folder + "/layer.tar", target: "../" + earlier))
            } else {
                entries.append(.file(folder + "/layer.tar", contents: layer))
                written[diffIDs[index]] = folder + "/layer.tar"
            }
            layerPaths.append(folder + "/layer.tar")
        }
        let manifest = [DockerArchiveManifest(Config: configDigest.hex + ".json", RepoTags: repoTags, Layers: layerPaths)]
        entries.append(.file("manifest.json", contents: Array(try JSONEncoder().encode(manifest))))
        entries.append(.file("repositories", contents: Array("{}".utf8)))
        try writeTar(entries.sorted { $0.path < $1.path }, to: path)
    }

    /// `docker save` as Docker 25+ writes it: an OCI layout (`blobs/sha256`, `index.json`,
    /// `oci-layout`), with or without the compatibility `manifest.json`. Layers in
    /// `gzipped` are stored gzip-compressed (the containerd image store).
    func ociArchive(at path: String, repoTags: [String], manifestJSON: Bool, gzipped: Set<Int> = []) throws {
        var blobs: [String: [UInt8]] = [config.hexDigest: config]
        var layerDescriptors: [OCIDescriptor] = []
        for (index, layer) in layers.enumerated() {
            let stored = gzipped.contains(index) ? try gzipBytes(layer) : layer
            let digest = try sha(stored)
            blobs[digest.hex] = stored
            layerDescriptors.append(OCIDescriptor(
                mediaType: gzipped.contains(index) ? OCIImageManifest.gzipLayerMediaType : OCIImageManifest.tarLayerMediaType,
                digest: digest, size: Int64(stored.count)))
        }
        let manifest = try OCIImageManifest(
            config: OCIDescriptor(mediaType: OCIImageManifest.configMediaType, digest: configDigest, size: Int64(config.count)),
            layers: layerDescriptors).encoded()
        let manifestDigest = try sha(manifest)
        blobs[manifestDigest.hex] = manifest
        let index = #"{"schemaVersion":2,"manifests":[{"mediaType":"\#(OCIMediaType.imageManifest)","digest":"\#(manifestDigest)","size":\#(manifest.count),"annotations":{"io.containerd.image.name":"\#(repoTags.first ?? "")"}}]}"#
        var entries: [TarEntry] = [.directory("blobs"), .directory("blobs/sha256")]
        entries += blobs.map { TarEntry.file("blobs/sha256/" + $0.key, contents: $0.value) }
        entries.append(.file("index.json", contents: Array(index.utf8)))
        entries.append(.file("oci-layout", contents: Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)))
        if manifestJSON {
            let item = DockerArchiveManifest(Config: "blobs/sha256/" + configDigest.hex, RepoTags: repoTags,
                                             Layers: layerDescriptors.map { "blobs/sha256/" + Digest(parsing: $0.digest)!.hex })
            entries.append(.file("manifest.json", contents: Array(try JSONEncoder().encode([item]))))
        }
        try writeTar(entries.sorted { $0.path < $1.path }, to: path)
    }
}

extension Array where Element == UInt8 {
    var hexDigest: String { (try? SHA256.hash(self).hex) ?? "" }
}

/// An engine holding fixture images: `saveImages` copies an image's archive, and
/// `loadImages` reads the archive strata sends the way Docker 20.10 does (legacy
/// `manifest.json`; each layer, gzip or not, checked against the config's diff_ids).
final class FakeTransferEngine: ImageTransferEngine {
    struct State {
        /// Image ID → (archive to hand out, tags).
        var images: [String: (archive: String, tags: [String])] = [:]
        var saves = 0
        var loads: [LoadedArchive] = []
    }

    /// What a load received.
    struct LoadedArchive {
        var entries: [String]
        var repoTags: [String]
        var layerBlobs: [Digest]
    }

    let state = Mutex(State())

    func add(_ image: FixtureImage, archive: String, tags: [String]) {
        state.withLock { $0.images[image.id] = (archive, tags) }
    }

    func remove(_ id: String) {
        _ = state.withLock { $0.images.removeValue(forKey: id) }
    }

    var saves: Int { state.withLock { $0.saves } }
    var loads: [LoadedArchive] { state.withLock { $0.loads } }

    private func id(of reference: String) -> String? {
        state.withLock { state in
            state.images[reference] != nil ? reference : state.images.first { $0.value.tags.contains(reference) }?.key
        }
    }

    func saveImages(_ references: [String], to path: String) async throws {
        guard let id = id(of: references[0]), let archive = state.withLock({ $0.images[id]?.archive }) else {
            throw Engine.Error.refused(request: "GET /images/get", status: 404, message: "no such image")
        }
        state.withLock { $0.saves += 1 }
        try FileManager.default.copyItem(atPath: archive, toPath: path)
    }

    func loadImages(from path: String) async throws -> [String] {
        let reader = try TarReader(path: path)
        var entries: [String] = []
        var layerBlobs: [Digest] = []
        while let entry = try reader.next() {
            entries.append(entry.path)
            if entry.path.hasSuffix("/layer.tar") { layerBlobs.append(try sha(try reader.readAll(limit: 64 << 20))) }
        }
        let source = try EngineImageSource(archive: path)
        let image = try source.image()
        var verified = 0
        try source.forEachLayer { content in
            var hasher = try SHA256Hasher()
            try content.read { try hasher.update($0) }
            let actual = try hasher.finalize()
            guard actual == content.diffID else { throw ImageTransfer.Error.diffIDMismatch(expected: content.diffID, actual: actual) }
            verified += 1
        }
        #expect(verified == Set(image.layers.map(\.diffID)).count)
        state.withLock {
            // A loaded image is not saved again in these tests.
            $0.images[image.configDigest.description] = ("", image.repoTags)
            $0.loads.append(LoadedArchive(entries: entries, repoTags: image.repoTags, layerBlobs: layerBlobs))
        }
        return image.repoTags.isEmpty ? [image.configDigest.description] : image.repoTags
    }

    func inspectImage(_ reference: String) async throws -> ImageInfo? {
        guard let id = id(of: reference), let tags = state.withLock({ $0.images[id]?.tags }) else { return nil }
        return ImageInfo(id: id, size: 1, repoTags: tags, labels: [:])
    }

    func tagImage(_ image: String, as reference: String) async throws {
        guard let id = id(of: image) else { throw Engine.Error.refused(request: "POST /images/tag", status: 404, message: "no such image") }
        state.withLock { state in
            for key in state.images.keys { state.images[key]?.tags.removeAll { $0 == reference } }
            state.images[id]?.tags.append(reference)
        }
    }
}
