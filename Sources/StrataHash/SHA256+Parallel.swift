import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

extension SHA256 {
    /// Hashes many files on all cores and returns their digests in the order of
    /// `paths`; the first failure (in `paths` order) is thrown.
    ///
    /// At most one worker per core (`concurrentPerform` never oversubscribes),
    /// each with its own hasher and 1 MiB buffer, pulling the next path from a
    /// shared counter, so one huge file does not hold up a batch of small ones.
    public static func hashFiles(_ paths: [String]) throws(Error) -> [Digest] {
        try hashFiles(paths) { path, hasher, buffer throws(Error) in
            try hasher.hashFile(path: path, buffer: buffer)
        }
    }

    /// `hashFiles` with the per-file work injectable (the file-hash index counts
    /// reads through it in tests).
    static func hashFiles(
        _ paths: [String],
        using hashOne: @Sendable (String, inout SHA256Hasher, UnsafeMutableRawBufferPointer) throws(Error) -> Digest
    ) throws(Error) -> [Digest] {
        guard !paths.isEmpty else { return [] }
        let workers = min(paths.count, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        let next = Atomic<Int>(0)
        let results = Mutex<[Result<Digest, Error>?]>(Array(repeating: nil, count: paths.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
            defer { buffer.deallocate() }
            var hasher: SHA256Hasher
            do throws(Error) {
                hasher = try SHA256Hasher()
            } catch {
                results.withLock { $0[0] = .failure(error) }
                return
            }
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < paths.count else { return }
                let result = Result { () throws(Error) -> Digest in try hashOne(paths[index], &hasher, buffer) }
                results.withLock { $0[index] = result }
            }
        }
        var digests: [Digest] = []
        digests.reserveCapacity(paths.count)
        for result in results.withLock({ $0 }) {
            switch result {
            case .success(let digest): digests.append(digest)
            case .failure(let error): throw error
            case nil: throw .openSSL(call: "hashFiles", reason: "a worker stopped early")
            }
        }
        return digests
    }
}
