/// A parsed Dockerfile, faithful to BuildKit's frontend parser
/// (moby/buildkit `frontend/dockerfile/parser` and `instructions`).
///
/// Every instruction keeps the 1-based line on which it starts, so that every
/// finding of `strata check` can name `file:line`.
public struct Dockerfile: Sendable, Equatable {
    /// Path of the Dockerfile as given to the parser (used in error messages).
    public var path: String
    /// Parser directives found at the top of the file (`syntax`, `escape`, `check`), keys lowercased.
    public var directives: [String: String]
    /// The escape character (`\` unless `# escape=` says otherwise).
    public var escape: Character
    /// ARG instructions before the first FROM ("global" or "meta" args; usable in FROM lines).
    public var globalArgs: [ArgDeclaration]
    /// Build stages, in order.
    public var stages: [Stage]
    /// What a build reads of the file, for the input key: the parser directives
    /// (`# key=value`, sorted), then each instruction's logical line as BuildKit's parser joins
    /// it, followed by its heredocs (`<<` or `<<-`, the delimiter as written unquoted or
    /// quoted, and the body). Comment lines and blank lines, which the parser drops, are not
    /// in it: a comment-only edit keeps the key.
    public var keyedLines: [String]

    public init(path: String, directives: [String: String] = [:], escape: Character = "\\",
                globalArgs: [ArgDeclaration] = [], stages: [Stage] = [], keyedLines: [String] = []) {
        self.path = path
        self.directives = directives
        self.escape = escape
        self.globalArgs = globalArgs
        self.stages = stages
        self.keyedLines = keyedLines
    }
}

/// One instruction (`RUN`, `COPY`, …) with its flags and arguments.
public struct Instruction: Sendable, Equatable {
    /// Uppercased instruction keyword: `FROM`, `RUN`, `COPY`, `ADD`, `ARG`, `ENV`, …
    public var keyword: String
    /// 1-based line of the keyword.
    public var line: Int
    /// 1-based line of the last physical line of the instruction (continuations, heredocs included).
    public var endLine: Int
    /// Leading `--name[=value]` flags, in order (`COPY --from=build`, `RUN --mount=type=cache,target=/x`).
    public var flags: [InstructionFlag]
    /// Arguments after the flags. JSON form: the array elements. Shell form: the words,
    /// split on whitespace with quotes and escapes kept as written (not expanded).
    public var arguments: [String]
    /// True when the arguments were written in JSON (exec) form.
    public var isJSON: Bool
    /// The text after the keyword and the flags, continuation lines joined, comments inside
    /// continued lines removed; for shell-form RUN/CMD/ENTRYPOINT this is the command.
    public var rest: String
    /// Heredocs attached to the instruction (`RUN <<EOF`, `COPY <<EOF /dst`).
    public var heredocs: [Heredoc]

    public init(keyword: String, line: Int, endLine: Int, flags: [InstructionFlag] = [], arguments: [String] = [],
                isJSON: Bool = false, rest: String = "", heredocs: [Heredoc] = []) {
        self.keyword = keyword
        self.line = line
        self.endLine = endLine
        self.flags = flags
        self.arguments = arguments
        self.isJSON = isJSON
        self.rest = rest
        self.heredocs = heredocs
    }

    /// The values of every flag with this name (`mount` may repeat, so may `exclude`).
    public func flagValues(_ name: String) -> [String] {
        flags.filter { $0.name == name }.map { $0.value ?? "" }
    }

    /// The value of the last flag with this name, if any.
    public func flag(_ name: String) -> String? {
        flags.last { $0.name == name }.map { $0.value ?? "" }
    }
}

/// A `--name[=value]` flag of an instruction.
public struct InstructionFlag: Sendable, Equatable {
    public var name: String
    /// nil for a bare boolean flag (`--link`).
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// A heredoc body (`<<EOF`, `<<-EOF`, `<<"EOF"`).
public struct Heredoc: Sendable, Equatable {
    /// The delimiter word (without quotes and without `-`).
    public var name: String
    /// The body, lines joined with "\n" and a trailing "\n"; leading tabs already removed for `<<-`.
    public var content: String
    /// True when the delimiter was unquoted, so variables in the body are expanded.
    public var expand: Bool
    /// True for `<<-` (leading tabs stripped).
    public var stripTabs: Bool

    public init(name: String, content: String, expand: Bool, stripTabs: Bool) {
        self.name = name
        self.content = content
        self.expand = expand
        self.stripTabs = stripTabs
    }
}

/// An `ARG name[=default]` declaration.
public struct ArgDeclaration: Sendable, Equatable {
    public var name: String
    /// The default as written (not expanded), nil when there is none.
    public var defaultValue: String?
    public var line: Int

    public init(name: String, defaultValue: String?, line: Int) {
        self.name = name
        self.defaultValue = defaultValue
        self.line = line
    }
}

/// One build stage: a FROM and the instructions up to the next FROM.
public struct Stage: Sendable, Equatable {
    /// 0-based position among the stages.
    public var index: Int
    /// The `AS name`, lowercased (BuildKit compares stage names case-insensitively).
    public var name: String?
    /// The base reference as written (may contain `$VAR`), e.g. `${REGISTRY}/base-python:3.11`.
    public var baseReference: String
    /// `--platform=` of the FROM, as written.
    public var platform: String?
    /// The FROM instruction itself.
    public var from: Instruction
    /// The instructions after FROM in this stage (FROM excluded).
    public var instructions: [Instruction]

    public init(index: Int, name: String?, baseReference: String, platform: String?,
                from: Instruction, instructions: [Instruction]) {
        self.index = index
        self.name = name
        self.baseReference = baseReference
        self.platform = platform
        self.from = from
        self.instructions = instructions
    }
}
