import Foundation

/// What tag templates are expanded from: the commit, the ref and the clock of one build.
/// Gathered once per command (`TagValues.resolve`); `variant` is set per node.
public struct TagValues: Sendable, Equatable {
    /// The full commit hash.
    public var sha: String?
    /// The branch name as git or GitHub names it (`feature/x`), before sanitizing.
    public var branch: String?
    /// The git tag the commit is at (`v1.2.3`), before sanitizing.
    public var gitTag: String?
    /// The moment whose UTC day `{date}` names.
    public var date: Date?
    /// The node's variant (`mainpc`).
    public var variant: String?

    public init(sha: String? = nil, branch: String? = nil, gitTag: String? = nil, date: Date? = nil,
                variant: String? = nil) {
        self.sha = sha
        self.branch = branch
        self.gitTag = gitTag
        self.date = date
        self.variant = variant
    }

    /// The values of a build. GitHub Actions' variables win (`GITHUB_SHA`, `GITHUB_REF_TYPE` +
    /// `GITHUB_REF_NAME`, else `GITHUB_REF`; `GITHUB_HEAD_REF` for a pull request's branch, as
    /// docker/metadata-action does), else `git` answers: `git(["rev-parse", "HEAD"])` returns
    /// its trimmed output, nil when it fails. Pure given its arguments.
    public static func resolve(environment: [String: String], now: Date,
                               git: (_ arguments: [String]) -> String?) -> TagValues {
        func variable(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        var values = TagValues(date: now)
        values.sha = variable("GITHUB_SHA") ?? git(["rev-parse", "HEAD"])
        let pullRequestBranch = variable("GITHUB_HEAD_REF")
        if let type = variable("GITHUB_REF_TYPE"), let name = variable("GITHUB_REF_NAME") {
            if type == "tag" { values.gitTag = name } else { values.branch = pullRequestBranch ?? name }
        } else if let ref = variable("GITHUB_REF") {
            if ref.hasPrefix("refs/tags/") {
                values.gitTag = String(ref.dropFirst("refs/tags/".count))
            } else if ref.hasPrefix("refs/heads/") {
                values.branch = String(ref.dropFirst("refs/heads/".count))
            } else {
                values.branch = pullRequestBranch
            }
        } else {
            // `--abbrev-ref` prints `HEAD` on a detached checkout: no branch then.
            values.branch = git(["rev-parse", "--abbrev-ref", "HEAD"]).flatMap { $0 == "HEAD" ? nil : $0 }
            values.gitTag = git(["describe", "--tags", "--exact-match"])
        }
        return values
    }
}

/// Tag templates with the placeholders docker/metadata-action users know: `{sha}`,
/// `{short_sha}`, `{branch}`, `{tag}`, `{semver.major}`, `{semver.minor}`, `{semver.patch}`,
/// `{date}` and `{variant}`. A tag without `{` is returned as written.
public enum TagTemplate {
    /// Every placeholder, in the order errors list them.
    public static let placeholders = ["sha", "short_sha", "branch", "tag", "semver.major", "semver.minor",
                                      "semver.patch", "date", "variant"]

    /// A template that cannot be expanded, with where it was written.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public enum Origin: Sendable, Equatable {
            /// `tags:` of an image in the manifest, at this line.
            case manifest(SourceLocation)
            /// `--tag` on the command line.
            case option
        }

        public enum Reason: Sendable, Equatable {
            case unknownPlaceholder(String)
            case unclosedBrace
            /// The placeholder, and why the build has no value for it.
            case noValue(String, why: String)
            /// The expansion is not a valid tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
            case invalidTag(String)
        }

        public var template: String
        public var origin: Origin?
        public var reason: Reason

        public init(template: String, origin: Origin? = nil, reason: Reason) {
            self.template = template
            self.origin = origin
            self.reason = reason
        }

