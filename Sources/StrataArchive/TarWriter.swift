import CArchive

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a deterministic tar archive: the same entries give the same bytes on every
/// run and machine, so a context packed twice yields the same COPY layers.
///
/// The format is PAX restricted (archive_write_format(3)): a plain ustar header for
/// every entry that fits, and a PAX extended header only for what ustar cannot hold
/// (paths over 100 bytes, non-ASCII names, large sizes), which keeps the output
/// readable by any tar. Metadata that would vary between machines is fixed: owner
/// 0:0 with empty user and group names, every mtime set to the caller's
/// `SOURCE_DATE_EPOCH`, no atime or ctime, no extended attributes or ACLs. Entries
/// are written in the order appended; the caller sorts them.
///
/// Not `Sendable`: the `struct archive` it owns may be used by one thread at a time
/// (archive_write(3)). Create it, use it and drop it within one task.
public final class TarWriter {
    private let handle: OpaquePointer
    private let sinkBox: SinkBox?
    private let mtime: Int64
    private let buffer: UnsafeMutableRawBufferPointer
    private var finished = false

    /// Opens an archive writing to `sink`, with every entry's modification time set to
    /// `mtime` (seconds since the epoch, `SOURCE_DATE_EPOCH`).
    public init(sink: Archive.Sink, mtime: Int64 = 0) throws(Archive.Error) {
        handle = try newWriteHandle()
        self.mtime = mtime
        do {
            try check(archive_write_set_format_pax_restricted(handle), handle, "set format pax_restricted")
            // Left unset, the padding of the last block depends on the sink: a closure
            // gets whole 10240-byte blocks, a regular file only what was written
            // (archive_write_blocksize(3)). Fixing it keeps the bytes independent of
            // where they go; the two 512-byte end-of-archive blocks are still written.
            try check(archive_write_set_bytes_in_last_block(handle, 1), handle, "set last block size")
            sinkBox = try SinkBox.open(handle, sink)
        } catch {
            archive_write_free(handle)
            throw error
        }
        buffer = .allocate(byteCount: Archive.chunkSize, alignment: 16)
    }

    deinit {
        // archive_write_free would close an unfinished archive cleanly: pad the entry
        // in progress with zeros and write the end-of-archive blocks, so a failed or
        // abandoned pack would look complete. archive_write_fail prevents that
        // (archive_write_free(3)).
        if !finished { archive_write_fail(handle) }
        archive_write_free(handle)
        buffer.deallocate()
    }

    /// Appends one entry, streaming a file's content from disk in `Archive.chunkSize`
    /// chunks so the whole file is never in memory.
    public func append(_ entry: TarEntry) throws(Archive.Error) {
        let source = try writeHeader(entry)
        if let contents = entry.contents {
            // Array.withUnsafeBytes rethrows untyped errors; a Result keeps the type.
            try contents.withUnsafeBytes { bytes in
                Result { () throws(Archive.Error) in try writeData(bytes, path: entry.path) }
            }.get()
        }
        guard let source else { return }
        while try writeNextChunk(of: source, path: entry.path) {}
    }

    /// Writes the end-of-archive blocks and flushes the sink. Call once, after the
    /// last entry; the archive is incomplete without it.
    public func finish() throws(Archive.Error) {
        try check(archive_write_close(handle), handle, "finish archive", cause: sinkBox?.error)
        finished = true
    }

    /// Writes the header of `entry` and opens its source file, if it has one. The
    /// source is opened first so that a missing file fails before its header is out.
    func writeHeader(_ entry: TarEntry) throws(Archive.Error) -> SourceFile? {
        if let problem = entry.problem { throw .invalidEntry(path: entry.path, reason: problem) }
        if !UTF8Locale.isAvailable, !(entry.path + (entry.linkTarget ?? "")).utf8.allSatisfy({ $0 < 0x80 }) {
            throw .invalidEntry(path: entry.path, reason: "a non-ASCII name needs the C.UTF-8 locale, which this system lacks")
        }
        let source = try entry.contents == nil ? entry.sourcePath.map { path throws(Archive.Error) in
            try SourceFile(path: path, size: entry.size)
        } : nil

        guard let header = archive_entry_new() else {
            throw .libarchive(operation: "create entry", path: entry.path, code: ARCHIVE_FATAL, message: "out of memory", cause: nil)
        }
        defer { archive_entry_free(header) }
        // The _utf8 setters take the path as UTF-8 whatever the process locale (Swift
        // programs run in the "C" locale), and the PAX writer stores non-ASCII names as
        // UTF-8 `path` records.
        archive_entry_set_pathname_utf8(header, entry.path)
        switch entry.kind {
        case .file:
            archive_entry_set_filetype(header, FileType.regular)
            archive_entry_set_size(header, entry.size)
        case .directory:
            archive_entry_set_filetype(header, FileType.directory)
        case .symlink:
            archive_entry_set_filetype(header, FileType.symlink)
            archive_entry_set_symlink_utf8(header, entry.linkTarget)
        }
        archive_entry_set_perm(header, mode_t(entry.mode))
        archive_entry_set_uid(header, 0)
        archive_entry_set_gid(header, 0)
        archive_entry_set_mtime(header, time_t(mtime), 0)
        let code = UTF8Locale.with { archive_write_header(handle, header) }
        try check(code, handle, "write header", path: entry.path, cause: sinkBox?.error)
        return source
    }

    /// Streams the next chunk of `source` into the current entry; false once it is done.
    func writeNextChunk(of source: SourceFile, path: String) throws(Archive.Error) -> Bool {
        guard let chunk = try source.nextChunk(buffer) else { return false }
        try writeData(chunk, path: path)
        return true
    }

    private func writeData(_ bytes: UnsafeRawBufferPointer, path: String) throws(Archive.Error) {
        guard !bytes.isEmpty else { return }
        let written = archive_write_data(handle, bytes.baseAddress, bytes.count)
        guard written == bytes.count else {
            throw archiveError(handle, "write data", path: path, code: Int32(truncatingIfNeeded: min(written, 0)), cause: sinkBox?.error)
        }
    }
}

@available(*, unavailable)
extension TarWriter: Sendable {}
