import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A held `flock(2)` on a cache lock file, released by `release()` or when the
/// value goes away.
///
/// Each lock opens the file anew: flock locks belong to the open file
/// description, so two `CacheLock`s conflict with each other even inside one
/// process, exactly as they would across processes.
public final class CacheLock: Sendable {
    /// How the lock is held.
    public enum Mode: Sendable {
        /// Builders and planners: any number at once.
        case shared
        /// `gc`: no one else.
        case exclusive
    }

    /// The mode the lock is held in.
    public let mode: Mode
    private let descriptor: Int32
    private let released = Atomic<Bool>(false)

    /// Opens `path` and locks it; with `wait: false`, throws `.busy` instead of
    /// blocking when another holder conflicts.
    init(path: String, mode: Mode, wait: Bool) throws(CacheDirectory.Error) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotLock(path: path, errno: errno) }
        let operation = (mode == .shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
        while flock(descriptor, operation) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(descriptor)
            if code == EWOULDBLOCK { throw .busy(path: FileSystem.parent(of: path)) }
            throw .cannotLock(path: path, errno: code)
        }
        self.mode = mode
        self.descriptor = descriptor
    }

    /// Releases the lock; later calls do nothing.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Closing the only descriptor of the open file description drops the flock.
        close(descriptor)
    }

    deinit { release() }
}

extension CacheDirectory {
    /// Takes the cache lock and returns it held; for work that spans `await`s (a
    /// whole build holds `.shared` from planning to the last record).
    public func lock(_ mode: CacheLock.Mode, wait: Bool) throws(Error) -> CacheLock {
        try CacheLock(path: lockPath, mode: mode, wait: wait)
    }

    /// Runs `body` holding the cache lock shared, as builders and planners do, so
    /// that `gc` cannot remove what they are about to use. Waits for a running
    /// `gc` unless `wait` is false.
    public func withSharedLock<T>(wait: Bool = true, _ body: () throws -> T) throws -> T {
        let held = try lock(.shared, wait: wait)
        defer { held.release() }
        return try body()
    }

    /// Runs `body` holding the cache lock alone, as `gc` does. By default fails at
    /// once with `.busy` when another process holds the lock, rather than waiting
    /// for a build that may run for an hour; pass `wait: true` to block instead.
    public func withExclusiveLock<T>(wait: Bool = false, _ body: () throws -> T) throws -> T {
        let held = try lock(.exclusive, wait: wait)
        defer { held.release() }
        return try body()
    }

    /// Runs `body` holding the `index.json` update lock, which every writer of
    /// `index.json` takes for its whole re-read, merge and rename.
    func withIndexLock<T>(_ body: () throws(Error) -> T) throws(Error) -> T {
        let held = try CacheLock(path: indexLockPath, mode: .exclusive, wait: true)
        defer { held.release() }
        return try body()
    }
}
