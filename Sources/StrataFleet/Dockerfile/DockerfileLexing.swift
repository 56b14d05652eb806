/// Byte-level helpers of the Dockerfile parser, each a port of one BuildKit function
/// (moby/buildkit `frontend/dockerfile/parser`). They work on UTF-8 bytes: every byte
/// with a meaning is ASCII.
enum DockerfileLexing {
    static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
    static let singleQuote = UInt8(ascii: "'"), doubleQuote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\"), dash = UInt8(ascii: "-")

    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Go's `strings.TrimSpace` restricted to ASCII whitespace.
    static func trimSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    static func trimLeadingSpace(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        while start < bytes.endIndex, isSpace(bytes[start]) { start += 1 }
        return bytes[start...]
    }

    /// Splits at the first whitespace run (`tokenWhitespace.Split(s, 2)` in split_command.go).
    static func splitFirstWord(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        guard let end = bytes.firstIndex(where: isSpace) else { return (bytes, bytes[bytes.endIndex...]) }
        return (bytes[..<end], trimLeadingSpace(bytes[end...]))
    }

    /// line_parsers.go `parseWords`: words split on whitespace outside quotes, quotes and
    /// escapes kept as written; an escape at the very end is dropped.
    static func words(_ text: ArraySlice<UInt8>, escape: UInt8) -> [String] {
        var words: [String] = []
        var word: [UInt8] = []
        var quote: UInt8 = 0
        var inWord = false, blankOK = false
        var i = text.startIndex
        while i < text.endIndex {
            var ch = text[i]
            if !inWord {
                if isSpace(ch) { i += 1; continue }
                inWord = true
            }
            if quote == 0 {
                if isSpace(ch) {
                    if blankOK || !word.isEmpty { words.append(string(word[...])) }
                    word = []
                    blankOK = false
                    inWord = false
                    i += 1
                    continue
                }
                if ch == singleQuote || ch == doubleQuote {
                    quote = ch
                    blankOK = true
                } else if ch == escape {
                    if i + 1 == text.endIndex { break }
                    word.append(ch)
                    i += 1
                    ch = text[i]
                }
            } else {
                if ch == quote {
                    quote = 0
                } else if ch == escape && quote != singleQuote {
                    // The escape is special inside double quotes only.
                    if i + 1 == text.endIndex { break }
                    word.append(ch)
                    i += 1
                    ch = text[i]
                }
            }
            word.append(ch)
            i += 1
        }
        if inWord && (blankOK || !word.isEmpty) { words.append(string(word[...])) }
        return words
    }

    /// split_command.go `extractBuilderFlags`: leading `--words`, quotes removed and `\`
    /// escapes applied (always backslash, whatever `# escape=` says); a bare `--` ends them.
    static func extractFlags(_ line: ArraySlice<UInt8>) -> (rest: ArraySlice<UInt8>, flags: [String]) {
        var flags: [String] = []
        var word: [UInt8] = []
        var quote: UInt8 = 0
        var inWord = false, blankOK = false
        var i = line.startIndex
        while i < line.endIndex {
            var ch = line[i]
            if !inWord {
                if isSpace(ch) { i += 1; continue }
                guard ch == dash, i + 1 < line.endIndex, line[i + 1] == dash else { return (line[i...], flags) }
                inWord = true
            }
            if quote == 0 {
                if isSpace(ch) {
                    if word == [dash, dash] { return (line[i...], flags) }
                    if blankOK || !word.isEmpty { flags.append(string(word[...])) }
                    word = []
                    blankOK = false
                    inWord = false
                    i += 1
                    continue
                }
                if ch == singleQuote || ch == doubleQuote {
                    quote = ch
                    blankOK = true
                    i += 1
                    continue
                }
            } else if ch == quote {
                quote = 0
                i += 1
                continue
            }
            if ch == backslash {
                if i + 1 == line.endIndex {
                    i += 1
                    continue
                }
                i += 1
                ch = line[i]
            }
            word.append(ch)
            i += 1
        }
        if inWord && word != [dash, dash] && (blankOK || !word.isEmpty) { flags.append(string(word[...])) }
        return (line[line.endIndex...], flags)
    }

    /// Words of a whole instruction line as parser.go `heredocsFromLine` sees them: split on
    /// unquoted whitespace with quotes and `\` escapes kept.
    static func rawWords(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var words: [ArraySlice<UInt8>] = []
        var start: Int?
        var quote: UInt8 = 0
        var i = line.startIndex
        while i < line.endIndex {
            let ch = line[i]
            if quote != 0 {
                if ch == quote { quote = 0 } else if ch == backslash && quote == doubleQuote { i += 1 }
            } else if isSpace(ch) {
                if let s = start { words.append(line[s..<i]) }
                start = nil
            } else {
                if start == nil { start = i }
                if ch == singleQuote || ch == doubleQuote { quote = ch } else if ch == backslash { i += 1 }
            }
            i += 1
        }
        if let s = start { words.append(line[s..<min(i, line.endIndex)]) }
        return words
    }

    /// A heredoc opener word, parser.go `reHeredoc` = `^(\d*)<<(-?)([^<]*)$`: nil when the
    /// word is no heredoc. The delimiter has its quotes removed; any quote disables expansion.
    static func heredocOpener(_ word: ArraySlice<UInt8>) -> (name: String, stripTabs: Bool, expand: Bool)? {
        var i = word.startIndex
        while i < word.endIndex, isDigit(word[i]) { i += 1 }
        guard i + 1 < word.endIndex, word[i] == UInt8(ascii: "<"), word[i + 1] == UInt8(ascii: "<") else { return nil }
        i += 2
        let stripTabs = i < word.endIndex && word[i] == dash
        if stripTabs { i += 1 }
        let delimiter = word[i...]
        guard !delimiter.isEmpty, !delimiter.contains(UInt8(ascii: "<")) else { return nil }
        var name: [UInt8] = []
        var quote: UInt8 = 0
        var quoted = false
        var j = delimiter.startIndex
        while j < delimiter.endIndex {
            let ch = delimiter[j]
            j += 1
            if quote != 0 {
                if ch == quote { quote = 0; continue }
                if ch == backslash && quote == doubleQuote, j < delimiter.endIndex { name.append(delimiter[j]); j += 1; continue }
            } else if ch == singleQuote || ch == doubleQuote {
                quote = ch
                quoted = true
                continue
            } else if ch == backslash {
                if j < delimiter.endIndex { name.append(delimiter[j]); j += 1 }
                continue
            }
            name.append(ch)
        }
        // An unterminated quote makes BuildKit's lexer fail: no heredoc then.
        guard quote == 0, !name.isEmpty else { return nil }
        return (string(name[...]), stripTabs, !quoted)
    }
}
