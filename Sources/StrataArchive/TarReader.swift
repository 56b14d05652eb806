import CArchive

/// Reads a tar archive, plain or gzip-compressed, one entry at a time: a `docker save`
/// export (legacy `manifest.json` + `layer.tar`, or an OCI layout), or an image layer.
///
/// Streaming: entries come in archive order, and an entry's data is read in
/// `Archive.chunkSize` chunks, so a multi-GiB layer never has to fit in memory. Small
/// entries (`manifest.json`, `index.json`) can be read whole, under a size limit.
///
/// Not `Sendable`: the `struct archive` it owns may be used by one thread at a time
/// (archive_read(3)).
public final class TarReader {
    /// An entry's header, as stored.
    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case file, directory, symlink, hardlink
            /// Devices, FIFOs and sockets, which image archives do not use.
            case other
        }

        /// Path as stored; may start with "./" in archives written by other tools.
        public var path: String
        public var kind: Kind
        public var size: Int64
        /// Permission bits.
        public var mode: UInt32
        /// Target of a symlink, or the path a hard link refers to.
        public var linkTarget: String?
    }

    private let handle: OpaquePointer
    private let sourceBox: SourceBox?
    private let buffer: UnsafeMutableRawBufferPointer
    private var current: Entry?

    /// Opens `source`. Tar in any of its dialects (ustar, PAX, GNU) is accepted, plain
    /// or gzip-compressed; other compressions are left out so that no external
    /// decompressor is ever run (archive_read_filter(3)).
    public init(source: Archive.Source) throws(Archive.Error) {
        handle = try newReadHandle()
        do {
            try check(archive_read_support_format_tar(handle), handle, "enable tar format")
            try check(archive_read_support_filter_gzip(handle), handle, "enable gzip filter")
            sourceBox = try SourceBox.open(handle, source)
        } catch {
            archive_read_free(handle)
            throw error
        }
        buffer = .allocate(byteCount: Archive.chunkSize, alignment: 16)
    }

    /// Opens the archive at `path`.
    public convenience init(path: String) throws(Archive.Error) {
        try self.init(source: .path(path))
    }

    deinit {
        archive_read_free(handle)
        buffer.deallocate()
    }

    /// Moves to the next entry, skipping whatever of the current one's data was not
    /// read; nil at the end of the archive.
    public func next() throws(Archive.Error) -> Entry? {
        current = nil
        var header: OpaquePointer?
        let code = UTF8Locale.with { archive_read_next_header(handle, &header) }
        if code == ARCHIVE_EOF { return nil }
        try check(code, handle, "read header", cause: sourceBox?.error)
        guard let header else { return nil }
        let entry = UTF8Locale.with { Self.describe(header) }
        current = entry
        return entry
    }

    /// The next chunk, at most `Archive.chunkSize` bytes, of the current entry's data;
    /// nil once it is all read. The buffer is valid until the next call on the reader.
    public func nextChunk() throws(Archive.Error) -> UnsafeRawBufferPointer? {
        guard let entry = current else { throw .noCurrentEntry(operation: "reading data") }
        let count = archive_read_data(handle, buffer.baseAddress, buffer.count)
        guard count >= 0 else {
            throw archiveError(handle, "read data", path: entry.path, code: Int32(truncatingIfNeeded: count), cause: sourceBox?.error)
        }
        return count == 0 ? nil : UnsafeRawBufferPointer(rebasing: buffer[..<count])
    }

    /// Streams the current entry's data to `body` chunk by chunk (see `nextChunk()`).
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while let chunk = try nextChunk() { try body(chunk) }
    }

    /// The current entry's data in one array, for small entries such as `manifest.json`.
    /// Throws rather than allocate more than `limit` bytes.
    public func readAll(limit: Int = 16 << 20) throws(Archive.Error) -> [UInt8] {
        guard let entry = current else { throw .noCurrentEntry(operation: "reading data") }
        guard entry.size <= Int64(limit) else { throw .entryTooLarge(name: entry.path, size: entry.size, limit: limit) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(entry.size))
        while let chunk = try nextChunk() { bytes.append(contentsOf: chunk) }
        return bytes
    }

    /// The whole content of the entry called `name` ("./" prefixes ignored) in the
    /// archive from `source`, read in one pass that stops at that entry.
    public static func contents(of name: String, in source: Archive.Source, limit: Int = 16 << 20) throws(Archive.Error) -> [UInt8] {
        let reader = try TarReader(source: source)
        let wanted = normalized(name)
        while let entry = try reader.next() {
            if normalized(entry.path) == wanted { return try reader.readAll(limit: limit) }
        }
        throw .entryNotFound(name: name)
    }

    private static func normalized(_ path: String) -> Substring {
        var path = Substring(path)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasSuffix("/") { path = path.dropLast() }
        return path
    }

    private static func describe(_ header: OpaquePointer) -> Entry {
        let kind: Entry.Kind
        var linkTarget: String?
        if let target = string(archive_entry_hardlink_utf8(header), archive_entry_hardlink(header)) {
            kind = .hardlink
            linkTarget = target
        } else {
            switch archive_entry_filetype(header) {
            case FileType.regular: kind = .file
            case FileType.directory: kind = .directory
            case FileType.symlink:
                kind = .symlink
                linkTarget = string(archive_entry_symlink_utf8(header), archive_entry_symlink(header))
            default: kind = .other
            }
        }
        return Entry(
            path: string(archive_entry_pathname_utf8(header), archive_entry_pathname(header)) ?? "",
            kind: kind,
            size: archive_entry_size(header),
            mode: UInt32(archive_entry_perm(header)),
            linkTarget: linkTarget)
    }

    /// The UTF-8 form of a name, or its raw bytes (repaired as UTF-8) when libarchive
    /// cannot convert them, as for a GNU tar name written in another encoding.
    private static func string(_ utf8: UnsafePointer<CChar>?, _ raw: UnsafePointer<CChar>?) -> String? {
        (utf8 ?? raw).map { String(cString: $0) }
    }
}

@available(*, unavailable)
extension TarReader: Sendable {}
