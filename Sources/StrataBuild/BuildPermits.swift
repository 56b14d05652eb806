import Synchronization

/// At most `jobs` nodes at work on the engine at once (`--jobs`). A node takes a place in
/// line, then collects its permit once granted; a free permit goes to the place of highest
/// priority, and among equals to the one taken first. The scheduler takes the places itself,
/// in one task, so the order does not depend on which node task happens to run first.
///
/// A node holds its permit while it builds (or restores, pulls, exports) and gives it back
/// as soon as the engine is done with it: recording the key and inspecting the image happen
/// outside the bound, so the next build starts without waiting on them.
actor BuildPermits {
    typealias Ticket = UInt64

    private var available: Int
    /// Places not granted yet, in the order they were taken.
    private var line: [(ticket: Ticket, priority: Int)] = []
    /// Places granted before their task came for the permit.
    private var granted: Set<Ticket> = []
    private var waiting: [Ticket: CheckedContinuation<Void, any Error>] = [:]
    /// Places given up before their task started waiting.
    private var cancelled: Set<Ticket> = []
    private var nextTicket: Ticket = 0

    init(_ jobs: Int) {
        available = max(1, jobs)
    }

    /// How many places wait for a permit.
    var queued: Int { line.count }

    /// Takes a place in line; it is granted at once when a permit is free.
    func enqueue(priority: Int = 0) -> Ticket {
        let ticket = nextTicket
        nextTicket += 1
        line.append((ticket, priority))
        grantFree()
        return ticket
    }

    /// The permit of `ticket`, once granted. Throws `CancellationError` if the task is
    /// cancelled first: the place is given up, and a permit already granted to it goes on.
    func acquire(_ ticket: Ticket) async throws -> Permit {
        if granted.remove(ticket) != nil {
            guard !Task.isCancelled else {
                release()
                throw CancellationError()
            }
            return Permit(self)
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if cancelled.remove(ticket) != nil {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting[ticket] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancel(ticket) }
        }
        return Permit(self)
    }

    fileprivate func release() {
        available += 1
        grantFree()
    }

    private func grantFree() {
        while available > 0 && !line.isEmpty {
            var chosen = 0
            for position in line.indices.dropFirst() where line[position].priority > line[chosen].priority {
                chosen = position
            }
            let ticket = line.remove(at: chosen).ticket
            available -= 1
            if let continuation = waiting.removeValue(forKey: ticket) {
                continuation.resume()
            } else {
                granted.insert(ticket)
            }
        }
    }

    private func cancel(_ ticket: Ticket) {
        if let continuation = waiting.removeValue(forKey: ticket) {
            line.removeAll { $0.ticket == ticket }
            continuation.resume(throwing: CancellationError())
        } else if line.contains(where: { $0.ticket == ticket }) {
            // Cancelled before its task waited: leave the line, refuse the task when it comes.
            line.removeAll { $0.ticket == ticket }
            cancelled.insert(ticket)
        }
        // Else granted: `acquire` gives back a permit its cancelled task collects, and one
        // already collected goes back with `Permit.release`.
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
