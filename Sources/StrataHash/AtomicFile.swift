#if canImport(Glibc)
import Glibc
#endif

/// The one way strata replaces a file: a temporary file in the destination's own folder,
/// every byte written, fsync, rename(2) over the destination (atomic within a file system),
/// fsync of the folder. A reader sees the old file or the new one, never a partial one, and
/// after a crash the name holds complete data. Used by the file-hash index, the cache's
/// records and index, and image transfers.
public enum AtomicFile {
    /// Why a file could not be replaced: the path and the errno.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var code: Int32

        public var description: String {
            "cannot write \(path): \(String(cString: strerror(code)))"
        }
    }

    /// Prefix of every temporary file strata makes: the cache's `verify` reports such files
    /// as leftovers of a killed process and `gc` removes old ones.
    public static let temporaryPrefix = ".tmp-"

    /// A fresh temporary name in `directory`: `.tmp-<pid>-<random><suffix>`.
    public static func temporaryPath(in directory: String, suffix: String = "") -> String {
        directory + "/" + temporaryPrefix + "\(getpid())-\(UInt64.random(in: 0...UInt64.max))" + suffix
    }

    /// Replaces (or creates) `path` with `bytes`.
    public static func write(_ bytes: [UInt8], to path: String) throws(Error) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let temporary = temporaryPath(in: directory)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Error(path: path, code: errno) }
        var failure: Int32?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errno }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = errno }
        if let failure {
            unlink(temporary)
            throw Error(path: path, code: failure)
        }
        // Best effort: some file systems refuse to sync folders; the data is already safe.
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folder >= 0 {
            _ = fsync(folder)
            close(folder)
        }
    }
}
