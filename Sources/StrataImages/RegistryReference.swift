/// A registry reference split the way the distribution API needs it:
/// `127.0.0.1:5000/team/web:1.0` → host `127.0.0.1:5000`, repository
/// `team/web`, reference `1.0` (a tag, or `sha256:…` after `@`).
public struct RegistryReference: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var repository: String
    /// A tag or a digest; nil for a bare repository.
    public var reference: String?

    public init(host: String, repository: String, reference: String? = nil) {
        self.host = host
        self.repository = repository
        self.reference = reference
    }

    /// Parses `host/path[:tag|@digest]`. The first component must name a host
    /// (contain `.` or `:`, or be `localhost`): strata never guesses Docker Hub.
    public init(parsing text: String) throws(ImageTransfer.RegistryError) {
        var rest = Substring(text)
        var reference: String?
        if let at = rest.firstIndex(of: "@") {
            reference = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        } else if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            reference = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty,
              parts[0].contains(".") || parts[0].contains(":") || parts[0] == "localhost" else {
            throw .invalidReference(text, reason: "expected host/repository[:tag], e.g. 127.0.0.1:5000/team/web:1.0")
        }
        if let reference, reference.isEmpty {
            throw .invalidReference(text, reason: "the tag after ':' or '@' is empty")
        }
        self.init(host: String(parts[0]), repository: String(parts[1]), reference: reference)
    }

    /// The same repository with another tag or digest.
    public func with(reference: String?) -> RegistryReference {
        RegistryReference(host: host, repository: repository, reference: reference)
    }

    /// `host/repository`, without the tag.
    public var name: String { "\(host)/\(repository)" }

    public var description: String {
        guard let reference else { return name }
        return reference.hasPrefix("sha256:") ? "\(name)@\(reference)" : "\(name):\(reference)"
    }
}
