import Foundation
import StrataHTTP

/// Whether a registry can be reached at all in this run. The first request that finds it
/// unreachable (`HTTPError.isUnreachable`: its name does not resolve, it refuses, TLS fails,
/// it stalls past a time limit) is remembered, and every later request fails at once with
/// that cause instead of paying the same time-out again: a registry that is down costs one
/// attempt per run, not one per node and retry.
final class HostReachability: @unchecked Sendable {
    let host: String
    private let lock = NSLock()
    private var firstFailure: HTTPError?

    init(host: String) {
        self.host = host
    }

    /// Why the host was found unreachable, if it was.
    var cause: HTTPError? {
        lock.withLock { firstFailure }
    }

    /// Throws `.unreachable` once the host was found so.
    func check() throws(Registry.Error) {
        if let cause { throw .unreachable(registry: host, underlying: cause) }
    }

    /// The registry error for a failed request to `target`; an unreachable host is remembered.
    func failure(_ error: HTTPError, target: String) -> Registry.Error {
        guard error.isUnreachable else { return .transport(target: target, underlying: error) }
        let cause = lock.withLock { () -> HTTPError in
            if let firstFailure { return firstFailure }
            firstFailure = error
            return error
        }
        return .unreachable(registry: host, underlying: cause)
    }
}
