/// The rules of a `.dockerignore` file, read and matched with Docker's semantics:
/// the reader is moby/patternmatcher `ignorefile.ReadAll`, the matcher is
/// `PatternMatcher.MatchesUsingParentResults` as BuildKit's file walker
/// (tonistiigi/fsutil) calls it, directory by directory.
///
/// Reading: a line whose first character is `#` is a comment (an indented `#` is
/// not); lines are trimmed; blank lines are skipped; a UTF-8 BOM on the first line is
/// dropped; `!` marks an exception; each pattern is cleaned like Go's
/// `filepath.Clean` and loses a leading `/` (so `/foo`, `./foo` and `foo/` all mean
/// `foo`). Matching: the last matching rule wins; a rule that matches a directory
/// also matches everything below it, and a later `!` rule can re-include a path
/// below an excluded directory.
public struct DockerIgnore: Sendable {
    /// One pattern of the file, with where it was written (for error messages).
    public struct Rule: Sendable, Equatable, CustomStringConvertible {
        /// The cleaned pattern, without the leading `!` of an exception.
        public let pattern: String
        /// True for a `!` exception.
        public let isException: Bool
        /// 1-based line in `file`.
        public let line: Int
        /// The ignore file the rule comes from.
        public let file: String

        public var description: String { "\(file):\(line): \(isException ? "!" : "")\(pattern)" }
    }

    /// Why an ignore file cannot be used.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// A pattern moby rejects (it fails `filepath.Match`, or is a lone `!`).
        case invalidPattern(file: String, line: Int, pattern: String, reason: String)
        /// The file exists but could not be read.
        case unreadable(path: String, errno: Int32)

