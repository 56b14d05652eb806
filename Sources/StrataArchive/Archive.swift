import CArchive

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Namespace for what the tar and gzip readers and writers share: their error type,
/// where their bytes go and where they come from.
public enum Archive {
    /// Size of the chunks file data is read and written in. Large enough that the
    /// per-call overhead of libarchive and the kernel is negligible, small enough that
    /// packing a multi-GiB context keeps the resident set flat.
    public static let chunkSize = 1 << 20

    /// A failure while packing or unpacking, naming the file or entry involved.
    public enum Error: Swift.Error, CustomStringConvertible {
        /// libarchive refused an operation; `message` is its `archive_error_string`.
        /// `cause` is the error a sink or source closure threw, when that is why.
        case libarchive(operation: String, path: String?, code: Int32, message: String, cause: (any Swift.Error)?)
        /// A source file could not be opened, inspected or read.
        case sourceUnreadable(path: String, operation: String, errno: Int32)
        /// A source file changed size between listing and packing.
        case sourceChanged(path: String, expectedSize: Int64, actualSize: Int64)
        /// A `TarEntry` that cannot be written as given.
        case invalidEntry(path: String, reason: String)
        /// A source that is neither a regular file, a directory nor a symlink.
        case unsupportedFileType(path: String)
        /// `TarReader.contents(of:…)` found no entry with that name.
        case entryNotFound(name: String)
        /// An entry read whole is bigger than the caller's limit.
        case entryTooLarge(name: String, size: Int64, limit: Int)
        /// The operation needs an entry that is not the current one.
        case noCurrentEntry(operation: String)

        public var description: String {
            switch self {
            case let .libarchive(operation, path, code, message, cause):
                let subject = path.map { " (\($0))" } ?? ""
                let because = cause.map { "; caused by: \($0)" } ?? ""
                return "libarchive \(operation) failed\(subject): \(message) [code \(code)]\(because)"
            case let .sourceUnreadable(path, operation, code):
                return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
            case let .sourceChanged(path, expected, actual):
                return "\(path) changed while it was packed: expected \(expected) bytes, found \(actual); retry once the file is stable"
            case let .invalidEntry(path, reason):
                return "invalid tar entry \(path): \(reason)"
            case let .unsupportedFileType(path):
                return "\(path) is not a regular file, directory or symlink; remove it from the context or exclude it in .dockerignore"
            case let .entryNotFound(name):
                return "archive has no entry named \(name)"
            case let .entryTooLarge(name, size, limit):
                return "archive entry \(name) is \(size) bytes, more than the \(limit) bytes allowed when reading it whole; stream it instead"
            case let .noCurrentEntry(operation):
                return "\(operation) needs a current entry: call next() first"
            }
        }
    }

    /// Where a writer's output goes.
    public enum Sink {
        /// An open file descriptor; the writer does not close it.
        case fileDescriptor(Int32)
        /// A closure called with each block of output, in order. The buffer is only
        /// valid during the call. An error it throws aborts the write and is kept as
        /// the `cause` of the `Archive.Error` the writer throws.
        case closure((UnsafeRawBufferPointer) throws -> Void)
    }

    /// Where a reader's input comes from.
    public enum Source {
        /// A file, opened and closed by the reader.
        case path(String)
        /// An open file descriptor; the reader does not close it.
        case fileDescriptor(Int32)
        /// A closure that fills the buffer and returns how many bytes it wrote,
        /// 0 at the end of input. Lets a caller hash compressed bytes as they are
        /// read, or feed a response body without a temporary file.
        case closure((UnsafeMutableRawBufferPointer) throws -> Int)
    }
}

/// libarchive's own file type codes (AE_IFREG, … in archive_entry.h), fixed on every
/// platform; the C macros carry a cast Swift does not import.
enum FileType {
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}

/// Checks a libarchive return code. `ARCHIVE_WARN` is not an error: libarchive uses it
/// for conditions it recovered from (archive(3), "RETURN VALUES").
func check(
    _ code: Int32, _ handle: OpaquePointer, _ operation: String, path: String? = nil, cause: (any Swift.Error)? = nil
) throws(Archive.Error) {
    guard code < ARCHIVE_WARN else { return }
    throw archiveError(handle, operation, path: path, code: code, cause: cause)
}

