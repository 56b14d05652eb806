extension Dockerfile {
    /// A Dockerfile BuildKit would refuse, with the line to look at.
    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        /// The path given to `Dockerfile.parse`.
        public var path: String
        /// 1-based line: the start of the offending instruction, or the last line read for
        /// an error that only shows at the end (an unterminated heredoc).
        public var line: Int
        /// What is wrong, in BuildKit's words where BuildKit has some.
        public var message: String

        /// Creates an error; `line` is 1-based.
        public init(path: String, line: Int, message: String) {
            self.path = path
            self.line = line
            self.message = message
        }

        /// `<path>:<line>: <message>`, on one line.
        public var description: String { "\(path):\(line): \(message)" }
    }

    /// Parses a Dockerfile as BuildKit's frontend does: first the text into instructions
    /// (moby/buildkit `frontend/dockerfile/parser/parser.go`), then the instructions into
    /// stages (`frontend/dockerfile/instructions/parse.go`). As in BuildKit, errors of the
    /// first pass (directives, heredocs, exec-form arrays) come before those of the second.
    ///
    /// - Parameters:
    ///   - text: the Dockerfile's contents (a UTF-8 BOM and CRLF line endings are accepted).
    ///   - path: used in error messages and kept in `Dockerfile.path`.
    public static func parse(_ text: String, path: String) throws(ParseError) -> Dockerfile {
        var scanner = DockerfileScanner(text: text, path: path)
        var instructions: [Instruction] = []
        var keyedLines: [String] = []
        while let logical = try scanner.nextLogicalLine() {
            keyedLines.append(String(decoding: logical.text, as: UTF8.self))
            var instruction: Instruction
            do {
                instruction = try makeInstruction(logical.text, line: logical.line, endLine: logical.endLine,
                                                  escape: scanner.escape)
            } catch {
                throw scanner.error(error.message, line: logical.line)
            }
            if acceptsHeredocs(instruction) {
                for word in DockerfileLexing.rawWords(logical.text) {
                    guard let opener = DockerfileLexing.heredocOpener(word) else { continue }
                    guard let body = scanner.heredocBody(name: opener.name, stripTabs: opener.stripTabs) else {
                        let shown = "<<" + (opener.stripTabs ? "-" : "") + opener.name
                        throw scanner.error("unterminated heredoc \(shown) (started on line \(logical.line))",
                                            line: scanner.currentLine)
                    }
                    instruction.heredocs.append(Heredoc(name: opener.name, content: body,
                                                        expand: opener.expand, stripTabs: opener.stripTabs))
                    keyedLines.append((opener.stripTabs ? "<<-" : "<<") + (opener.expand ? "" : "'") + opener.name)
                    keyedLines.append(body)
                }
                instruction.endLine = scanner.currentLine
            }
            instructions.append(instruction)
        }
        guard !instructions.isEmpty else {
            throw scanner.error("file with no instructions", line: scanner.lineCount)
        }
        let escape: Character = scanner.escape == DockerfileLexing.backslash ? "\\" : "`"
        let directives = scanner.directives.sorted { $0.key < $1.key }.map { "# \($0.key)=\($0.value)" }
        var dockerfile = Dockerfile(path: path, directives: scanner.directives, escape: escape,
                                    keyedLines: directives + keyedLines)
        try dockerfile.assemble(instructions)
        return dockerfile
    }

    /// A first-pass problem; the caller adds path and line.
    struct LineError: Error {
        var message: String
    }

    /// Instructions whose arguments may be in exec (JSON) form (line_parsers.go
    /// `parseMaybeJSON` / `parseMaybeJSONToList`).
    static let jsonCapable: Set<String> = ["RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME"]

    /// parser.go `newNodeFromLine`: keyword, leading flags, then arguments by keyword.
    static func makeInstruction(_ text: ArraySlice<UInt8>, line: Int, endLine: Int,
                                escape: UInt8) throws(LineError) -> Instruction {
        let (command, afterCommand) = DockerfileLexing.splitFirstWord(DockerfileLexing.trimSpace(text))
        let (afterFlags, flagWords) = DockerfileLexing.extractFlags(afterCommand)
        let args = DockerfileLexing.trimSpace(afterFlags)
        var instruction = Instruction(keyword: DockerfileLexing.string(command).uppercased(), line: line,
                                      endLine: endLine, flags: flagWords.map(InstructionFlag.init(word:)),
                                      rest: DockerfileLexing.string(args))
        switch instruction.keyword {
        case _ where jsonCapable.contains(instruction.keyword):
            (instruction.arguments, instruction.isJSON) = try maybeJSON(args, escape: escape)
        case "HEALTHCHECK":
            // line_parsers.go `parseHealthConfig`: a type word, then a maybe-JSON command.
            let (type, command) = DockerfileLexing.splitFirstWord(args)
            let (arguments, isJSON) = try maybeJSON(command, escape: escape)
            instruction.arguments = type.isEmpty ? [] : [DockerfileLexing.string(type)] + arguments
            instruction.isJSON = isJSON
        case "ONBUILD":
            instruction.arguments = DockerfileLexing.words(args, escape: escape)
            // parseSubCommand parses the trigger in the same pass.
            if !args.isEmpty { _ = try makeInstruction(args, line: line, endLine: endLine, escape: escape) }
        case "ENV", "LABEL":
            instruction.arguments = DockerfileLexing.words(args, escape: escape)
            if case .failure(let error) = instruction.nameValuePairs() { throw error }
        default:
            instruction.arguments = DockerfileLexing.words(args, escape: escape)
        }
        return instruction
    }

    private static func maybeJSON(_ args: ArraySlice<UInt8>, escape: UInt8) throws(LineError) -> ([String], Bool) {
        switch JSONArgs.parse(args) {
        case .strings(let strings): return (strings, true)
        case .notStrings: throw LineError(message: "when using JSON array syntax, arrays must be comprised of strings only")
        case .notJSON: return (DockerfileLexing.words(args, escape: escape), false)
        }
    }

    /// parser.go `canContainHeredoc`: shell-form RUN, COPY and ADD, also as ONBUILD triggers.
    private static func acceptsHeredocs(_ instruction: Instruction) -> Bool {
        let heredocKeywords: Set<String> = ["RUN", "COPY", "ADD"]
        if instruction.keyword == "ONBUILD" {
            return instruction.arguments.first.map { heredocKeywords.contains($0.uppercased()) } ?? false
                && JSONArgs.parse(triggerArguments(instruction.rest)) == .notJSON
        }
        return heredocKeywords.contains(instruction.keyword) && !instruction.isJSON
    }

    /// The arguments of an ONBUILD trigger after its keyword and flags.
    private static func triggerArguments(_ rest: String) -> ArraySlice<UInt8> {
        let (_, afterCommand) = DockerfileLexing.splitFirstWord(Array(rest.utf8)[...])
        return DockerfileLexing.extractFlags(afterCommand).rest
    }
}

extension InstructionFlag {
    /// A flag word from split_command.go, `--` already required: `--name=value` or `--name`.
    init(word: String) {
        let body = word.dropFirst(2)
        if let equals = body.firstIndex(of: "=") {
            self.init(name: String(body[..<equals]), value: String(body[body.index(after: equals)...]))
        } else {
            self.init(name: String(body), value: nil)
        }
    }
}
