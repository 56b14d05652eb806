/// One compiled `.dockerignore` pattern, matching exactly as moby/patternmatcher's
/// `Pattern.match` does (`patternmatcher.go`, `compile`): the pattern is sorted into
/// one of four match types, and only the regexp type runs a glob matcher.
///
/// Where moby turns the pattern into a Go regexp, we interpret the same token
/// sequence directly: `*` is `[^/]*`, `?` is `[^/]`, a `**` is `(.*/)?`, a trailing
/// `**` is `.*`, `[…]` is a character class (which, as in the Go regexp, may match
/// `/`), `\x` is a literal `x`. Not reproduced: Go regexp readings of `\d`-style
/// escapes and of a bare `^` outside a class (which can never match there).
struct IgnorePattern: Sendable {
    /// The cleaned pattern without its leading `!`.
    let cleaned: String
    /// True for a `!` exception (re-inclusion) rule.
    let isException: Bool
    /// Path components of `cleaned`, used to decide whether an exception could
    /// re-include anything below an excluded directory.
    let components: [Substring]
    private let kind: Kind

    enum Kind: Sendable {
        case exact
        /// `foo/**`, `foo**`: moby strips the trailing `**` and tests a string prefix.
        case prefix(String)
        /// `**/foo`, `**foo`: moby strips the leading `**` and tests a string suffix.
        case suffix(String)
        case glob([Token])
    }

    enum Token: Sendable, Equatable {
        case literal(UInt8)
        case anyCharacter
        case star
        case globstar
        case rest
        case characterClass(CharacterClass)
    }

    struct CharacterClass: Sendable, Equatable {
        var negated: Bool
        var ranges: [ClosedRange<UInt32>]

        func contains(_ scalar: UInt32) -> Bool {
            ranges.contains { $0.contains(scalar) } != negated
        }
    }

    /// Why a pattern is malformed; moby rejects these through `filepath.Match`.
    enum SyntaxError: Swift.Error, Equatable {
        case unterminatedClass
        case emptyClass
        case badRange
        case trailingBackslash
    }

    init(cleaned: String, isException: Bool) throws(SyntaxError) {
        self.cleaned = cleaned
        self.isException = isException
        self.components = cleaned.split(separator: "/", omittingEmptySubsequences: false)
        self.kind = try Self.compile(Array(cleaned.unicodeScalars))
    }

