/// The exec (JSON) form of an instruction, as line_parsers.go `parseJSON` reads it with Go's
/// `json.Decoder`: the first JSON value after leading whitespace must be an array; whatever
/// follows it is ignored; a valid array with a non-string element is an error, anything
/// else that is not valid JSON means shell form.
enum JSONArgs {
    enum Outcome: Equatable {
        case notJSON
        case strings([String])
        case notStrings
    }

    /// Nesting beyond this is treated as invalid JSON (shell form) rather than recursing on.
    static let maxDepth = 256

    static func parse(_ text: ArraySlice<UInt8>) -> Outcome {
        var reader = Reader(bytes: text, pos: DockerfileLexing.trimLeadingSpace(text).startIndex)
        guard reader.peek == UInt8(ascii: "[") else { return .notJSON }
        reader.pos += 1
        var strings: [String] = []
        var allStrings = true
        reader.skipSpace()
        if reader.peek == UInt8(ascii: "]") { return .strings([]) }
        while true {
            reader.skipSpace()
            if reader.peek == UInt8(ascii: "\"") {
                guard let s = reader.string() else { return .notJSON }
                strings.append(s)
            } else {
                guard reader.skipValue(depth: 1) else { return .notJSON }
                allStrings = false
            }
            reader.skipSpace()
            switch reader.next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return allStrings ? .strings(strings) : .notStrings
            default: return .notJSON
            }
        }
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var pos: Int

        var peek: UInt8? { pos < bytes.endIndex ? bytes[pos] : nil }

        mutating func next() -> UInt8? {
            guard pos < bytes.endIndex else { return nil }
            defer { pos += 1 }
            return bytes[pos]
        }

        mutating func skipSpace() {
            while let ch = peek, ch == 0x20 || ch == 0x09 || ch == 0x0A || ch == 0x0D { pos += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            for byte in word.utf8 where next() != byte { return false }
            return true
        }

        /// A JSON string starting at the opening quote; nil when malformed.
        mutating func string() -> String? {
            pos += 1
            var out: [UInt8] = []
            var scalars = String.UnicodeScalarView()
            func flush() {
                if !out.isEmpty { scalars += String(decoding: out, as: UTF8.self).unicodeScalars; out = [] }
            }
            while let ch = next() {
                switch ch {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    guard let escaped = next() else { return nil }
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let unit = hex4() else { return nil }
                        flush()
                        scalars.append(decodeUTF16(unit))
                    default: return nil
                    }
                case 0..<0x20: return nil
                default: out.append(ch)
                }
            }
            return nil
        }

        /// Combines a surrogate pair when one follows; a lone surrogate becomes U+FFFD as in Go.
        private mutating func decodeUTF16(_ unit: UInt16) -> Unicode.Scalar {
            if UTF16.isLeadSurrogate(unit), bytes[pos...].starts(with: "\\u".utf8) {
                let save = pos
                pos += 2
                if let low = hex4(), UTF16.isTrailSurrogate(low) {
                    let value = 0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(low - 0xDC00)
                    return Unicode.Scalar(value) ?? "\u{FFFD}"
                }
                pos = save
            }
            return Unicode.Scalar(UInt32(unit)) ?? "\u{FFFD}"
        }

        private mutating func hex4() -> UInt16? {
            var value: UInt16 = 0
            for _ in 0..<4 {
                guard let ch = next(), let digit = hexDigit(ch) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            return value
        }

        private func hexDigit(_ ch: UInt8) -> UInt8? {
            switch ch {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): ch - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): ch - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): ch - UInt8(ascii: "A") + 10
            default: nil
            }
        }

        /// Skips one valid JSON value; false when it is not valid.
        mutating func skipValue(depth: Int) -> Bool {
            guard depth < JSONArgs.maxDepth else { return false }
            skipSpace()
            switch peek {
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case UInt8(ascii: "["): return skipContainer(close: UInt8(ascii: "]"), depth: depth, keyed: false)
            case UInt8(ascii: "{"): return skipContainer(close: UInt8(ascii: "}"), depth: depth, keyed: true)
            default: return number()
            }
        }

        private mutating func skipContainer(close: UInt8, depth: Int, keyed: Bool) -> Bool {
            pos += 1
            skipSpace()
            if peek == close { pos += 1; return true }
            while true {
                if keyed {
                    skipSpace()
                    guard peek == UInt8(ascii: "\""), string() != nil else { return false }
                    skipSpace()
                    guard next() == UInt8(ascii: ":") else { return false }
                }
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                switch next() {
                case UInt8(ascii: ","): continue
                case close: return true
                default: return false
                }
            }
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        private mutating func number() -> Bool {
            if peek == UInt8(ascii: "-") { pos += 1 }
            guard let first = peek, isDigit(first) else { return false }
            pos += 1
            if first != UInt8(ascii: "0") { digits() }
            if peek == UInt8(ascii: ".") {
                pos += 1
                guard digits() else { return false }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                pos += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
                guard digits() else { return false }
            }
            return true
        }

        @discardableResult
        private mutating func digits() -> Bool {
            let start = pos
            while let ch = peek, isDigit(ch) { pos += 1 }
            return pos > start
        }
    }
}
