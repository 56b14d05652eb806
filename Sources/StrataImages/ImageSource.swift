import StrataCache
import StrataHash

/// Where an image can be read from: the engine (`docker save`), the cache's OCI
/// layout, later a registry. A destination asks for the description first, then
/// for the layers it does not hold yet.
public protocol ImageSource: Sendable {
    /// The config (its exact bytes, whose digest is the image ID) and the layers in
    /// order. Cheap: no layer is read.
    func image() throws -> SourceImage

    /// Calls `body` once per distinct diff_id, in the order the source reads best
    /// (a `docker save` tar is read front to back, once). `body` reads the layer's
    /// bytes or leaves them: an unread layer costs nothing.
    func forEachLayer(_ body: (LayerContent) throws -> Void) throws
}

/// Where an image can be written to: the cache's OCI layout, the engine
/// (`docker load`), later a registry.
public protocol ImageDestination {
    /// Stores the image `source` describes, reading only the layers it lacks.
    func write(from source: some ImageSource) async throws -> WrittenImage
}

/// An image as a source describes it.
public struct SourceImage: Sendable, Equatable {
    /// One layer: what it is uncompressed, and how it is stored when the source
    /// stores it as a blob.
    public struct Layer: Sendable, Equatable {
        /// SHA-256 of the uncompressed tar (OCI image spec, "Layer DiffID").
        public var diffID: Digest
        /// The compressed blob a layout or a registry holds; nil for the engine,
        /// which hands out uncompressed tars.
        public var blob: OCIDescriptor?

        public init(diffID: Digest, blob: OCIDescriptor? = nil) {
            self.diffID = diffID
            self.blob = blob
        }
    }

    /// The image config, byte for byte: its digest is the engine's image ID.
    public var config: [UInt8]
    public var configDigest: Digest
    /// Bottom layer first, as `rootfs.diff_ids` lists them.
    public var layers: [Layer]
    /// The references the source knows the image by (`RepoTags` of a save).
    public var repoTags: [String]

    public init(config: [UInt8], configDigest: Digest, layers: [Layer], repoTags: [String] = []) {
        self.config = config
        self.configDigest = configDigest
        self.layers = layers
        self.repoTags = repoTags
    }
}

/// One layer's bytes as a source streams them. Valid only during the
/// `forEachLayer` call that hands it out.
public struct LayerContent {
    /// The layer's diff_id, as the config states it (not yet checked against the bytes).
    public let diffID: Digest
    /// When the bytes are a stored blob, its descriptor (gzip for the layout); nil
    /// when they are the uncompressed tar.
    public let blob: OCIDescriptor?
    /// A file holding exactly these bytes, when the source has one (a layout blob),
    /// so a destination that needs a file uses it instead of copying.
    public let file: String?
    private let nextChunk: () throws -> UnsafeRawBufferPointer?

    init(diffID: Digest, blob: OCIDescriptor?, file: String?, nextChunk: @escaping () throws -> UnsafeRawBufferPointer?) {
        self.diffID = diffID
        self.blob = blob
        self.file = file
        self.nextChunk = nextChunk
    }

    /// Streams the bytes to `body` in chunks (each valid only during the call).
    public func read(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while let chunk = try nextChunk() { try body(chunk) }
    }
}

/// What a destination wrote.
public struct WrittenImage: Sendable, Equatable {
    /// The image ID: the config's digest.
    public var configDigest: Digest
    /// The manifest, for a destination that stores one (the layout); nil for the engine.
    public var manifest: OCIDescriptor?
    /// Layer blobs, bottom first.
    public var layers: [OCIDescriptor]
    /// diff_ids of the layers this write compressed or copied; empty when every
    /// layer was already there.
    public var layersWritten: [Digest]

    public init(configDigest: Digest, manifest: OCIDescriptor?, layers: [OCIDescriptor], layersWritten: [Digest]) {
        self.configDigest = configDigest
        self.manifest = manifest
        self.layers = layers
        self.layersWritten = layersWritten
    }
}
