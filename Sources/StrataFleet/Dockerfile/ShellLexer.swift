/// Variable expansion as BuildKit does it for Dockerfile words
/// (moby/buildkit `frontend/dockerfile/shell/lex.go`): `$V`, `${V}`, `${V:-x}`, `${V-x}`,
/// `${V:+x}`, `${V+x}`, `${V:?msg}`, `${V?msg}`, `${V#pat}`, `${V##pat}`, `${V%pat}`,
/// `${V%%pat}`, `${V/pat/repl}`, `${V//pat/repl}`, single quotes (no expansion), double quotes,
/// and the escape character. Undefined variables expand to the empty string.
///
/// The lexer works on UTF-8 bytes: every character with a meaning is ASCII, so multi-byte
/// characters pass through untouched and no `String.Index` arithmetic is needed.
public struct ShellLexer: Sendable {
    /// The escape character (`\` or the backtick chosen by `# escape=`).
    public let escape: Character
    let escapeByte: UInt8

    /// Creates a lexer; `escape` is `\` or `` ` `` (any other character falls back to `\`).
    public init(escape: Character = "\\") {
        self.escape = escape
        self.escapeByte = escape == "`" ? UInt8(ascii: "`") : UInt8(ascii: "\\")
    }

    /// A word BuildKit would refuse to expand, e.g. `${V:?must be set}` with V unset or
    /// an unterminated quote.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// BuildKit's own wording (`V: must be set`, `syntax error: missing '}'`, …).
        public var message: String
        public var description: String { message }
    }

    /// Expands `word` as one word: quotes are removed, whitespace is kept (BuildKit `ProcessWord`).
    public func expand(_ word: String, _ lookup: (String) -> String?) throws(Error) -> String {
        try withoutActuallyEscaping(lookup) { (lookup) throws(Error) -> String in
            var state = ExpansionState(bytes: Array(word.utf8), escape: escapeByte, lookup: lookup)
            return String(decoding: try state.process().result, as: UTF8.self)
        }
    }

    /// Expands `text` and splits it into words on unquoted whitespace, including whitespace
    /// that comes from an unquoted expansion (BuildKit `ProcessWords`).
    public func expandWords(_ text: String, _ lookup: (String) -> String?) throws(Error) -> [String] {
        try withoutActuallyEscaping(lookup) { (lookup) throws(Error) -> [String] in
            var state = ExpansionState(bytes: Array(text.utf8), escape: escapeByte, lookup: lookup)
            return try state.process().words.map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// Every variable `word` refers to, in the order BuildKit looks them up (an inner
    /// `${B}` in `${A:-${B}}` comes before `A`). A word with a syntax error yields the
    /// references found before the error.
    public func references(in word: String) -> [VariableReference] {
        var found: [VariableReference] = []
        var state = ExpansionState(bytes: Array(word.utf8), escape: escapeByte, lookup: { _ in nil })
        state.recorder = { found.append($0) }
        _ = try? state.process()
        return found
    }
}

/// One `$NAME` / `${NAME…}` found in a word.
public struct VariableReference: Sendable, Hashable {
    /// What the reference does when the variable is unset or empty.
    public enum Modifier: String, Sendable, Hashable {
        case none = ""
        case defaultIfUnset = "-", defaultIfUnsetOrEmpty = ":-"
        case alternativeIfSet = "+", alternativeIfNotEmpty = ":+"
        case errorIfUnset = "?", errorIfUnsetOrEmpty = ":?"
        case removePrefix = "#", removeLongestPrefix = "##"
        case removeSuffix = "%", removeLongestSuffix = "%%"
        case replaceFirst = "/", replaceAll = "//"
    }

    /// The variable's name (`V` in `${V:-x}`; a digit run or one of `@*#?-$!` for the
    /// special parameters BuildKit's lexer recognises).
    public var name: String
    /// The operator written after the name, `.none` for `$V` and `${V}`.
    public var modifier: Modifier

    public init(name: String, modifier: Modifier) {
        self.name = name
        self.modifier = modifier
    }

    /// True when a default or an alternative is written, so an unset variable is not a
    /// problem (`${V:-x}`, `${V+x}`).
    public var hasFallback: Bool {
        switch modifier {
        case .defaultIfUnset, .defaultIfUnsetOrEmpty, .alternativeIfSet, .alternativeIfNotEmpty: true
        default: false
        }
    }
}

/// Mutable state of one expansion; mirrors `shellWord` in BuildKit's lex.go.
struct ExpansionState {
    let bytes: [UInt8]
    var pos = 0
    let escape: UInt8
    let lookup: (String) -> String?
    /// Set by `references(in:)`: records every lookup and never fails on `${V?…}`.
    var recorder: ((VariableReference) -> Void)?
    /// Open `${` at this point: Go's growable stacks let BuildKit nest without bound, a
    /// Swift thread's stack does not, so a deeper nesting is refused.
    private var depth = 0
    static let maxDepth = 64

    init(bytes: [UInt8], escape: UInt8, lookup: @escaping (String) -> String?) {
        self.bytes = bytes
        self.escape = escape
        self.lookup = lookup
    }

    private var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    private mutating func next() -> UInt8? {
        guard pos < bytes.count else { return nil }
        defer { pos += 1 }
        return bytes[pos]
    }

    /// BuildKit `processStopOnAny`: expands until `stop` or `alternative` (consumed) or the
    /// end; returns the text, the words, and the stop that ended it.
    mutating func process(stopOn stop: UInt8? = nil, or alternative: UInt8? = nil) throws(ShellLexer.Error)
        -> (result: [UInt8], words: [[UInt8]], stop: UInt8?) {
        var result: [UInt8] = []
        var words = WordCollector()
        while let ch = peek {
            if ch == stop || ch == alternative {
                pos += 1
                return (result, words.finish(), ch)
            }
            switch ch {
            case UInt8(ascii: "'"):
                let text = try singleQuoted()
                result += text
                words.addRaw(text)
            case UInt8(ascii: "\""):
                let text = try doubleQuoted()
                result += text
                words.addRaw(text)
            case UInt8(ascii: "$"):
                let text = try dollar()
                result += text
                // Unquoted expansions are split into words (lex.go `addString`).
                for byte in text { words.add(byte) }
            default:
                pos += 1
                if ch == escape {
                    // A trailing escape is dropped, any other escaped byte is literal.
                    guard let escaped = next() else { break }
                    words.addRaw([escaped])
                    result.append(escaped)
                } else {
                    words.add(ch)
                    result.append(ch)
                }
            }
        }
        if let stop {
            throw ShellLexer.Error(message: "unexpected end of statement while looking for matching \(Character(Unicode.Scalar(stop)))")
        }
        return (result, words.finish(), nil)
    }

    private mutating func singleQuoted() throws(ShellLexer.Error) -> [UInt8] {
        pos += 1
        // Nothing is special between single quotes, not even the escape character.
        guard let end = bytes[pos...].firstIndex(of: UInt8(ascii: "'")) else {
            throw ShellLexer.Error(message: "unexpected end of statement while looking for matching single-quote")
        }
        defer { pos = end + 1 }
        return Array(bytes[pos..<end])
    }

    private mutating func doubleQuoted() throws(ShellLexer.Error) -> [UInt8] {
        pos += 1
        var result: [UInt8] = []
        while true {
            guard let ch = peek else {
                throw ShellLexer.Error(message: "unexpected end of statement while looking for matching double-quote")
            }
            if ch == UInt8(ascii: "\"") {
                pos += 1
                return result
            }
            if ch == UInt8(ascii: "$") {
                result += try dollar()
                continue
            }
            pos += 1
            // Inside double quotes only `"`, `$` and the escape itself can be escaped;
            // any other escape is kept as written.
            if ch == escape, let following = peek,
               following == UInt8(ascii: "\"") || following == UInt8(ascii: "$") || following == escape {
                result.append(following)
                pos += 1
            } else if ch != escape || peek != nil {
                result.append(ch)
            }
        }
    }

    private mutating func value(of name: String, _ modifier: VariableReference.Modifier) -> String? {
        recorder?(VariableReference(name: name, modifier: modifier))
        return lookup(name)
    }

    private mutating func dollar() throws(ShellLexer.Error) -> [UInt8] {
        pos += 1
        guard peek == UInt8(ascii: "{") else {
            let name = readName()
            if name.isEmpty { return [UInt8(ascii: "$")] }
            return Array((value(of: name, .none) ?? "").utf8)
        }
        pos += 1
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            throw ShellLexer.Error(message: "syntax error: substitutions nested more than \(Self.maxDepth) deep")
        }
        switch peek {
        case nil: throw ShellLexer.Error(message: "syntax error: missing '}'")
        case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ":"):
            throw ShellLexer.Error(message: "syntax error: bad substitution")
        default: break
        }
        let name = readName()
        guard let ch = next() else { throw ShellLexer.Error(message: "syntax error: missing '}'") }
        switch ch {
        case UInt8(ascii: "}"):
            return Array((value(of: name, .none) ?? "").utf8)
        case UInt8(ascii: "?"):
            let word = try braceWord()
            guard let value = value(of: name, .errorIfUnset) else {
                if recorder != nil { return [] }
                throw unsetError(name, word, "is not allowed to be unset")
            }
            return Array(value.utf8)
        case UInt8(ascii: ":"):
            let modifier = next()
            let word = try braceWord()
            switch modifier {
            case UInt8(ascii: "+"):
                let value = value(of: name, .alternativeIfNotEmpty) ?? ""
                return value.isEmpty ? [] : word
            case UInt8(ascii: "-"):
                let value = value(of: name, .defaultIfUnsetOrEmpty) ?? ""
                return value.isEmpty ? word : Array(value.utf8)
            case UInt8(ascii: "?"):
                let value = value(of: name, .errorIfUnsetOrEmpty)
                if let value, !value.isEmpty { return Array(value.utf8) }
                if recorder != nil { return [] }
                throw unsetError(name, word, value == nil ? "is not allowed to be unset" : "is not allowed to be empty")
            default:
                let shown = modifier.map { String(decoding: [$0], as: UTF8.self) } ?? ""
                throw ShellLexer.Error(message: "unsupported modifier (\(shown)) in substitution")
            }
        case UInt8(ascii: "+"):
            let word = try braceWord()
            return value(of: name, .alternativeIfSet) == nil ? [] : word
        case UInt8(ascii: "-"):
            let word = try braceWord()
            return value(of: name, .defaultIfUnset).map { Array($0.utf8) } ?? word
        case UInt8(ascii: "#"), UInt8(ascii: "%"):
            let longest = peek == ch
            if longest { pos += 1 }
            let pattern = try braceWord()
            let modifier: VariableReference.Modifier = ch == UInt8(ascii: "#")
                ? (longest ? .removeLongestPrefix : .removePrefix)
                : (longest ? .removeLongestSuffix : .removeSuffix)
            let subject = Array((value(of: name, modifier) ?? "").utf8)
            let glob = Glob(pattern)
            return ch == UInt8(ascii: "#")
                ? glob.removingPrefix(of: subject, longest: longest)
                : glob.removingSuffix(of: subject, longest: longest)
        case UInt8(ascii: "/"):
            let all = peek == UInt8(ascii: "/")
            if all { pos += 1 }
            let (pattern, stop) = try braceWord(orStopOn: UInt8(ascii: "/"))
            let replacement = stop == UInt8(ascii: "/") ? try braceWord() : []
            let subject = Array((value(of: name, all ? .replaceAll : .replaceFirst) ?? "").utf8)
            return Glob(pattern).replacing(in: subject, with: replacement, all: all)
        default:
            throw ShellLexer.Error(message: "unsupported modifier (\(String(decoding: [ch], as: UTF8.self))) in substitution")
        }
    }

    /// The word after a modifier, up to the closing brace, itself expanded (lex.go allows
    /// `${A:-${B}}`).
    private mutating func braceWord() throws(ShellLexer.Error) -> [UInt8] {
        try braceWord(orStopOn: nil).word
    }

    private mutating func braceWord(orStopOn alternative: UInt8?) throws(ShellLexer.Error) -> (word: [UInt8], stop: UInt8?) {
        do {
            let (word, _, stop) = try process(stopOn: UInt8(ascii: "}"), or: alternative)
            return (word, stop)
        } catch {
            if peek == nil { throw ShellLexer.Error(message: "syntax error: missing '}'") }
            throw error
        }
    }

    private func unsetError(_ name: String, _ word: [UInt8], _ fallback: String) -> ShellLexer.Error {
        ShellLexer.Error(message: "\(name): \(word.isEmpty ? fallback : String(decoding: word, as: UTF8.self))")
    }

    /// lex.go `processName`: letters, digits and `_`; a leading digit run is a positional
    /// parameter; `$@ $* $# $? $- $$ $!` are one-character special parameters.
    private mutating func readName() -> String {
        let start = pos
        if let first = peek {
            if isDigit(first) {
                while let ch = peek, isDigit(ch) { pos += 1 }
                return String(decoding: bytes[start..<pos], as: UTF8.self)
            }
            if "@*#?-$!".utf8.contains(first) {
                pos += 1
                return String(decoding: [first], as: UTF8.self)
            }
        }
        while let ch = peek, isDigit(ch) || ch == UInt8(ascii: "_") || isLetter(ch) { pos += 1 }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }
}

/// Words built as lex.go's `wordsStruct` does: unquoted whitespace ends a word, quoted
/// text always belongs to one.
struct WordCollector {
    private var words: [[UInt8]] = []
    private var word: [UInt8] = []
    private var inWord = false

    mutating func add(_ ch: UInt8) {
        if isSpace(ch) {
            if inWord && !word.isEmpty {
                words.append(word)
                word = []
                inWord = false
            }
        } else {
            word.append(ch)
            inWord = true
        }
    }

    mutating func addRaw(_ text: [UInt8]) {
        word += text
        inWord = true
    }

    mutating func finish() -> [[UInt8]] {
        if !word.isEmpty { words.append(word) }
        return words
    }
}

@inline(__always) func isSpace(_ ch: UInt8) -> Bool {
    ch == 0x20 || (ch >= 0x09 && ch <= 0x0D)
}

@inline(__always) func isDigit(_ ch: UInt8) -> Bool {
    ch >= UInt8(ascii: "0") && ch <= UInt8(ascii: "9")
}

@inline(__always) func isLetter(_ ch: UInt8) -> Bool {
    (ch | 0x20) >= UInt8(ascii: "a") && (ch | 0x20) <= UInt8(ascii: "z")
}
