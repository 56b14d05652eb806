import Foundation
import StrataHTTP
import StrataRegistry

/// One `RegistryClient` per registry host for a whole command, so a token fetched
/// for one push serves the next (clients of the same host share their auth
/// state). Credentials come from `CredentialResolver` (docker's config.json,
/// `STRATA_REGISTRY_USER`/`_PASSWORD`, `GITHUB_TOKEN` for ghcr.io).
public final class RegistryAccess: @unchecked Sendable {
    private let resolver: CredentialResolver
    private let insecureHosts: Set<String>
    private let transport: any HTTPTransport
    private let retryPolicy: RetryPolicy
    private let lock = NSLock()
    private var clients: [String: RegistryClient] = [:]

    /// `insecureHosts` may use plain HTTP (loopback hosts always may). `transport` defaults
    /// to libcurl under `timeouts`.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, insecureHosts: Set<String> = [],
        timeouts: HTTPTimeouts = HTTPTimeouts(), transport: (any HTTPTransport)? = nil, retryPolicy: RetryPolicy = .standard
    ) {
        resolver = CredentialResolver(environment: environment)
        self.insecureHosts = insecureHosts
        self.transport = transport ?? CurlTransport(configuration: CurlTransport.Configuration(timeouts: timeouts))
        self.retryPolicy = retryPolicy
    }

    /// The client of `host`, made on first use.
    public func client(for host: String) throws -> RegistryClient {
        lock.lock()
        defer { lock.unlock() }
        if let client = clients[host] { return client }
        let client = RegistryClient(
            host: host, transport: transport, credentials: try resolver.credentials(for: host),
            insecure: insecureHosts.contains(host), retryPolicy: retryPolicy)
        clients[host] = client
        return client
    }

    /// The credentials strata uses for `host` (for an engine's pull), or nil.
    public func credentials(for host: String) throws -> Credentials? {
        try resolver.credentials(for: host)
    }

    /// The registries found unreachable so far in this run, with why, by host.
    public var unreachable: [(host: String, cause: HTTPError)] {
        let clients = lock.withLock { self.clients }
        return clients.compactMap { host, client in client.unreachable.map { (host, $0) } }.sorted { $0.host < $1.host }
    }

    /// The manifest digest `reference` names, or nil when the registry has no such
    /// tag: one `HEAD`, the remote cache's lookup of `strata-<key>`.
    public func manifestDigest(_ reference: RegistryReference) async throws -> String? {
        guard let tag = reference.reference else { return nil }
        return try await client(for: reference.host)
            .manifestDescriptor(repository: reference.repository, reference: tag)?.digest.description
    }
}

/// Runs `body` on every item, at most `limit` at once; results in item order.
func concurrentMap<T: Sendable, R: Sendable>(
    _ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> R
) async throws -> [R] {
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var results: [Int: R] = [:]
        var next = 0
        func launch() {
            guard next < items.count else { return }
            let index = next, item = items[index]
            group.addTask {
                // The tuple is built after the await (docs/release-miscompile.md).
                let result = try await body(item)
                return (index, result)
            }
            next += 1
        }
        for _ in 0..<max(1, limit) { launch() }
        while let (index, result) = try await group.next() {
            results[index] = result
            launch()
        }
        return items.indices.map { results[$0]! }
    }
}
