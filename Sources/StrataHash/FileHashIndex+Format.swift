/// The on-disk form of a `FileHashIndex`, little-endian:
///
/// ```
/// "STRHIDX2"                       magic and version (8 bytes; version 1 had no ctime)
/// writtenAt: Int64                 ns since the epoch, for the racy-clean check
/// count: UInt32
/// count × { pathLength: UInt32, path (UTF-8), size: Int64, mtime: Int64, ctime: Int64,
///           inode: UInt64, mode: UInt32, digest (32 bytes) }
/// checksum                         SHA-256 of everything above (32 bytes)
/// ```
///
/// The checksum makes a torn or corrupted file detectable, so it can be
/// dropped instead of trusted.
struct IndexFile: Equatable {
    static let magic = Array("STRHIDX2".utf8)

    var writtenAt: Int64
    var entries: [String: FileHashIndex.Entry]

    func encode() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(32 + entries.count * 128)
        append(writtenAt, to: &bytes)
        append(UInt32(entries.count), to: &bytes)
        // Sorted, so the same entries always give the same bytes.
        for (path, entry) in entries.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            let utf8 = Array(path.utf8)
            append(UInt32(utf8.count), to: &bytes)
            bytes += utf8
            append(entry.size, to: &bytes)
            append(entry.mtime, to: &bytes)
            append(entry.ctime, to: &bytes)
            append(entry.inode, to: &bytes)
            append(entry.mode, to: &bytes)
            bytes += entry.digest.bytes
        }
        bytes += Self.checksum(bytes[...])
        return bytes
    }

    /// nil for anything that is not a complete, intact index file.
    static func decode(_ bytes: [UInt8]) -> IndexFile? {
        guard bytes.count >= magic.count + 12 + 32, bytes.starts(with: magic) else { return nil }
        let body = bytes[..<(bytes.count - 32)]
        guard checksum(body).elementsEqual(bytes[(bytes.count - 32)...]) else { return nil }
        var reader = Reader(bytes: body, offset: magic.count)
        guard let writtenAt = reader.integer(Int64.self), let count = reader.integer(UInt32.self) else { return nil }
        var entries: [String: FileHashIndex.Entry] = [:]
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = reader.integer(UInt32.self),
                  let path = reader.bytes(Int(length)),
                  let size = reader.integer(Int64.self),
                  let mtime = reader.integer(Int64.self),
                  let ctime = reader.integer(Int64.self),
                  let inode = reader.integer(UInt64.self),
                  let mode = reader.integer(UInt32.self),
                  let digestBytes = reader.bytes(32),
                  let digest = Digest(bytes: Array(digestBytes)) else { return nil }
            entries[String(decoding: path, as: UTF8.self)] = .init(size: size, mtime: mtime, ctime: ctime, inode: inode, mode: mode, digest: digest)
        }
        guard reader.offset == body.endIndex else { return nil }
        return IndexFile(writtenAt: writtenAt, entries: entries)
    }

    private static func checksum(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        // A hasher that cannot be created leaves an all-zero checksum, which a
        // later decode rejects: the index is then rebuilt, never trusted.
        (try? SHA256.hash(bytes).bytes) ?? Array(repeating: 0, count: 32)
    }

    private func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var offset: Int

        mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.endIndex - offset >= count else { return nil }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func integer<T: FixedWidthInteger>(_ type: T.Type) -> T? {
            guard let raw = bytes(MemoryLayout<T>.size) else { return nil }
            return raw.reversed().reduce(T.zero) { $0 << 8 | T(truncatingIfNeeded: $1) }
        }
    }
}
