import StrataCache
import StrataHash

/// `<cache>/diffids/<diff_id hex>`: which gzip blob holds a layer, so a layer is
/// compressed and stored once, however many images and exports share it. Each file
/// holds `sha256:<blob hex>` and is written atomically. An entry is only trusted
/// while its blob is in the layout: after `gc` removed the blob, the layer is
/// compressed again and the entry replaced.
struct DiffIDMap {
    let cache: CacheDirectory

    var directory: String { cache.diffIDsDirectory }

    /// The stored gzip blob of the layer with `diffID`, if any.
    func blob(for diffID: Digest) throws -> OCIDescriptor? {
        guard let bytes = try? [UInt8](contentsOfFile: directory + "/" + diffID.hex),
              let digest = Digest(parsing: String(decoding: bytes, as: UTF8.self).trimmingSpaces),
              let size = try cache.blobSize(digest) else { return nil }
        return OCIDescriptor(mediaType: OCIImageManifest.gzipLayerMediaType, digest: digest, size: size)
    }

    func record(_ diffID: Digest, blob: Digest) throws {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw ImageTransfer.Error.file(path: directory, errno: errno)
        }
        try TemporaryFile.writeAtomically(Array(blob.description.utf8), to: directory + "/" + diffID.hex)
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

extension Array where Element == UInt8 {
    /// A small file's bytes.
    init(contentsOfFile path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ImageTransfer.Error.file(path: path, errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw ImageTransfer.Error.file(path: path, errno: errno)
            }
            bytes += chunk[..<count]
        }
        self = bytes
    }
}

#if canImport(Glibc)
import Glibc
#endif