        public var description: String {
            var head = "tag template '\(template)'"
            switch origin {
            case .manifest(let location): head = "\(location): " + head
            case .option: head += " (--tag)"
            case nil: break
            }
            switch reason {
            case .unknownPlaceholder(let name):
                return "\(head): unknown placeholder {\(name)}; the placeholders are "
                    + TagTemplate.placeholders.map { "{\($0)}" }.joined(separator: ", ")
            case .unclosedBrace:
                return "\(head): a '{' is not closed; placeholders are written {name}"
            case .noValue(let name, let why):
                return "\(head): {\(name)} has no value in this build: \(why)"
            case .invalidTag(let tag):
                return "\(head): expands to '\(tag)', which is not a valid tag "
                    + "(letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')"
            }
        }
    }

    /// True when `text` has a placeholder to expand.
    public static func isTemplate(_ text: String) -> Bool {
        text.contains("{")
    }

    /// `template` with every placeholder replaced. Throws for an unknown placeholder, one
    /// this build has no value for, or a result that is not a valid tag.
    public static func expand(_ template: String, values: TagValues,
                              origin: Error.Origin? = nil) throws(Error) -> String {
        guard isTemplate(template) else { return template }
        func fail(_ reason: Error.Reason) -> Error { Error(template: template, origin: origin, reason: reason) }
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { throw fail(.unclosedBrace) }
            let name = String(rest[rest.index(after: open)..<close])
            switch value(of: name, in: values) {
            case .success(let value): result += value
            case .failure(let reason): throw fail(reason)
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        guard isValidTag(result) else { throw fail(.invalidTag(result)) }
        return result
    }

    /// A ref name made a tag, as docker/metadata-action does: every character outside
    /// `[A-Za-z0-9._-]` (a `/` too) becomes `-`, at most 128 characters; branches are also
    /// lowercased.
    public static func sanitize(_ name: String, lowercase: Bool) -> String {
        let text = lowercase ? name.lowercased() : name
        let mapped = text.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "-": Character(scalar)
            default: "-"
            }
        }
        return String(mapped.prefix(128))
    }

    /// The OCI distribution spec's tag grammar: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.unicodeScalars.first, tag.unicodeScalars.count <= 128 else { return false }
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "-": true
            default: false
            }
        }
        return allowed(first) && first != "." && first != "-" && tag.unicodeScalars.allSatisfy(allowed)
    }

    /// `v1.2.3`, `1.2.3`, `v1.2.3-rc.1` → (1, 2, 3); nil for anything else.
    public static func semver(_ tag: String) -> (major: String, minor: String, patch: String)? {
        var text = Substring(tag)
        if text.first == "v" || text.first == "V" { text = text.dropFirst() }
        if let suffix = text.firstIndex(where: { $0 == "-" || $0 == "+" }) { text = text[..<suffix] }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }) else { return nil }
        return (String(parts[0]), String(parts[1]), String(parts[2]))
    }

    /// `YYYYMMDD` of `date` in UTC.
    public static func day(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d%02d%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// A placeholder's value, or why there is none.
    enum Lookup {
        case success(String)
        case failure(Error.Reason)
    }

    static func value(of name: String, in values: TagValues) -> Lookup {
        let noSHA = "not in a git repository, and GITHUB_SHA is not set"
        let noTag = "the commit is not at a git tag (git describe --tags --exact-match), and GITHUB_REF_TYPE is not 'tag'"
        switch name {
        case "sha":
            return values.sha.map { .success($0) } ?? .failure(.noValue(name, why: noSHA))
        case "short_sha":
            return values.sha.map { .success(String($0.prefix(7))) } ?? .failure(.noValue(name, why: noSHA))
        case "branch":
            guard let branch = values.branch else {
                return .failure(.noValue(name, why: values.gitTag.map { "the build is for git tag '\($0)', not a branch" }
                    ?? "HEAD is not on a branch, and GITHUB_REF_NAME is not set"))
            }
            return .success(sanitize(branch, lowercase: true))
        case "tag":
            return values.gitTag.map { .success(sanitize($0, lowercase: false)) } ?? .failure(.noValue(name, why: noTag))
        case "semver.major", "semver.minor", "semver.patch":
            guard let tag = values.gitTag else { return .failure(.noValue(name, why: noTag)) }
            guard let version = semver(tag) else {
                return .failure(.noValue(name, why: "git tag '\(tag)' is not a version like v1.2.3 or 1.2.3"))
            }
            return .success(name == "semver.major" ? version.major : name == "semver.minor" ? version.minor : version.patch)
        case "date":
            return values.date.map { .success(day($0)) } ?? .failure(.noValue(name, why: "no build date was given"))
        case "variant":
            return values.variant.map { .success($0) }
                ?? .failure(.noValue(name, why: "the image has no variants"))
        default:
            return .failure(.unknownPlaceholder(name))
        }
    }
}

extension TagTemplate {
    /// An extra tag (`--tag`) of a node: expanded with the node's variant, then suffixed
    /// `-<variant>` like every variant tag, unless the template places `{variant}` itself.
    public static func extraTag(_ template: String, variant: String?, values: TagValues) throws(Error) -> String {
        var values = values
        values.variant = variant
        let expanded = try expand(template, values: values, origin: .option)
        guard let variant, !template.contains("{variant}") else { return expanded }
        let suffixed = expanded + "-" + variant
        if isTemplate(template), !isValidTag(suffixed) {
            throw Error(template: template, origin: .option, reason: .invalidTag(suffixed))
        }
        return suffixed
    }

    /// A node's tag from the manifest (`BuildNode.tags`, where the resolver already placed
    /// the variant), expanded.
    public static func nodeTag(_ tag: String, of node: BuildNode, values: TagValues,
                               origin: Error.Origin? = nil) throws(Error) -> String {
        var values = values
        values.variant = node.variant
        return try expand(tag, values: values, origin: origin)
    }

    /// Expands, before anything is built, every tag the `nodes` will get: their manifest
    /// tags, and `extraTags` for the `requested` ones. The first failure is thrown, naming
    /// the template as written and its manifest line.
    public static func validate(fleet: Fleet, nodes: [Int], requested: Set<Int>, extraTags: [String],
                                values: TagValues) throws(Error) {
        for index in nodes {
            let node = fleet.nodes[index]
            let image = fleet.image(named: node.image)
            for (position, tag) in node.tags.enumerated() where isTemplate(tag) {
                do {
                    _ = try nodeTag(tag, of: node, values: values, origin: image.map { .manifest($0.location(of: "tags")) })
                } catch var error {
                    if let written = image?.tags, position < written.count { error.template = written[position] }
                    throw error
                }
            }
            if requested.contains(index) {
                for tag in extraTags { _ = try extraTag(tag, variant: node.variant, values: values) }
            }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
