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
