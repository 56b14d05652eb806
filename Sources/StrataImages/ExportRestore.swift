import StrataCache
import StrataHash

/// What `exportImage` stored in the cache's layout.
public struct ExportedImage: Sendable, Equatable {
    /// The OCI image manifest's digest: the image as the layout (and a push) names it.
    public var manifestDigest: Digest
    /// The config's digest (the engine's image ID on the classic store; on the containerd
    /// image store the ID is the engine's manifest digest).
    public var configDigest: Digest
    /// The gzip layer blobs, bottom first.
    public var layerDigests: [Digest]
    /// Bytes of the manifest, the config and the layer blobs: what a push uploads
    /// at most.
    public var size: Int64
    /// diff_ids of the layers this export compressed; empty when the cache held
    /// them all already.
    public var layersWritten: [Digest]
}

/// Exports the engine's image `reference` into the cache's OCI layout and lists it
/// in `index.json` as `refName`, annotated with `key` (so `gc` drops it with the
/// key's record, and `restoreImage` finds it).
///
/// Holds the cache lock shared, so `gc` removes nothing mid-export. Layers the
/// layout already holds (by diff_id) are neither compressed nor stored again, and an
/// image exported before (same ID) is only listed again, without `docker save`.
/// Layers are streamed: `docker save` to a temporary file in the cache folder, then
/// each layer hashed and compressed in one pass; with `tee`, the compressed bytes also
/// go to a registry as they are made.
public func exportImage(
    engine: some ImageTransferEngine, reference: String, cache: CacheDirectory, key: String, refName: String,
    tee: RegistryLayerTee? = nil
) async throws -> ExportedImage {
    let held = try await Blocking.run { try cache.lock(.shared, wait: true) }
    defer { held.release() }
    guard let info = try await engine.inspectImage(reference) else { throw ImageTransfer.Error.noSuchImage(reference: reference) }
    let destination = LayoutImageDestination(
        cache: cache, annotations: [OCIDescriptor.refNameAnnotation: refName, OCIDescriptor.keyAnnotation: key], tee: tee)
    let written: WrittenImage
    if let previous = try previousExport(of: info.id, in: cache) {
        written = try await destination.write(from: previous)
    } else {
        // By ID: a tag can move between the inspect and the save.
        let source = try await EngineImageSource.save(engine: engine, reference: info.id, directory: cache.path)
        // What the engine calls the image must be what was saved: the config digest on the
        // classic store, a manifest (or index) digest of the archive on the containerd store;
        // an engine before API 1.48 does not say which store it has, so either will do.
        let configDigest = try source.image().configDigest
        let savedByID = switch info.store {
        case .classic: configDigest.description == info.id
        case .containerd: source.manifestDigests.contains(info.id)
        case nil: configDigest.description == info.id || source.manifestDigests.contains(info.id)
        }
        guard savedByID else {
            throw ImageTransfer.Error.imageIDMismatch(reference: reference, engine: info.id, config: configDigest)
        }
        written = try await destination.write(from: source)
    }
    let manifest = try written.manifest.orThrowMissing()
    let configSize = try await Blocking.run { try cache.blobSize(written.configDigest) ?? 0 }
    return ExportedImage(
        manifestDigest: try Digest(parsing: manifest.digest).orThrow(),
        configDigest: written.configDigest,
        layerDigests: try written.layers.map { try Digest(parsing: $0.digest).orThrow() },
        size: manifest.size + configSize + written.layers.reduce(0) { $0 + $1.size },
        layersWritten: written.layersWritten)
}

/// Loads the image exported for `key` from the cache's layout into the engine and
/// gives it `tags`. Returns the engine's image ID for it (the config digest on the
/// classic store, the manifest digest on the containerd store), or nil when the layout
/// has no image for the key. An engine that still has the image is only tagged.
public func restoreImage(
    cache: CacheDirectory, key: String, engine: some ImageTransferEngine, tags: [String]
) async throws -> String? {
    let held = try await Blocking.run { try cache.lock(.shared, wait: true) }
    defer { held.release() }
    guard let source = try LayoutImageSource.forKey(key, in: cache) else { return nil }
    let destination = EngineImageDestination(engine: engine, tags: tags, workDirectory: cache.path)
    return try await destination.load(from: source).id
}

/// An OCI manifest in the layout whose config is `imageID` and whose gzip layers
/// are all present: the image was exported before.
func previousExport(of imageID: String, in cache: CacheDirectory) throws -> LayoutImageSource? {
    for entry in try cache.manifests().reversed() where entry.mediaType == OCIMediaType.imageManifest {
        let source = LayoutImageSource(cache: cache, manifest: entry)
        guard let manifest = try? source.imageManifest(), manifest.config.digest == imageID,
              manifest.layers.allSatisfy({ layer in
                  OCIImageManifest.compression(of: layer.mediaType) == .gzip
                      && Digest(parsing: layer.digest).map(cache.hasBlob) == true
              }) else { continue }
        return source
    }
    return nil
}

extension Optional<OCIDescriptor> {
    func orThrowMissing() throws -> OCIDescriptor {
        guard let self else { throw ImageTransfer.Error.unreadableManifest(digest: "?", reason: "the layout wrote no manifest") }
        return self
    }
}
