/// One problem found in a fleet before any build: what `strata check` prints, and what makes
/// `graph`, `plan` and `build` refuse a fleet when its severity is `error`.
public struct Finding: Sendable, Equatable, Codable {
    public enum Severity: String, Sendable, Codable, Comparable {
        case error, warning

        public static func < (lhs: Severity, rhs: Severity) -> Bool {
            lhs == .error && rhs == .warning
        }
    }

    public var severity: Severity
    /// Stable rule id (`missing-dockerfile`, `cycle`, `undefined-arg`…).
    public var rule: String
    /// File relative to the manifest's folder.
    public var file: String
    /// 1-based line, 0 when the finding is about a whole file.
    public var line: Int
    /// The node (or image) concerned, when there is one.
    public var node: String?
    public var message: String
    /// What to do about it.
    public var hint: String?

    public init(_ severity: Severity, rule: String, at location: SourceLocation, node: String? = nil,
                message: String, hint: String? = nil) {
        self.severity = severity
        self.rule = rule
        self.file = location.file
        self.line = location.line
        self.node = node
        self.message = message
        self.hint = hint
    }

    public var location: SourceLocation { SourceLocation(file: file, line: line) }

    /// Every rule a finding can have: a one-line summary and what to do (SARIF's rule
    /// `shortDescription` and `help`).
    public static let rules: [String: (summary: String, help: String)] = [
        "manifest": ("The manifest cannot be read", "Fix the file and line named; `strata check` reads nothing else until then."),
        "cycle": ("Images depend on each other in a cycle", "Break the cycle: a FROM, COPY --from or from: edge must go."),
        "missing-context": ("An image's context folder does not exist", "Fix context: (a moved folder is suggested)."),
        "missing-dockerfile": ("An image's Dockerfile does not exist", "Fix dockerfile: (a moved file is suggested)."),
        "dockerfile-syntax": ("A Dockerfile does not parse as BuildKit parses it", "Fix the instruction on the line named."),
        "unknown-target": ("target: names no stage of the Dockerfile", "Name a stage written FROM … AS name."),
        "unknown-parent": ("from: names no image of the fleet", "Name an image of the manifest."),
        "unknown-variant": ("An image names a variant dimension the manifest does not define", "Define it under variants:."),
        "variant-mismatch": ("A child cannot tell which build of a parent with several it is built on",
                             "Give the child the parent's variants, or the same platforms."),
        "undefined-arg": ("A variable is used and has no value", "Declare it with ARG and give it a default or a value in args:."),
        "duplicate-tag": ("Two nodes push the same tag", "Make the tags distinct (variants get -<variant> suffixes)."),
        "from-mismatch": ("A fleet parent is named in a way that does not resolve the same everywhere",
                          "Write the parent's name as the manifest does."),
        "port-collision": ("Two services of one machine expose the same port", "Give them distinct ports."),
        "missing-copy-source": ("A COPY or ADD source is not in the context", "Fix the path, or add the file."),
        "ignored-copy-source": ("A COPY or ADD source is excluded by .dockerignore", "Re-include it with a ! pattern, or drop it."),
        "latest-base": ("A base image is not pinned", "Pin a tag or a digest."),
        "root-user": ("The image runs as root", "Add a USER instruction."),
        "no-healthcheck": ("A service has no HEALTHCHECK", "Add one, so the runtime knows when it is ready."),
        "secret-in-env": ("An ARG or ENV looks like a secret: it is stored in the image",
                          "Mount it with RUN --mount=type=secret and give it with strata build --secret."),
        "unpinned-url": ("ADD fetches a URL without --checksum", "Add --checksum=sha256:… so the build is reproducible."),
        "compose-variable": ("A compose variable has no value", "Set it in the environment or .env, or give a default."),
        "compose-unsupported": ("A compose build: key strata does not honour", "See the message for what strata does instead."),
        "compose-unknown-key": ("A key that is not a compose build: key", "Fix the spelling; strata ignores the key."),
    ]

    enum CodingKeys: String, CodingKey { case severity, rule, file, line, node, message, hint }

    /// Every key is always present (`null` when unset), so scripts can rely on the shape.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(severity, forKey: .severity)
        try container.encode(rule, forKey: .rule)
        try container.encode(file, forKey: .file)
        try container.encode(line, forKey: .line)
        try container.encode(node, forKey: .node)
        try container.encode(message, forKey: .message)
        try container.encode(hint, forKey: .hint)
    }
}

extension Finding: CustomStringConvertible {
    /// `file:line: severity: message [rule] (hint)` — the text format, one line.
    public var description: String {
        var text = "\(location): \(severity.rawValue): \(message) [\(rule)]"
        if let hint { text += " (\(hint))" }
        return text
    }
}
