import StrataFleet
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A persistent map from a context's file paths to their SHA-256, keyed by stat
/// data, like git's index: a file whose size, mtime, ctime, inode and mode are
/// unchanged is not read again. The ctime catches what the mtime cannot: a file
/// rewritten in place with its size kept and its mtime set back (`tar -x` of a
/// reproducible archive, `touch -r`) has a new ctime, which no tool can restore.
///
/// Racy-clean files (git `Documentation/technical/racy-git.txt`): a file modified
/// within the same timestamp tick as its hashing could keep its stat data while
/// its contents changed. As git does, an entry is trusted only when the file's
/// mtime and ctime are strictly older than the moment the index was written;
/// otherwise the file is read again.
///
/// One index file per context root: `<directory>/<sha256 of the root path>.idx`.
/// Writes are atomic (temporary file, fsync, rename) and serialized across
/// processes with `flock`; the last writer wins. An unreadable, truncated or
/// corrupt index file is treated as empty and rebuilt.
public final class FileHashIndex: Sendable {
    /// What the index remembers of one file.
    public struct Entry: Sendable, Equatable {
        public var size: Int64
        public var mtime: Int64
        public var ctime: Int64
        public var inode: UInt64
        public var mode: UInt32
        public var digest: Digest
    }

    /// Why the index could not be saved or a file not hashed.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case cannotCreateDirectory(path: String, errno: Int32)
        case cannotLock(path: String, errno: Int32)
        case cannotWrite(path: String, errno: Int32)
        case hashing(SHA256.Error)

        public var description: String {
            switch self {
            case let .cannotCreateDirectory(path, code):
                return "cannot create file-hash index directory \(path): \(String(cString: strerror(code)))"
            case let .cannotLock(path, code):
                return "cannot lock file-hash index \(path): \(String(cString: strerror(code)))"
            case let .cannotWrite(path, code):
                return "cannot write file-hash index \(path): \(String(cString: strerror(code))); the cache directory must be writable"
            case let .hashing(error):
                return error.description
            }
        }
    }

    /// Hashes one file; injectable so tests can count reads.
    typealias FileHasher = @Sendable (String, inout SHA256Hasher, UnsafeMutableRawBufferPointer) throws(SHA256.Error) -> Digest

    /// The index file.
    public let path: String
    let directory: String
    private let hashOne: FileHasher
    private let state: Mutex<State>

    private struct State {
        var loaded: [String: Entry]
        /// Entries looked up since opening; what `save` writes.
        var current: [String: Entry] = [:]
        /// When the loaded index was written (ns); newer entries are racy.
        var writtenAt: Int64
        /// Files read since opening. With none, and the same entries as loaded, `save` has
        /// nothing to write: a no-op plan does no disk writes (and no fsync).
        var rehashed = 0
    }

    /// Opens (or starts) the index for `contextRoot` under `directory`.
    public convenience init(directory: String, contextRoot: String) {
        self.init(directory: directory, contextRoot: contextRoot) { path, hasher, buffer throws(SHA256.Error) in
            try hasher.hashFile(path: path, buffer: buffer)
        }
    }

    init(directory: String, contextRoot: String, hashOne: @escaping FileHasher) {
        self.directory = directory
        let name = (try? SHA256.hash(Array(canonicalPath(contextRoot).utf8)).hex) ?? "context"
        self.path = directory + "/" + name + ".idx"
        self.hashOne = hashOne
        let stored = Self.readWholeFile(path).flatMap(IndexFile.decode)
        state = Mutex(State(loaded: stored?.entries ?? [:], writtenAt: stored?.writtenAt ?? 0))
    }

    /// Digests of the regular files among `files` (paths relative to `root`),
    /// reading only those whose stat data changed; the others come from the index.
    public func digests(for files: [ContextFile], root: String) throws(Error) -> [String: Digest] {
        let regular = files.filter { $0.kind == .file }
        var digests: [String: Digest] = [:]
        var stale: [ContextFile] = []
        state.withLock { state in
            for file in regular {
                if let entry = state.loaded[file.path], entry.matches(file), file.mtime < state.writtenAt,
                   file.ctime < state.writtenAt {
                    digests[file.path] = entry.digest
                    state.current[file.path] = entry
                } else {
                    stale.append(file)
                }
            }
        }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        let fresh: [Digest]
        do {
            fresh = try SHA256.hashFiles(stale.map { prefix + $0.path }, using: hashOne)
        } catch {
            throw .hashing(error)
        }
        state.withLock { state in
            state.rehashed += stale.count
            for (file, digest) in zip(stale, fresh) {
                digests[file.path] = digest
                state.current[file.path] = Entry(size: file.size, mtime: file.mtime, ctime: file.ctime, inode: file.inode,
                                                 mode: file.mode, digest: digest)
            }
        }
        return digests
    }

    /// Writes the entries looked up since opening (files no longer looked up are
    /// dropped), atomically and under an exclusive `flock` on `<index>.lock`.
    public func save() throws(Error) {
        // A re-hashed file may keep its entry (it was racy), but the index must still be
        // rewritten so its newer write time makes that entry trusted next time.
        let unchanged = state.withLock { $0.rehashed == 0 && $0.current.count == $0.loaded.count }
        if unchanged { return }
        try makeDirectories(directory)
        let lockPath = path + ".lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw .cannotLock(path: lockPath, errno: errno) }
        defer { close(lock) }
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { throw .cannotLock(path: lockPath, errno: errno) }
        }
        // Taken after the lock, so every entry hashed before it is older.
        let now = realtimeNanoseconds()
        let entries = state.withLock { $0.current }
        let bytes = IndexFile(writtenAt: now, entries: entries).encode()
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw .cannotWrite(path: path, errno: error.code)
        }
    }

    private func makeDirectories(_ path: String) throws(Error) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw .cannotCreateDirectory(path: current, errno: errno)
            }
        }
    }

    /// The whole file, or nil when it cannot be read (a missing index is normal).
    private static func readWholeFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            offset += count
        }
        return bytes
    }
}

extension FileHashIndex.Entry {
    func matches(_ file: ContextFile) -> Bool {
        size == file.size && mtime == file.mtime && ctime == file.ctime && inode == file.inode && mode == file.mode
    }
}

/// The absolute, symlink-free form of `path` when it exists, else `path` itself.
private func canonicalPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}

private func realtimeNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
