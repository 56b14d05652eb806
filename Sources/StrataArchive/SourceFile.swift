#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open source file streamed into an archive in chunks, which checks that it still
/// holds the number of bytes its entry declared: a tar header carries the size before
/// the data, so a file that grew or shrank in between would corrupt the archive.
final class SourceFile {
    let path: String
    private let fd: Int32
    private let declaredSize: Int64
    private(set) var remaining: Int64

    init(path: String, size: Int64) throws(Archive.Error) {
        // O_NOFOLLOW: a regular file replaced by a symlink is never followed out of the context.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw .sourceUnreadable(path: path, operation: "open", errno: errno) }
        self.path = path
        self.fd = fd
        self.declaredSize = size
        self.remaining = size
    }

    deinit { close(fd) }

    /// Reads the next chunk into `buffer`; returns nil once the declared size is read
    /// and the file is confirmed to end there.
    func nextChunk(_ buffer: UnsafeMutableRawBufferPointer) throws(Archive.Error) -> UnsafeRawBufferPointer? {
        let wanted = remaining == 0 ? 1 : Int(min(Int64(buffer.count), remaining))
        var count: Int
        repeat {
            count = read(fd, buffer.baseAddress, wanted)
        } while count < 0 && errno == EINTR
        guard count >= 0 else { throw .sourceUnreadable(path: path, operation: "read", errno: errno) }
        if remaining == 0 {
            guard count == 0 else { throw .sourceChanged(path: path, expectedSize: declaredSize, actualSize: currentSize()) }
            return nil
        }
        guard count > 0 else { throw .sourceChanged(path: path, expectedSize: declaredSize, actualSize: currentSize()) }
        remaining -= Int64(count)
        return UnsafeRawBufferPointer(rebasing: buffer[..<count])
    }

    private func currentSize() -> Int64 {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int64(info.st_size) : -1
    }
}
