import Synchronization
import Testing
@testable import StrataBuild

extension BuildPermits {
    /// A place in line, then its permit (the scheduler takes the two steps apart).
    func acquire(priority: Int = 0) async throws -> Permit {
        try Task.checkCancellation()
        return try await acquire(enqueue(priority: priority))
    }
}

@Suite struct BuildPermitsTests {
    /// The order permits were granted in.
    final class Grants: Sendable {
        let names = Mutex<[String]>([])
        func append(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    /// Waits (yielding) until `permits` has `count` waiters.
    func waitForQueue(_ permits: BuildPermits, _ count: Int) async {
        while await permits.queued < count { await Task.yield() }
    }

    @Test func grantsAtMostJobsInRequestOrder() async throws {
        let permits = BuildPermits(2)
        let first = try await permits.acquire()
        let second = try await permits.acquire()
        let order = Grants()
        let a = Task {
            let permit = try await permits.acquire()
            order.append("a")
            return permit
        }
        await waitForQueue(permits, 1)
        let b = Task {
            let permit = try await permits.acquire()
            order.append("b")
            return permit
        }
        await waitForQueue(permits, 2)
        #expect(order.all.isEmpty)
        await first.release()
        await first.release()  // a second release gives nothing back
        let granted = try await a.value
        #expect(order.all == ["a"])
        #expect(await permits.queued == 1)
        await second.release()
        _ = try await b.value
        #expect(order.all == ["a", "b"])
        await granted.release()
    }

    @Test func aFreedPermitGoesToTheHighestPriorityThenToTheFirstToAsk() async throws {
        let permits = BuildPermits(1)
        var held = try await permits.acquire()
        let order = Grants()
        var waiters: [Task<Permit, any Error>] = []
        for (name, priority) in [("low", 0), ("high", 5), ("high-later", 5), ("middle", 2)] {
            waiters.append(Task {
                let permit = try await permits.acquire(priority: priority)
                order.append(name)
                return permit
            })
            await waitForQueue(permits, waiters.count)
        }
        for (count, waiter) in zip(1..., [1, 2, 3, 0].map { waiters[$0] }) {
            await held.release()
            held = try await waiter.value
            #expect(order.all.count == count)
        }
        #expect(order.all == ["high", "high-later", "middle", "low"])
        await held.release()
    }

    @Test func aCancelledWaiterLeavesTheQueueAndThePermitGoesToTheNext() async throws {
        let permits = BuildPermits(1)
        let held = try await permits.acquire()
        let cancelled = Task { try await permits.acquire() }
        await waitForQueue(permits, 1)
        let next = Task { try await permits.acquire() }
        await waitForQueue(permits, 2)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(await permits.queued == 1)
        await held.release()
        let permit = try await next.value
        await permit.release()
        // Free again: an acquire does not wait.
        let again = try await permits.acquire()
        await again.release()
    }
}
