import StrataHash

/// Namespace of the image transfers between the engine and the cache's layout.
public enum ImageTransfer {
    /// Why an image could not be read, exported or restored. Each description names
    /// the image or file and says what to do.
    public enum Error: Swift.Error, CustomStringConvertible {
        /// A `docker save` archive strata cannot read: no `manifest.json` nor
        /// `index.json`, or one that does not describe an image.
        case unreadableArchive(path: String, reason: String)
        /// An entry a manifest names is not in the archive.
        case missingEntry(path: String, archive: String)
        /// A layer's bytes hash to another diff_id than the config states.
        case diffIDMismatch(expected: Digest, actual: Digest)
        /// The config's digest is not the image ID the engine reports.
        case imageIDMismatch(reference: String, engine: String, config: Digest)
        /// A manifest or config in the layout that does not parse.
        case unreadableManifest(digest: String, reason: String)
        /// The layout lacks a blob a manifest names.
        case missingBlob(Digest)
        /// A layer compressed in a way strata cannot read (zstd).
        case unsupportedLayer(mediaType: String)
        /// The engine has no image by that reference.
        case noSuchImage(reference: String)
        /// `docker load` ran but the engine does not have the image afterwards.
        case notLoaded(imageID: String, loaded: [String])
        /// The engine cannot save or load images (a test double).
        case engineCannotTransfer
        /// A temporary file could not be written or removed.
        case file(path: String, errno: Int32)
        /// The cause, with what was being done when it happened.
        case wrapped(operation: String, cause: any Swift.Error)

        public var description: String {
            switch self {
            case let .unreadableArchive(path, reason):
                return "cannot read the image archive \(path): \(reason); is it the output of `docker save`?"
            case let .missingEntry(path, archive):
                return "the image archive \(archive) has no entry \(path), which its manifest names; save the image again"
            case let .diffIDMismatch(expected, actual):
                return "a layer hashes to \(actual), but the image config says \(expected); the image data is damaged"
            case let .imageIDMismatch(reference, engine, config):
                return "the config saved for \(reference) hashes to \(config), but the engine says its ID is \(engine); "
                    + "the image changed during the export, export it again"
            case let .unreadableManifest(digest, reason):
                return "cannot read \(digest) in the cache: \(reason); run `strata cache verify`"
            case let .missingBlob(digest):
                return "the cache lacks blob \(digest); run `strata cache verify`, then export the image again"
            case let .unsupportedLayer(mediaType):
                return "layer media type \(mediaType) is not supported (only tar and tar+gzip); "
                    + "export the image from an engine that stores gzip or uncompressed layers"
            case let .noSuchImage(reference):
                return "the engine has no image \(reference); build it first"
            case let .notLoaded(imageID, loaded):
                return "the engine loaded \(loaded.isEmpty ? "nothing" : loaded.joined(separator: ", ")) but has no image \(imageID) afterwards"
            case .engineCannotTransfer:
                return "this engine cannot save or load images"
            case let .file(path, code):
                return "\(path): \(String(cString: strerror(code)))"
            case let .wrapped(operation, cause):
                return "\(operation): \(cause)"
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