        public var description: String {
            switch self {
            case let .invalidPattern(file, line, pattern, reason):
                return "\(file):\(line): invalid .dockerignore pattern \"\(pattern)\": \(reason); fix or remove the line"
            case let .unreadable(path, code):
                return "cannot read \(path): \(systemErrorMessage(code))"
            }
        }
    }

    /// The ignore file's path as given (used in messages).
    public let file: String
    /// The rules in file order.
    public let rules: [Rule]
    let patterns: [IgnorePattern]

    /// True when some rule is a `!` exception; excluded directories must then still be
    /// walked, since a path below them may be re-included.
    public var hasExceptions: Bool { rules.contains { $0.isException } }

    /// Parses the text of an ignore file; `file` names it in rules and errors.
    public init(contents: String, file: String) throws(Error) {
        self.file = file
        var rules: [Rule] = []
        var patterns: [IgnorePattern] = []
        for (offset, rawLine) in Self.lines(of: contents).enumerated() {
            guard var text = Self.normalize(rawLine) else { continue }
            let isException = text.hasPrefix("!")
            if isException { text.removeFirst() }
            // patternmatcher.New rejects a lone "!" (ignorefile keeps "!" for "! ").
            if isException && text.isEmpty {
                throw .invalidPattern(file: file, line: offset + 1, pattern: "!", reason: "an exception needs a pattern")
            }
            do {
                patterns.append(try IgnorePattern(cleaned: text, isException: isException))
            } catch {
                throw .invalidPattern(file: file, line: offset + 1, pattern: rawLine, reason: Self.reason(error))
            }
            rules.append(Rule(pattern: text, isException: isException, line: offset + 1, file: file))
        }
        self.rules = rules
        self.patterns = patterns
    }

    /// True when the build context would not contain `relativePath`
    /// (slash-separated, relative to the context root).
    public func isExcluded(_ relativePath: String) -> Bool {
        excludingRule(relativePath) != nil
    }

    /// The rule that excludes `relativePath`, or nil when the path is sent.
    public func excludingRule(_ relativePath: String) -> Rule? {
        let path = cleanPath(relativePath)
        guard path != ".", !path.hasPrefix("../"), path != ".." else { return nil }
        // Evaluate each ancestor in turn, exactly as the walker does, so that a
        // path's verdict here and in `walkContext` can never differ.
        var state: MatchState?
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
            state = evaluate(prefix, parent: state)
        }
        return state?.rule.map { rules[$0] }
    }

    /// The per-pattern results for one path, passed down to its children
    /// (moby's `MatchInfo`).
    struct MatchState: Sendable {
        var parentMatched: [Bool]
        /// Index of the rule that excluded the path, nil when it is included.
        var rule: Int?
        var isExcluded: Bool { rule != nil }
    }

    /// `MatchesUsingParentResults`: a pattern that matched the parent counts as
    /// matching the child; otherwise it is tried when it could change the verdict.
    func evaluate(_ path: String, parent: MatchState?) -> MatchState {
        var matched: [Bool] = Array(repeating: false, count: patterns.count)
        var rule: Int?
        for (index, pattern) in patterns.enumerated() {
            var match = parent?.parentMatched[index] ?? false
            if !match {
                // An inclusion cannot change an excluded path, nor an exception an included one.
                if pattern.isException != (rule != nil) { continue }
                match = pattern.matches(path)
            }
            matched[index] = match
            if match { rule = pattern.isException ? nil : index }
        }
        return MatchState(parentMatched: matched, rule: rule)
    }

    /// Whether some exception could re-include a path below the excluded directory
    /// `directory`. BuildKit walks every excluded directory once any exception exists;
    /// we skip those no exception can reach: its leading literal components name
    /// another directory. Conservative: any wildcard answers yes.
    func mayReinclude(below directory: String) -> Bool {
        let parts = directory.split(separator: "/")
        return patterns.contains { pattern in
            guard pattern.isException else { return false }
            for (depth, part) in parts.enumerated() {
                guard depth < pattern.components.count else { return true }
                let component = pattern.components[depth]
                if component.contains(where: { "*?[\\".contains($0) }) { return true }
                if component != part { return false }
            }
            return true
        }
    }

    /// Splits like Go's `bufio.Scanner`: on "\n", dropping a trailing "\r".
    private static func lines(of contents: String) -> [String] {
        // Split bytes, not Characters: in Swift "\r\n" is one Character.
        var bytes = contents.utf8[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// `ignorefile.ReadAll` for one line: nil for comments and blank lines, else the
    /// cleaned pattern, with its `!` kept in front.
    private static func normalize(_ line: String) -> String? {
        if line.hasPrefix("#") { return nil }
        var pattern = trimSpace(Substring(line))
        if pattern.isEmpty { return nil }
        let isException = pattern.hasPrefix("!")
        if isException { pattern = trimSpace(pattern.dropFirst()) }
        var cleaned = ""
        if !pattern.isEmpty {
            cleaned = cleanPath(String(pattern))
            if cleaned.count > 1, cleaned.hasPrefix("/") { cleaned.removeFirst() }
        }
        return isException ? "!" + cleaned : cleaned
    }

    private static func reason(_ error: IgnorePattern.SyntaxError) -> String {
        switch error {
        case .unterminatedClass: return "a '[' class is not closed by ']'"
        case .emptyClass: return "a '[]' class is empty"
        case .badRange: return "a '[' class has a bad range"
        case .trailingBackslash: return "it ends with a lone '\\'"
        }
    }
}

/// Go's `strings.TrimSpace`: drops Unicode white space at both ends.
func trimSpace(_ text: Substring) -> Substring {
    let scalars = text.unicodeScalars
    guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
          let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
    return Substring(scalars[start...last])
}

/// Go's `path.Clean`: the shortest equivalent slash path, "." when empty.
func cleanPath(_ path: String) -> String {
    let rooted = path.hasPrefix("/")
    var parts: [Substring] = []
    for part in path.split(separator: "/") {
        switch part {
        case ".": continue
        case "..":
            if let last = parts.last, last != ".." { parts.removeLast() } else if !rooted { parts.append(part) }
        default: parts.append(part)
        }
    }
    let joined = parts.joined(separator: "/")
    if rooted { return "/" + joined }
    return joined.isEmpty ? "." : joined
}
