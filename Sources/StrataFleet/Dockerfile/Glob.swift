/// A shell pattern for `${V#pat}`, `${V%pat}` and `${V/pat/repl}`: `*`, `?`, `[…]` (with `!`
/// or `^` negation and ranges) and `\x` for a literal x, as BuildKit's lex.go converts them
/// to regular expressions. Matching is on bytes.
struct Glob {
    private enum Token {
        case literal(UInt8)
        case any
        case star
        case set([ClosedRange<UInt8>], negated: Bool)
    }

    private let tokens: [Token]

    init(_ pattern: [UInt8]) {
        var tokens: [Token] = []
        var i = 0
        while i < pattern.count {
            let ch = pattern[i]
            i += 1
            switch ch {
            case UInt8(ascii: "*"): tokens.append(.star)
            case UInt8(ascii: "?"): tokens.append(.any)
            case UInt8(ascii: "\\") where i < pattern.count:
                tokens.append(.literal(pattern[i]))
                i += 1
            case UInt8(ascii: "["):
                if let (set, end) = Glob.parseSet(pattern, from: i) {
                    tokens.append(set)
                    i = end
                } else {
                    tokens.append(.literal(ch))
                }
            default: tokens.append(.literal(ch))
            }
        }
        self.tokens = tokens
    }

    /// Parses `[...]` starting after the `[`; nil when there is no closing `]`.
    private static func parseSet(_ p: [UInt8], from start: Int) -> (Token, Int)? {
        var i = start
        var negated = false
        if i < p.count, p[i] == UInt8(ascii: "!") || p[i] == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var ranges: [ClosedRange<UInt8>] = []
        var first = true
        while i < p.count {
            let ch = p[i]
            if ch == UInt8(ascii: "]") && !first { return (.set(ranges, negated: negated), i + 1) }
            first = false
            if i + 2 < p.count, p[i + 1] == UInt8(ascii: "-"), p[i + 2] != UInt8(ascii: "]"), ch <= p[i + 2] {
                ranges.append(ch...p[i + 2])
                i += 3
            } else {
                ranges.append(ch...ch)
                i += 1
            }
        }
        return nil
    }

    /// Whether the whole of `text` matches (iterative, backtracking only to the last `*`).
    func matches(_ text: ArraySlice<UInt8>) -> Bool {
        var t = text.startIndex
        var k = 0
        var starToken = -1
        var starText = t
        while t < text.endIndex {
            if k < tokens.count, matchesOne(tokens[k], text[t]) {
                k += 1
                t += 1
            } else if k < tokens.count, case .star = tokens[k] {
                starToken = k
                starText = t
                k += 1
            } else if starToken >= 0 {
                k = starToken + 1
                starText += 1
                t = starText
            } else {
                return false
            }
        }
        while k < tokens.count, case .star = tokens[k] { k += 1 }
        return k == tokens.count
    }

    private func matchesOne(_ token: Token, _ ch: UInt8) -> Bool {
        switch token {
        case .literal(let literal): literal == ch
        case .any: true
        case .star: false
        case .set(let ranges, let negated): ranges.contains { $0.contains(ch) } != negated
        }
    }

    func removingPrefix(of value: [UInt8], longest: Bool) -> [UInt8] {
        let lengths = longest ? Array((0...value.count).reversed()) : Array(0...value.count)
        for length in lengths where matches(value[0..<length]) {
            return Array(value[length...])
        }
        return value
    }

    func removingSuffix(of value: [UInt8], longest: Bool) -> [UInt8] {
        let starts = longest ? Array(0...value.count) : Array((0...value.count).reversed())
        for start in starts where matches(value[start...]) {
            return Array(value[..<start])
        }
        return value
    }

    /// Replaces the leftmost-longest match (every non-overlapping one when `all`).
    func replacing(in value: [UInt8], with replacement: [UInt8], all: Bool) -> [UInt8] {
        guard !tokens.isEmpty else { return value }
        var result: [UInt8] = []
        var start = 0
        var replaced = false
        while start < value.count {
            if !replaced || all,
               let end = (start + 1...value.count).reversed().first(where: { matches(value[start..<$0]) }) {
                result += replacement
                start = end
                replaced = true
            } else {
                result.append(value[start])
                start += 1
            }
        }
        return result
    }
}
