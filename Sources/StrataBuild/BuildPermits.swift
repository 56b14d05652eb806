import Synchronization

/// At most `jobs` nodes at work on the engine at once (`--jobs`), granted in the order they
/// were asked for. A node holds its permit while it builds (or restores, pulls, exports) and
/// gives it back as soon as the engine is done with it: recording the key and inspecting the
/// image happen outside the bound, so the next build starts without waiting on them.
actor BuildPermits {
    private var available: Int
    private var queue: [UInt64] = []
    private var waiting: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    private var cancelledEarly: Set<UInt64> = []
    private var nextID: UInt64 = 0

    init(_ jobs: Int) {
        available = max(1, jobs)
    }

    /// How many wait for a permit.
    var queued: Int { queue.count }

    /// Waits for a permit; throws `CancellationError` if the task is cancelled first.
    func acquire() async throws -> Permit {
        try Task.checkCancellation()
        if available > 0 && queue.isEmpty {
            available -= 1
            return Permit(self)
        }
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if cancelledEarly.remove(id) != nil {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting[id] = continuation
                    queue.append(id)
                }
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
        return Permit(self)
    }

    fileprivate func release() {
        if queue.isEmpty {
            available += 1
        } else {
            let id = queue.removeFirst()
            waiting.removeValue(forKey: id)?.resume()
        }
    }

    private func cancel(_ id: UInt64) {
        if let continuation = waiting.removeValue(forKey: id) {
            queue.removeAll { $0 == id }
            continuation.resume(throwing: CancellationError())
        } else {
            // Cancelled before it queued (the handler ran first): refuse it when it does. (An
            // id granted already lands here too, harmlessly: it never queues again.)
            cancelledEarly.insert(id)
        }
    }
}

/// One granted permit; `release` gives it back once, however many times it is called.
final class Permit: Sendable {
    private let permits: BuildPermits
    private let released = Mutex(false)

    fileprivate init(_ permits: BuildPermits) {
        self.permits = permits
    }

    func release() async {
        let first = released.withLock { released in
            defer { released = true }
            return !released
        }
        if first { await permits.release() }
    }
}
