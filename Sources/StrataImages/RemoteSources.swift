import StrataHTTP
import StrataHash

/// What an `ADD <url>` without `--checksum` serves now, for the input key (DESIGN.md "Input
/// keys"): the same question BuildKit's HTTP source asks before it fetches again.
///
/// - A `HEAD` (redirects followed) whose answer has a strong `ETag`: `url etag:"…"`.
/// - Otherwise the body is downloaded and hashed: `url sha256:…`.
/// - A git source (`git@…`, `git://…`, an `http(s)` URL of a `.git` repository) is not
///   fetched here: it stays unresolved, keyed by its URL, and the caller warns.
///
/// Each URL is asked once per run. With `ADD --checksum=` there is nothing to ask: the
/// checksum is in the Dockerfile's text, so in the key.
public struct RemoteSources: Sendable {
    let client: HTTPClient

    public init(transport: any HTTPTransport) {
        client = HTTPClient(transport: transport)
    }

    /// Every URL → `.digest("etag:\"…\"" or "sha256:…")`, or why it is unresolved.
    public func resolve(_ urls: [String]) async -> [String: BaseResolution.Identity] {
        let unique = Array(Set(urls)).sorted()
        let results = (try? await concurrentMap(unique, limit: 8) { url in await self.identity(of: url) }) ?? []
        return Dictionary(uniqueKeysWithValues: zip(unique, results))
    }

    /// `url etag:"…"`, `url sha256:…` or `url (unresolved)`: what the key holds.
    public static func keyed(_ url: String, _ identity: BaseResolution.Identity?) -> String {
        if case .digest(let digest)? = identity { return "\(url) \(digest)" }
        return "\(url) (unresolved)"
    }

    func identity(of url: String) async -> BaseResolution.Identity {
        let lowered = url.lowercased()
        let path = lowered.split(separator: "#", maxSplits: 1).first.map(String.init) ?? lowered
        if lowered.hasPrefix("git@") || lowered.hasPrefix("git://") || path.hasSuffix(".git") {
            return .unresolved(reason: "a git repository is keyed by its URL, not by the commit it names")
        }
        do {
            let head = try await client.send(HTTPRequest(method: "HEAD", url: url, followRedirects: true))
            if let etag = head.headers["ETag"], !etag.hasPrefix("W/"), !etag.isEmpty {
                return .digest("etag:\(etag)")
            }
            let response = try await client.stream(HTTPRequest(url: url, followRedirects: true, bulk: true))
            var hasher = try SHA256Hasher()
            for try await chunk in response.body { try hasher.update(chunk) }
            return .digest(try hasher.finalize().description)
        } catch {
            return .unresolved(reason: "\(error)")
        }
    }
}
