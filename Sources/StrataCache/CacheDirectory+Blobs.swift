import StrataHash
#if canImport(Glibc)
import Glibc
#endif

/// Streams one blob into the cache: bytes are hashed as they are written to a
/// temporary file in `blobs/sha256/`, and `commit()` renames the file to its
/// digest (OCI image-layout spec, "Blobs": a blob's path is its digest, and its
/// content must match it). A writer that is dropped before `commit()`, or that
/// failed, removes its temporary file. One writer per task: it is not `Sendable`.
public final class BlobWriter {
    private let blobsDirectory: String
    private let temporaryPath: String
    private let expected: Digest?
    private var descriptor: Int32
    private var hasher: SHA256Hasher
    /// Bytes written so far.
    public private(set) var size: Int64 = 0

    init(blobsDirectory: String, expected: Digest?) throws(CacheDirectory.Error) {
        do {
            hasher = try SHA256Hasher()
        } catch {
            throw .hashing(error)
        }
        self.blobsDirectory = blobsDirectory
        self.expected = expected
        temporaryPath = FileSystem.temporaryPath(in: blobsDirectory)
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path: temporaryPath, errno: errno) }
    }

    /// Appends `buffer` to the blob.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(CacheDirectory.Error) {
        guard descriptor >= 0 else { throw .cannotWrite(path: temporaryPath, errno: EBADF) }
        do {
            try hasher.update(buffer)
        } catch {
            abandon()
            throw .hashing(error)
        }
        if let failure = FileSystem.writeAll(buffer, to: descriptor) {
            abandon()
            throw .cannotWrite(path: temporaryPath, errno: failure)
        }
        size += Int64(buffer.count)
    }

    /// Appends `bytes` to the blob.
    public func write(_ bytes: [UInt8]) throws(CacheDirectory.Error) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(CacheDirectory.Error) in try write(raw) }
        }
        try result.get()
    }

    /// Finishes the blob: checks it against the expected digest (if one was
    /// given; on a mismatch the data is discarded), makes it durable and renames it
    /// to `blobs/sha256/<hex>`. An existing blob of that digest is replaced by the
    /// same bytes.
    public func commit() throws(CacheDirectory.Error) -> (digest: Digest, size: Int64) {
        guard descriptor >= 0 else { throw .cannotWrite(path: temporaryPath, errno: EBADF) }
        let digest: Digest
        do {
            digest = try hasher.finalize()
        } catch {
            abandon()
            throw .hashing(error)
        }
        if let expected, expected != digest {
            abandon()
            throw .digestMismatch(expected: expected, actual: digest)
        }
        let destination = blobsDirectory + "/" + digest.hex
        guard fsync(descriptor) == 0 else {
            let code = errno
            abandon()
            throw .cannotWrite(path: destination, errno: code)
        }
        close(descriptor)
        descriptor = -1
        guard rename(temporaryPath, destination) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw .cannotWrite(path: destination, errno: code)
        }
        FileSystem.syncDirectory(blobsDirectory)
        return (digest, size)
    }

    private func abandon() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    deinit { abandon() }
}

extension CacheDirectory {
    /// A writer for one new blob; see `BlobWriter`. With `expected`, `commit()`
    /// refuses content with any other digest.
    public func blobWriter(expected: Digest? = nil) throws(Error) -> BlobWriter {
        try BlobWriter(blobsDirectory: blobsDirectory, expected: expected)
    }

    /// Stores the bytes `produce` feeds to the writer, hashing them on the way.
    /// Throws what `produce` throws (the partial blob is then discarded) or a
    /// `CacheDirectory.Error`.
    public func writeBlob(expected: Digest? = nil, _ produce: (BlobWriter) throws -> Void) throws -> (digest: Digest, size: Int64) {
        let writer = try blobWriter(expected: expected)
        try produce(writer)
        return try writer.commit()
    }

    /// Stores `bytes` as a blob.
    public func writeBlob(_ bytes: [UInt8], expected: Digest? = nil) throws(Error) -> (digest: Digest, size: Int64) {
        let writer = try blobWriter(expected: expected)
        try writer.write(bytes)
        return try writer.commit()
    }

    /// `blobs/sha256/<hex>`.
    public func blobPath(_ digest: Digest) -> String {
        blobsDirectory + "/" + digest.hex
    }

    /// Whether the layout holds a blob named `digest` (its content is not checked;
    /// `verify` does that).
    public func hasBlob(_ digest: Digest) -> Bool {
        access(blobPath(digest), F_OK) == 0
    }

    /// The blob's size in bytes, or nil when the layout does not hold it.
    public func blobSize(_ digest: Digest) throws(Error) -> Int64? {
        try FileSystem.status(blobPath(digest))?.size
    }

    /// The blob's bytes, or nil when the layout does not hold it; meant for
    /// manifests and configs, which are small.
    public func readBlob(_ digest: Digest) throws(Error) -> [UInt8]? {
        try FileSystem.readFile(blobPath(digest))
    }
}
