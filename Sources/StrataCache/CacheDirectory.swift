import StrataHash
#if canImport(Glibc)
import Glibc
#endif

/// strata's cache directory:
///
/// ```
/// <cache>/
///   keys/ab/ab12…ef.json     key records (what a key produced, and from which inputs)
///   nodes/<node>.json        the last key recorded for each node (`plan --explain`)
///   files/                   the file-hash index (`StrataHash.FileHashIndex`)
///   oci-layout, index.json, blobs/sha256/…   an OCI image layout of exported images
///   lock                     advisory lock: builders share it, `gc` holds it alone
/// ```
///
/// Every file is written to a temporary file in its own folder and renamed into
/// place, so concurrent readers never see a partial file. The value holds only the
/// path; any number of values may point at the same directory, in one process or
/// many.
public struct CacheDirectory: Sendable {
    /// Why a cache operation failed; each description names the path and the
    /// system's reason on one line.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case cannotCreateDirectory(path: String, errno: Int32)
        case cannotWrite(path: String, errno: Int32)
        case cannotRead(path: String, errno: Int32)
        case cannotRemove(path: String, errno: Int32)
        case cannotLock(path: String, errno: Int32)
        /// Another process holds the lock in a conflicting mode and the caller
        /// asked not to wait.
        case busy(path: String)
        /// A blob's content does not have the digest it was expected to have.
        case digestMismatch(expected: Digest, actual: Digest)
        /// A key that is not 64 lowercase hex digits.
        case invalidKey(String)
        /// A descriptor digest that is not `sha256:<64 hex digits>`.
        case invalidDigest(String)
        /// A descriptor names a blob the layout does not hold.
        case missingBlob(Digest)
        /// A record whose `key` is not the hash of its `inputs`.
        case keyMismatch(recorded: String, computed: String)
        /// A cache file that exists but cannot be parsed.
        case unparsable(path: String, reason: String)
        case encoding(reason: String)
        case hashing(SHA256.Error)

        public var description: String {
            switch self {
            case let .cannotCreateDirectory(path, code):
                return "cannot create cache directory \(path): \(message(code))"
            case let .cannotWrite(path, code):
                return "cannot write cache file \(path): \(message(code)); the cache directory must be writable"
            case let .cannotRead(path, code):
                return "cannot read cache file \(path): \(message(code))"
            case let .cannotRemove(path, code):
                return "cannot remove cache file \(path): \(message(code))"
            case let .cannotLock(path, code):
                return "cannot lock the cache at \(path): \(message(code))"
            case let .busy(path):
                return "the cache \(path) is in use by another strata process; try again when it finishes"
            case let .digestMismatch(expected, actual):
                return "blob digest mismatch: expected \(expected), got \(actual); the data was damaged on the way or the expected digest is wrong"
            case let .invalidKey(key):
                return "invalid cache key \"\(key)\": a key is 64 lowercase hex digits"
            case let .invalidDigest(digest):
                return "invalid digest \"\(digest)\": the cache stores sha256:<64 lowercase hex digits>"
            case let .missingBlob(digest):
                return "the cache has no blob \(digest); write a manifest's blob before listing it in index.json"
            case let .keyMismatch(recorded, computed):
                return "key record for \(recorded) does not match its inputs, which hash to \(computed)"
            case let .unparsable(path, reason):
                return "cannot parse \(path): \(reason); run `strata cache verify`"
            case let .encoding(reason):
                return "cannot encode cache JSON: \(reason)"
            case let .hashing(error):
                return error.description
            }
        }

        private func message(_ code: Int32) -> String {
            String(cString: strerror(code))
        }
    }

    /// The cache's root folder.
    public let path: String

    /// Opens the cache at `path`, creating whatever is missing of its layout
    /// (folders, `oci-layout`, an empty `index.json`, `lock`). Safe to call again
    /// and from several processes at once: existing files are left as they are.
    public init(path: String) throws(Error) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        try FileSystem.makeDirectories(self.path)
        for folder in [keysDirectory, nodesDirectory, filesDirectory, self.path + "/blobs", blobsDirectory] {
            try FileSystem.makeDirectory(folder)
        }
        if try FileSystem.status(layoutPath) == nil {
            try FileSystem.writeAtomically(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: layoutPath)
        }
        for lockFile in [lockPath, indexLockPath] {
            let descriptor = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw .cannotWrite(path: lockFile, errno: errno) }
            close(descriptor)
        }
        // Under the index lock, so an empty index cannot replace one that another
        // process created and added to since the check.
        let indexPath = indexPath
        try withIndexLock { () throws(Error) in
            if try FileSystem.status(indexPath) == nil {
                try FileSystem.writeAtomically(try ImageIndex().encoded(), to: indexPath)
            }
        }
    }

    /// Key records, fanned out by the key's first two hex digits.
    public var keysDirectory: String { path + "/keys" }
    /// One pointer per node to the last key recorded for it.
    public var nodesDirectory: String { path + "/nodes" }
    /// The folder to hand to `StrataHash.FileHashIndex`.
    public var filesDirectory: String { path + "/files" }
    /// `blobs/sha256`: content-addressed blobs (OCI image-layout spec, "Blobs").
    public var blobsDirectory: String { path + "/blobs/sha256" }
    /// `diffids/<diff_id hex>`, each holding `sha256:<blob hex>`: the gzip blob that holds a
    /// layer, so a layer is compressed once (StrataImages' `DiffIDMap`). An entry whose
    /// blob is gone means nothing; `gc` removes it.
    public var diffIDsDirectory: String { path + "/diffids" }
    /// `index.json`: the layout's entry point (OCI image-layout spec, "index.json file").
    public var indexPath: String { path + "/index.json" }
    /// `oci-layout`: marks the folder as an OCI image layout and names its version
    /// (OCI image-layout spec, "oci-layout file").
    public var layoutPath: String { path + "/oci-layout" }
    /// The advisory lock builders share and `gc` takes alone.
    public var lockPath: String { path + "/lock" }
    /// Serializes read-modify-write updates of `index.json`. Separate from `lock`,
    /// so a builder already holding `lock` shared can take it exclusively.
    var indexLockPath: String { path + "/index.json.lock" }
}
