import Foundation

/// Shared between a transfer's thread and the Swift tasks that wait on it:
/// the cancellation flag that the progress callback polls, and flow control
/// for a streamed response body.
final class TransferControl: @unchecked Sendable {
    // @unchecked: every stored property is guarded by `condition`.
    private let condition = NSCondition()
    private var cancelled = false
    private var buffered = 0
    private let bufferLimit: Int

    /// `bufferLimit`: how many received bytes may wait for the consumer before
    /// the transfer thread pauses.
    init(bufferLimit: Int = 4 << 20) {
        self.bufferLimit = bufferLimit
    }

    /// Asks the transfer to stop; it does at its next callback.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// On the transfer thread, after `count` bytes were handed to the consumer:
    /// waits while the consumer is more than `bufferLimit` behind. Returns
    /// false when the transfer was cancelled meanwhile.
    func produced(_ count: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        buffered += count
        while buffered > bufferLimit && !cancelled {
            condition.wait()
        }
        return !cancelled
    }

    /// On the consumer's side, after it took `count` bytes.
    func consumed(_ count: Int) {
        condition.lock()
        buffered -= count
        condition.signal()
        condition.unlock()
    }
}
