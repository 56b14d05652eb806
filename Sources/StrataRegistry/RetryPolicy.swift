import StrataHTTP

/// The one retry policy of the registry client: every request, the token
/// requests and the upload and download loops go through `run`.
///
/// Transient failures — 429, 5xx other than 501/505, a broken connection —
/// are tried again after an exponential backoff with full jitter (a random
/// delay up to `baseDelay · 2^(attempt-1)`, capped at `maxDelay`), or after
/// the server's `Retry-After` when it sent one (capped at `maxRetryAfter`).
/// Only idempotent requests are repeated as they are; uploads resume from
/// what the registry holds instead (see `RegistryClient.pushBlob`).
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included; for a loop that makes progress
    /// (an upload's chunks), consecutive failed attempts.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// A registry asking for more than this gets this.
    public var maxRetryAfter: Duration
    /// How to wait (tests record the delays instead of sleeping).
    var sleep: @Sendable (Duration) async throws -> Void
    /// A random number in 0...1 for the jitter.
    var random: @Sendable () -> Double

    public init(
        maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(60)
    ) {
        self.init(
            maxAttempts: maxAttempts, baseDelay: baseDelay, maxDelay: maxDelay, maxRetryAfter: maxRetryAfter,
            sleep: { try await Task.sleep(for: $0) }, random: { Double.random(in: 0...1) })
    }

    init(
        maxAttempts: Int, baseDelay: Duration, maxDelay: Duration, maxRetryAfter: Duration,
        sleep: @escaping @Sendable (Duration) async throws -> Void, random: @escaping @Sendable () -> Double
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
        self.sleep = sleep
        self.random = random
    }

    /// The default: 5 attempts, 250 ms doubling up to 8 s.
    public static let standard = RetryPolicy()

    /// Never retries.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `failures + 1`.
    func delay(afterFailures failures: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, maxRetryAfter) }
        let exponent = min(failures - 1, 30)
        let ceiling = min(baseDelay * (1 << exponent), maxDelay)
        return ceiling * random()
    }

    /// Runs `body` until it succeeds, fails for good, or `maxAttempts`
    /// consecutive attempts failed. `body` gets the failure count so far and
    /// may call `progress.reset()` when it moved forward (an upload's chunk),
    /// so a long transfer is not cut short by failures spread over hours.
    func run<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (_ progress: RetryProgress) async throws -> T
    ) async throws -> T {
        let progress = RetryProgress()
        while true {
            do {
                return try await body(progress)
            } catch {
                progress.failures += 1
                guard progress.failures < maxAttempts, let hint = Self.transient(error) else { throw error }
                try await sleep(delay(afterFailures: progress.failures, retryAfter: hint))
            }
        }
    }

    /// nil when `error` is final; else `.some(retryAfter)`, where a nil
    /// Retry-After lets the backoff decide.
    private static func transient(_ error: any Error) -> Duration?? {
        switch error {
        case let error as Registry.Error where error.isTransient: .some(error.retryAfter)
        case is UploadLost: .some(nil)
        case let error as HTTPError:
            switch error {
            case .transport, .truncated: .some(nil)
            case .status, .bodyStream, .timedOut: nil
            }
        default: nil
        }
    }
}

/// The failure count of one `RetryPolicy.run` loop.
final class RetryProgress {
    fileprivate(set) var failures = 0

    /// The loop moved forward: earlier failures no longer count.
    func reset() {
        failures = 0
    }
}
