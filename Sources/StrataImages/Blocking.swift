import StrataHash
import Foundation

/// Runs file and compression work that blocks for seconds or minutes (a 2 GiB
/// layer through gzip) on a thread of its own, so Swift's cooperative pool (two
/// threads on two cores) keeps serving the other builds meanwhile.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }
}

/// Temporary files in the cache folder, named like the cache's own (`.tmp-…`), so
/// `strata cache verify` lists a leftover and `strata cache gc` removes it once it
/// is an hour old.
enum TemporaryFile {
    static func path(in directory: String, suffix: String) -> String {
        AtomicFile.temporaryPath(in: directory, suffix: suffix)
    }

    /// Writes `bytes` to `path` atomically (`AtomicFile.write`).
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw ImageTransfer.Error.file(path: path, errno: error.code)
        }
    }
}
