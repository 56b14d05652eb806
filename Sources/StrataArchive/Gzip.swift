import CArchive

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compresses one stream to gzip, deterministically: identical input gives identical
/// output, so a layer compressed on two machines has one digest.
///
/// libarchive's "raw" format writes a single entry's bytes with no archive framing
/// (archive_write_format(3)); its gzip filter with `!timestamp` writes a header with
/// mtime 0, no file name and a fixed OS byte (archive_write_filter(3)). The bytes
/// still depend on the zlib version and `level`, which is why the level is explicit.
///
/// Not `Sendable`: the `struct archive` it owns may be used by one thread at a time.
public final class GzipWriter {
    private let handle: OpaquePointer
    private let sinkBox: SinkBox?
    private let buffer: UnsafeMutableRawBufferPointer

    private var finished = false

    /// Uncompressed bytes written so far.
    public private(set) var bytesIn: Int64 = 0

    /// Opens a gzip stream writing compressed bytes to `sink`, at zlib `level` 0…9 (0
    /// stores the bytes in deflate's uncompressed blocks).
    /// To hash the compressed bytes in the same pass, hash them in a closure sink.
    public init(sink: Archive.Sink, level: Int = 6) throws(Archive.Error) {
        handle = try newWriteHandle()
        do throws(Archive.Error) {
            try check(archive_write_set_format_raw(handle), handle, "set format raw")
            try check(archive_write_add_filter_gzip(handle), handle, "add gzip filter")
            try check(archive_write_set_options(handle, "gzip:!timestamp,gzip:compression-level=\(level)"), handle, "set gzip options")
            // Output is blocked (10240 bytes by default) and the last block padded with
            // zeros (archive_write_blocksize(3)), which gzip would see as trailing
            // garbage: the stream must end where the gzip trailer does.
            try check(archive_write_set_bytes_in_last_block(handle, 1), handle, "set last block size")
            sinkBox = try SinkBox.open(handle, sink)
            guard let entry = archive_entry_new() else {
                throw .libarchive(operation: "create entry", path: nil, code: ARCHIVE_FATAL, message: "out of memory", cause: nil)
            }
            defer { archive_entry_free(entry) }
            // The raw format takes exactly one entry, and only a regular file.
            archive_entry_set_filetype(entry, FileType.regular)
            try check(archive_write_header(handle, entry), handle, "start gzip stream", cause: sinkBox?.error)
        } catch {
            archive_write_free(handle)
            throw error
        }
        buffer = .allocate(byteCount: Archive.chunkSize, alignment: 16)
    }

    deinit {
        // Without archive_write_fail, freeing an unfinished stream would write a valid
        // gzip trailer and make truncated input look complete (archive_write_free(3)).
        if !finished { archive_write_fail(handle) }
        archive_write_free(handle)
        buffer.deallocate()
    }

    /// Compresses `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Archive.Error) {
        guard !bytes.isEmpty else { return }
        let written = archive_write_data(handle, bytes.baseAddress, bytes.count)
        guard written == bytes.count else {
            throw archiveError(handle, "compress", path: nil, code: Int32(truncatingIfNeeded: min(written, 0)), cause: sinkBox?.error)
        }
        bytesIn += Int64(written)
    }

    /// Compresses the file at `path`, read in `Archive.chunkSize` chunks; each chunk is
    /// also passed to `observe` (to hash the uncompressed bytes in the same pass).
    public func write(contentsOfFile path: String, observe: (UnsafeRawBufferPointer) -> Void = { _ in }) throws(Archive.Error) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .sourceUnreadable(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count == 0 { return }
            if count < 0 {
                if errno == EINTR { continue }
                throw .sourceUnreadable(path: path, operation: "read", errno: errno)
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            observe(chunk)
            try write(chunk)
        }
    }

    /// Flushes the compressor and writes the gzip trailer. Call once, at the end.
    public func finish() throws(Archive.Error) {
        try check(archive_write_close(handle), handle, "finish gzip stream", cause: sinkBox?.error)
        finished = true
    }
}

/// Decompresses one gzip stream, read from a source in chunks.
///
/// Not `Sendable`: the `struct archive` it owns may be used by one thread at a time.
public final class GzipReader {
    private let handle: OpaquePointer
    private let sourceBox: SourceBox?
    private let isEmpty: Bool
    private let buffer: UnsafeMutableRawBufferPointer

    /// Opens `source`, which must be gzip: the raw format alone would pass any other
    /// bytes through unchanged, so the detected filter is checked.
    public init(source: Archive.Source) throws(Archive.Error) {
        handle = try newReadHandle()
        do throws(Archive.Error) {
            try check(archive_read_support_format_raw(handle), handle, "enable raw format")
            // The raw format needs at least one byte to recognize; a gzip stream of
            // nothing (an empty layer) is recognized by the "empty" format instead.
            try check(archive_read_support_format_empty(handle), handle, "enable empty format")
            try check(archive_read_support_filter_gzip(handle), handle, "enable gzip filter")
            sourceBox = try SourceBox.open(handle, source)
            var entry: OpaquePointer?
            let code = archive_read_next_header(handle, &entry)
            isEmpty = code == ARCHIVE_EOF
            if !isEmpty { try check(code, handle, "start gzip stream", cause: sourceBox?.error) }
            guard archive_filter_code(handle, 0) == ARCHIVE_FILTER_GZIP else {
                throw .libarchive(
                    operation: "start gzip stream", path: nil, code: ARCHIVE_FATAL, message: "input is not gzip-compressed", cause: nil)
            }
        } catch {
            archive_read_free(handle)
            throw error
        }
        buffer = .allocate(byteCount: Archive.chunkSize, alignment: 16)
    }

    deinit {
        archive_read_free(handle)
        buffer.deallocate()
    }

    /// The next chunk of decompressed bytes, at most `Archive.chunkSize`; nil at the end.
    /// The buffer is valid until the next call.
    public func nextChunk() throws(Archive.Error) -> UnsafeRawBufferPointer? {
        if isEmpty { return nil }
        let count = archive_read_data(handle, buffer.baseAddress, buffer.count)
        guard count >= 0 else {
            throw archiveError(handle, "decompress", path: nil, code: Int32(truncatingIfNeeded: count), cause: sourceBox?.error)
        }
        return count == 0 ? nil : UnsafeRawBufferPointer(rebasing: buffer[..<count])
    }
}

@available(*, unavailable)
extension GzipWriter: Sendable {}

@available(*, unavailable)
extension GzipReader: Sendable {}