    /// Mirrors `Pattern.compile`: the match type starts as exact and is refined
    /// character by character; `i == 0` is the first iteration of moby's loop.
    private static func compile(_ scalars: [Unicode.Scalar]) throws(SyntaxError) -> Kind {
        enum Detected { case exact, prefix, suffix, glob }
        var detected = Detected.exact
        var tokens: [Token] = []
        var index = 0
        var iteration = 0
        func appendLiteral(_ scalar: Unicode.Scalar) {
            tokens.append(contentsOf: UTF8.encode(scalar)!.map(Token.literal))
        }
        while index < scalars.count {
            defer { iteration += 1 }
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "*":
                guard index < scalars.count, scalars[index] == "*" else {
                    tokens.append(.star)
                    detected = .glob
                    continue
                }
                index += 1
                if index < scalars.count, scalars[index] == "/" { index += 1 }
                if index == scalars.count {
                    // "**" at the end accepts everything below, as .gitignore does.
                    if detected == .exact { detected = .prefix } else {
                        tokens.append(.rest)
                        detected = .glob
                    }
                } else {
                    tokens.append(.globstar)
                    detected = .glob
                }
                if iteration == 0 { detected = .suffix }
            case "?":
                tokens.append(.anyCharacter)
                detected = .glob
            case "\\":
                guard index < scalars.count else { throw .trailingBackslash }
                appendLiteral(scalars[index])
                index += 1
                detected = .glob
            case "[":
                tokens.append(.characterClass(try parseClass(scalars, &index)))
                detected = .glob
            case "]":
                appendLiteral(scalar)
                detected = .glob
            default:
                appendLiteral(scalar)
            }
        }
        let text = String(String.UnicodeScalarView(scalars))
        switch detected {
        case .exact: return .exact
        case .prefix: return .prefix(String(text.utf8.dropLast(2))!)
        case .suffix: return .suffix(String(text.utf8.dropFirst(2))!)
        case .glob: return .glob(tokens)
        }
    }

    /// A class as `filepath.Match` validates it: optional `^`, then one or more
    /// `lo` or `lo-hi` items (each may be `\`-escaped), closed by `]`.
    private static func parseClass(_ scalars: [Unicode.Scalar], _ index: inout Int) throws(SyntaxError) -> CharacterClass {
        var negated = false
        if index < scalars.count, scalars[index] == "^" {
            negated = true
            index += 1
        }
        func element() throws(SyntaxError) -> UInt32 {
            guard index < scalars.count else { throw .unterminatedClass }
            var scalar = scalars[index]
            if scalar == "-" || scalar == "]" { throw .badRange }
            if scalar == "\\" {
                index += 1
                guard index < scalars.count else { throw .unterminatedClass }
                scalar = scalars[index]
            }
            index += 1
            return scalar.value
        }
        var ranges: [ClosedRange<UInt32>] = []
        while true {
            guard index < scalars.count else { throw ranges.isEmpty ? .emptyClass : .unterminatedClass }
            if scalars[index] == "]" {
                if ranges.isEmpty { throw .emptyClass }
                index += 1
                return CharacterClass(negated: negated, ranges: ranges)
            }
            let low = try element()
            var high = low
            if index < scalars.count, scalars[index] == "-" {
                index += 1
                high = try element()
            }
            guard low <= high else { throw .badRange }
            ranges.append(low...high)
        }
    }

    /// Whether the slash-separated, cleaned relative `path` matches this pattern.
    func matches(_ path: String) -> Bool {
        switch kind {
        case .exact:
            return path == cleaned
        case .prefix(let prefix):
            return path.utf8.starts(with: prefix.utf8)
        case .suffix(let suffix):
            if path.utf8.reversed().starts(with: suffix.utf8.reversed()) { return true }
            // "**/foo" also matches "foo" at the top.
            return suffix.utf8.first == UInt8(ascii: "/") && path.utf8.elementsEqual(suffix.utf8.dropFirst())
        case .glob(let tokens):
            return Self.match(tokens[...], Array(path.utf8)[...])
        }
    }

    private static let slash = UInt8(ascii: "/")

    /// Backtracking match of the token list against the whole of `text`.
    private static func match(_ tokens: ArraySlice<Token>, _ text: ArraySlice<UInt8>) -> Bool {
        var tokens = tokens
        var text = text
        while let token = tokens.first {
            tokens = tokens.dropFirst()
            switch token {
            case .literal(let byte):
                guard text.first == byte else { return false }
                text = text.dropFirst()
            case .anyCharacter:
                guard let (scalar, length) = decodeScalar(text), scalar != UInt32(slash) else { return false }
                text = text.dropFirst(length)
            case .characterClass(let characterClass):
                guard let (scalar, length) = decodeScalar(text), characterClass.contains(scalar) else { return false }
                text = text.dropFirst(length)
            case .rest:
                return tokens.isEmpty || match(tokens, text[text.endIndex...])
            case .star:
                // Try the longest run first; a run never crosses a "/".
                let run = text.prefix { $0 != slash }
                var end = run.endIndex
                while true {
                    if match(tokens, text[end...]) { return true }
                    if end == text.startIndex { return false }
                    end -= 1
                }
            case .globstar:
                if match(tokens, text) { return true }
                var position = text.startIndex
                while let slashIndex = text[position...].firstIndex(of: slash) {
                    if match(tokens, text[(slashIndex + 1)...]) { return true }
                    position = slashIndex + 1
                }
                return false
            }
        }
        return text.isEmpty
    }

    /// One UTF-8 scalar at the start of `text` (an invalid byte counts as one
    /// character, as in Go's regexp).
    private static func decodeScalar(_ text: ArraySlice<UInt8>) -> (UInt32, Int)? {
        guard let first = text.first else { return nil }
        if first < 0x80 { return (UInt32(first), 1) }
        var iterator = text.prefix(4).makeIterator()
        var decoder = UTF8()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) {
            return (scalar.value, UTF8.width(scalar))
        }
        return (0xFFFD, 1)
    }
}
