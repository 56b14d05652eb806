/// Physical lines → logical instructions, as the loop of parser.go `Parse` does it: parser
/// directives at the top, comment and blank lines, line continuations (with comments and
/// blank lines inside them skipped), and heredoc bodies.
struct DockerfileScanner {
    /// One instruction's text with its continuation lines joined.
    struct LogicalLine {
        var text: ArraySlice<UInt8>
        var line: Int
        var endLine: Int
    }

    private let bytes: [UInt8]
    /// Ranges of the physical lines without their line endings (`\n`, `\r\n`).
    private let lines: [Range<Int>]
    private var next = 0
    let path: String
    private(set) var escape = DockerfileLexing.backslash
    private(set) var directives: [String: String] = [:]
    private var directivesDone = false

    /// Number of physical lines read so far (the 1-based line of the last one).
    var currentLine: Int { next }
    var lineCount: Int { lines.count }

    init(text: String, path: String) {
        var bytes = Array(text.utf8)
        // parser.go strips a UTF-8 byte-order mark from the first line.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            // Go's trimNewline removes every trailing \r and \n.
            var end = newline
            while end > start, bytes[end - 1] == 0x0D { end -= 1 }
            lines.append(start..<end)
            start = newline + 1
        }
        self.lines = lines
        self.bytes = bytes
        self.path = path
    }

    func error(_ message: String, line: Int) -> Dockerfile.ParseError {
        Dockerfile.ParseError(path: path, line: max(line, 1), message: message)
    }

    /// The next instruction, or nil at the end of the file.
    mutating func nextLogicalLine() throws(Dockerfile.ParseError) -> LogicalLine? {
        while next < lines.count {
            let first = DockerfileLexing.trimLeadingSpace(bytes[lines[next]])
            next += 1
            try considerDirective(first)
            // A comment is `#` after optional leading whitespace, never `#` later in a line.
            if first.first == UInt8(ascii: "#") { continue }
            var (text, ended) = trimContinuation(first)
            if ended && text.isEmpty { continue }
            let start = next
            var joined = Array(text)
            while !ended && next < lines.count {
                let raw = bytes[lines[next]]
                next += 1
                let trimmed = DockerfileLexing.trimLeadingSpace(raw)
                // Comment and empty lines inside a continued instruction are skipped
                // (BuildKit warns about the empty ones).
                if trimmed.isEmpty || trimmed.first == UInt8(ascii: "#") { continue }
                (text, ended) = trimContinuation(raw)
                joined += text
            }
            return LogicalLine(text: joined[...], line: start, endLine: next)
        }
        return nil
    }

    /// Reads a heredoc body up to its terminator line; nil when the file ends first.
    mutating func heredocBody(name: String, stripTabs: Bool) -> String? {
        let terminator = Array(name.utf8)
        var content: [UInt8] = []
        while next < lines.count {
            var line = bytes[lines[next]]
            next += 1
            if stripTabs {
                while line.first == DockerfileLexing.tab { line = line.dropFirst() }
            }
            if line.elementsEqual(terminator) { return String(decoding: content, as: UTF8.self) }
            content += line
            content.append(UInt8(ascii: "\n"))
        }
        return nil
    }

    /// parser.go `trimContinuationCharacter`: an escape as the last non-blank character,
    /// not itself escaped, continues the instruction on the next line.
    private func trimContinuation(_ line: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ended: Bool) {
        var end = line.endIndex
        while end > line.startIndex, line[end - 1] == DockerfileLexing.space || line[end - 1] == DockerfileLexing.tab {
            end -= 1
        }
        guard end > line.startIndex, line[end - 1] == escape else { return (line, true) }
        if end - 1 > line.startIndex, line[end - 2] == escape { return (line, true) }
        return (line[..<(end - 1)], false)
    }

    /// directives.go: `# key=value` lines before anything else; the first line that is not
    /// a known directive (an instruction, another comment, a blank line) ends them.
    private mutating func considerDirective(_ line: ArraySlice<UInt8>) throws(Dockerfile.ParseError) {
        guard !directivesDone else { return }
        guard let (key, value) = Self.directive(line), ["syntax", "escape", "check"].contains(key) else {
            directivesDone = true
            return
        }
        if directives[key] != nil {
            throw error("only one \(key) parser directive can be used", line: next)
        }
        if key == "escape" {
            guard value == "\\" || value == "`" else {
                throw error("invalid escape token '\(value)' does not match ` or \\", line: next)
            }
            escape = UInt8(ascii: value == "`" ? "`" : "\\")
        }
        directives[key] = value
    }

    /// Matches `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` (RE2 `\s` is `[\t\n\f\r ]`).
    private static func directive(_ line: ArraySlice<UInt8>) -> (String, String)? {
        func isRESpace(_ ch: UInt8) -> Bool { ch == 0x20 || ch == 0x09 || ch == 0x0A || ch == 0x0C || ch == 0x0D }
        guard line.first == UInt8(ascii: "#") else { return nil }
        var i = line.startIndex + 1
        while i < line.endIndex, isRESpace(line[i]) { i += 1 }
        let keyStart = i
        guard i < line.endIndex, isLetter(line[i]) else { return nil }
        while i < line.endIndex, isLetter(line[i]) || isDigit(line[i]) { i += 1 }
        let key = DockerfileLexing.string(line[keyStart..<i]).lowercased()
        while i < line.endIndex, isRESpace(line[i]) { i += 1 }
        guard i < line.endIndex, line[i] == UInt8(ascii: "=") else { return nil }
        i += 1
        while i < line.endIndex, isRESpace(line[i]) { i += 1 }
        var end = line.endIndex
        while end > i, isRESpace(line[end - 1]) { end -= 1 }
        guard end > i else { return nil }
        return (key, DockerfileLexing.string(line[i..<end]))
    }
}
