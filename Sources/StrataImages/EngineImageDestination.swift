import StrataArchive
import StrataCache
import StrataEngine
import StrataHash

/// The engine as a destination: `docker load` of a legacy archive built from the
/// source, then the tags. An engine that already has the image (same ID) is only
/// tagged.
///
/// The archive is the format every engine loads, Docker 20.10 included (moby
/// `image/tarexport/load.go`): `manifest.json` (`Config`, `RepoTags`, `Layers`),
/// the config as `<hex>.json`, each layer as `<hex>/layer.tar`. The layers are the
/// layout's gzip blobs as they are: `docker load` detects the compression and checks
/// each layer against the config's diff_ids.
///
/// `Engine.loadImages` sends a file, so the archive is packed into a temporary file
/// next to the cache (streamed by `TarWriter`, a chunk at a time) and removed after
/// the load.
public struct EngineImageDestination: ImageDestination {
    public let engine: any ImageTransferEngine
    /// References the image gets (`repository:tag`).
    public let tags: [String]
    /// Where the temporary archive goes: the cache folder.
    public let workDirectory: String

    public init(engine: any ImageTransferEngine, tags: [String], workDirectory: String) {
        self.engine = engine
        self.tags = tags
        self.workDirectory = workDirectory
    }

    public func write(from source: some ImageSource) async throws -> WrittenImage {
        let image = try source.image()
        _ = try await load(from: source)
        return WrittenImage(configDigest: image.configDigest, manifest: nil, layers: image.layers.compactMap(\.blob), layersWritten: [])
    }

    /// Loads the image unless the engine has it, tags it, and returns the engine's view of
    /// it. The classic store names an image by its config digest, and finds it by that
    /// before a load; the containerd store names it by the manifest digest it makes at
    /// load time, so the loaded image is found by what the engine reports loading.
    func load(from source: some ImageSource) async throws -> ImageInfo {
        let image = try source.image()
        let configDigest = image.configDigest.description
        var info = try await engine.inspectImage(configDigest)
        var loaded: [String] = []
        if info == nil {
            let archive = TemporaryFile.path(in: workDirectory, suffix: "-load.tar")
            defer { unlink(archive) }
            let tags = tags
            let workDirectory = workDirectory
            try await Blocking.run { try Self.pack(source, image: image, tags: tags, to: archive, spoolDirectory: workDirectory) }
            loaded = try await engine.loadImages(from: archive)
            info = try await engine.inspectImage(configDigest)
            for reference in loaded where info == nil {
                info = try await engine.inspectImage(reference)
            }
        }
        guard let info else { throw ImageTransfer.Error.notLoaded(imageID: configDigest, loaded: loaded) }
        for tag in tags where !info.repoTags.contains(tag) {
            try await engine.tagImage(info.id, as: tag)
        }
        return info
    }

    /// Writes the `docker load` archive of `image` to `path`. Layers the source has
    /// as files are packed from them; others are first spooled to temporary files.
    static func pack(_ source: some ImageSource, image: SourceImage, tags: [String], to path: String,
                     spoolDirectory: String) throws {
        var files: [Digest: (name: String, file: String)] = [:]
        var spooled: [String] = []
        defer { spooled.forEach { unlink($0) } }
        try source.forEachLayer { content in
            guard files[content.diffID] == nil else { return }
            let name = (content.blob.flatMap { Digest(parsing: $0.digest) } ?? content.diffID).hex
            if let file = content.file {
                files[content.diffID] = (name, file)
                return
            }
            let spool = TemporaryFile.path(in: spoolDirectory, suffix: "-layer.tar")
            spooled.append(spool)
            try spoolContent(content, to: spool)
            files[content.diffID] = (name, spool)
        }
        let layers = try image.layers.map { layer in
            guard let entry = files[layer.diffID] else { throw ImageTransfer.Error.missingBlob(layer.diffID) }
            return entry
        }
        let configName = image.configDigest.hex + ".json"
        let manifest = [DockerArchiveManifest(Config: configName, RepoTags: tags, Layers: layers.map { $0.name + "/layer.tar" })]
        var entries: [TarEntry] = [
            .file("manifest.json", contents: try CanonicalJSON.encode(manifest)),
            .file(configName, contents: image.config),
        ]
        var named: Set<String> = []
        for layer in layers where named.insert(layer.name).inserted {
            entries.append(.directory(layer.name))
            entries.append(TarEntry(path: layer.name + "/layer.tar", kind: .file, mode: 0o644,
                                    size: try fileSize(layer.file), sourcePath: layer.file))
        }
        entries.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }

        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ImageTransfer.Error.file(path: path, errno: errno) }
        defer { close(descriptor) }
        let writer = try TarWriter(sink: .fileDescriptor(descriptor))
        for entry in entries { try writer.append(entry) }
        try writer.finish()
    }

    private static func spoolContent(_ content: LayerContent, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ImageTransfer.Error.file(path: path, errno: errno) }
        defer { close(descriptor) }
        try content.read { chunk in
            var offset = 0
            while offset < chunk.count {
                let written = Glibc.write(descriptor, chunk.baseAddress! + offset, chunk.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ImageTransfer.Error.file(path: path, errno: errno)
                }
                offset += written
            }
        }
    }

    private static func fileSize(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ImageTransfer.Error.file(path: path, errno: errno) }
        return Int64(info.st_size)
    }
}

#if canImport(Glibc)
import Glibc
#endif
