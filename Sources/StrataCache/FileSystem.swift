import StrataHash
#if canImport(Glibc)
import Glibc
#endif

/// The POSIX file operations the cache is built from. Every write goes to a
/// temporary file in the destination's own folder and is renamed into place, so
/// a reader sees the old file or the new one, never a partial one (rename(2) is
/// atomic within one file system).
enum FileSystem {
    /// Prefix of every temporary file; `verify` reports these as leftovers and
    /// `gc` removes old ones.
    static let temporaryPrefix = AtomicFile.temporaryPrefix

    /// A fresh temporary name in `directory`: `.tmp-<pid>-<random>`.
    static func temporaryPath(in directory: String) -> String {
        AtomicFile.temporaryPath(in: directory)
    }

    /// Creates `path` (not its parents); an existing directory is fine.
    static func makeDirectory(_ path: String) throws(CacheDirectory.Error) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw .cannotCreateDirectory(path: path, errno: errno)
        }
    }

    /// Creates `path` and any missing parents.
    static func makeDirectories(_ path: String) throws(CacheDirectory.Error) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            try makeDirectory(current)
        }
    }

    /// Replaces (or creates) `path` with `bytes` (`AtomicFile.write`).
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(CacheDirectory.Error) {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw .cannotWrite(path: path, errno: error.code)
        }
    }

    /// Writes every byte, retrying short writes and EINTR; the errno of a failure.
    static func writeAll(_ bytes: ArraySlice<UInt8>, to descriptor: Int32) -> Int32? {
        bytes.withUnsafeBytes { writeAll($0, to: descriptor) }
    }

    /// Writes every byte of `buffer`; the errno of a failure.
    static func writeAll(_ buffer: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }

    /// fsync of a folder, so a rename or unlink in it survives a crash. Best
    /// effort: some file systems refuse to sync folders, and the data is already safe.
    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// The whole file; nil when it does not exist.
    static func readFile(_ path: String) throws(CacheDirectory.Error) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw .cannotRead(path: path, errno: errno)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, errno: errno)
            }
            bytes += chunk[0..<count]
        }
    }

    /// The names in a folder (without `.` and `..`); empty when it does not exist.
    static func list(_ path: String) throws(CacheDirectory.Error) -> [String] {
        guard let directory = opendir(path) else {
            if errno == ENOENT { return [] }
            throw .cannotRead(path: path, errno: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Size and modification time of `path` (lstat: a symlink is not followed);
    /// nil when it does not exist.
    static func status(_ path: String) throws(CacheDirectory.Error) -> (size: Int64, mtime: Int64, isDirectory: Bool)? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw .cannotRead(path: path, errno: errno)
        }
        return (Int64(info.st_size), Int64(info.st_mtim.tv_sec), (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Removes a file and says whether it was there; a file already gone is fine
    /// (another process removed it).
    @discardableResult
    static func remove(_ path: String) throws(CacheDirectory.Error) -> Bool {
        if unlink(path) == 0 { return true }
        guard errno == ENOENT else { throw .cannotRemove(path: path, errno: errno) }
        return false
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
