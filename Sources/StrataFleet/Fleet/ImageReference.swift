/// An image reference split as the distribution reference grammar does
/// (distribution/reference `reference.go`): `[domain/]path[:tag][@digest]`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host (`ghcr.io`, `127.0.0.1:5000`), nil for a short name.
    public var domain: String?
    /// The repository path inside the registry (`acme/base-python`).
    public var path: String
    public var tag: String?
    public var digest: String?

    public init(domain: String?, path: String, tag: String?, digest: String?) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// Splits `reference` without validating it; a reference the grammar would reject is
    /// still split the same way, so a finding can name its parts.
    public init(parsing reference: String) {
        var rest = Substring(reference)
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
        } else {
            digest = nil
        }
        let lastSlash = rest.lastIndex(of: "/")
        let nameEnd = lastSlash.map { rest.index(after: $0) } ?? rest.startIndex
        if let colon = rest[nameEnd...].lastIndex(of: ":") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        } else {
            tag = nil
        }
        // The first component is a registry host when it looks like one (has a dot or a port,
        // or is localhost), as the docker CLI decides (`splitDockerDomain`).
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost" {
                domain = String(first)
                rest = rest[rest.index(after: slash)...]
            } else {
                domain = nil
            }
        } else {
            domain = nil
        }
        path = String(rest)
    }

    /// `domain/path` (or `path`).
    public var repository: String {
        domain.map { "\($0)/\(path)" } ?? path
    }

    public var description: String {
        var text = repository
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