/// The error for the failure libarchive last recorded on `handle`.
func archiveError(
    _ handle: OpaquePointer, _ operation: String, path: String?, code: Int32, cause: (any Swift.Error)?
) -> Archive.Error {
    let message = archive_error_string(handle).map { String(cString: $0) } ?? "unknown error"
    return .libarchive(operation: operation, path: path, code: code, message: message, cause: cause)
}

/// Holds a sink closure for `archive_write_open2`'s C callbacks, and the Swift error
/// the closure threw: a C callback cannot throw, so it records the error, returns -1,
/// and the writer rethrows it as the cause.
final class SinkBox {
    let write: (UnsafeRawBufferPointer) throws -> Void
    var error: (any Swift.Error)?

    init(_ write: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.write = write
    }

    /// Opens `handle` for writing to `sink`. Returns the box the callbacks use when
    /// the sink is a closure; the caller keeps it alive as long as the handle.
    static func open(_ handle: OpaquePointer, _ sink: Archive.Sink) throws(Archive.Error) -> SinkBox? {
        switch sink {
        case let .fileDescriptor(fd):
            try check(archive_write_open_fd(handle, fd), handle, "open output")
            return nil
        case let .closure(body):
            let box = SinkBox(body)
            let code = archive_write_open2(
                handle, Unmanaged.passUnretained(box).toOpaque(), nil,
                { _, clientData, buffer, length in
                    let box = Unmanaged<SinkBox>.fromOpaque(clientData!).takeUnretainedValue()
                    do {
                        try box.write(UnsafeRawBufferPointer(start: buffer, count: length))
                        return length
                    } catch {
                        // archive_set_error is variadic, so Swift cannot call it; the
                        // writer reports the recorded error as the cause instead.
                        box.error = error
                        return -1
                    }
                },
                nil, nil)
            try check(code, handle, "open output", cause: box.error)
            return box
        }
    }
}

/// Holds a source closure and its read buffer for `archive_read_open2`'s callbacks.
final class SourceBox {
    let read: (UnsafeMutableRawBufferPointer) throws -> Int
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Archive.chunkSize, alignment: 16)
    var error: (any Swift.Error)?

    init(_ read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.read = read
    }

    deinit { buffer.deallocate() }

    /// Opens `handle` for reading from `source`. Returns the box the callbacks use when
    /// the source is a closure; the caller keeps it alive as long as the handle.
    static func open(_ handle: OpaquePointer, _ source: Archive.Source) throws(Archive.Error) -> SourceBox? {
        switch source {
        case let .path(path):
            try check(archive_read_open_filename(handle, path, Archive.chunkSize), handle, "open", path: path)
            return nil
        case let .fileDescriptor(fd):
            try check(archive_read_open_fd(handle, fd, Archive.chunkSize), handle, "open input")
            return nil
        case let .closure(body):
            let box = SourceBox(body)
            let code = archive_read_open2(
                handle, Unmanaged.passUnretained(box).toOpaque(), nil,
                { _, clientData, bufferOut in
                    let box = Unmanaged<SourceBox>.fromOpaque(clientData!).takeUnretainedValue()
                    do {
                        let count = try box.read(box.buffer)
                        bufferOut?.pointee = UnsafeRawPointer(box.buffer.baseAddress)
                        return count
                    } catch {
                        box.error = error
                        return -1
                    }
                },
                nil, nil)
            try check(code, handle, "open input", cause: box.error)
            return box
        }
    }
}

/// A new write handle. Owners configure it, then set their last stored property only
/// once nothing can throw: an initializer that throws after every stored property is
/// set runs `deinit`, which would free the handle a second time.
func newWriteHandle() throws(Archive.Error) -> OpaquePointer {
    guard let handle = archive_write_new() else {
        throw .libarchive(operation: "create writer", path: nil, code: ARCHIVE_FATAL, message: "out of memory", cause: nil)
    }
    return handle
}

/// A new read handle; see `newWriteHandle()`.
func newReadHandle() throws(Archive.Error) -> OpaquePointer {
    guard let handle = archive_read_new() else {
        throw .libarchive(operation: "create reader", path: nil, code: ARCHIVE_FATAL, message: "out of memory", cause: nil)
    }
    return handle
}
