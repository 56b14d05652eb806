extension Dockerfile {
    /// Every instruction keyword BuildKit knows (moby/buildkit `frontend/dockerfile/command`).
    public static let instructionKeywords: Set<String> = [
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    ]

    /// The stage whose `AS` name is `name` (compared case-insensitively, as BuildKit does).
    public func stage(named name: String) -> Stage? {
        let lowered = name.lowercased()
        return stages.first { $0.name == lowered }
    }

    /// The second pass, instructions/parse.go `Parse`: checks each instruction, splits the
    /// list into global ARGs and stages.
    mutating func assemble(_ instructions: [Instruction]) throws(ParseError) {
        for instruction in instructions {
            if let message = instruction.problem() {
                throw ParseError(path: path, line: instruction.line, message: message)
            }
            switch instruction.keyword {
            case "FROM":
                stages.append(try makeStage(instruction))
            case "ARG" where stages.isEmpty:
                globalArgs += instruction.argDeclarations
            default:
                guard !stages.isEmpty else {
                    throw ParseError(path: path, line: instruction.line, message:
                        "no build stage in current context: \(instruction.keyword) before the first FROM (only ARG may come first)")
                }
                stages[stages.count - 1].instructions.append(instruction)
            }
        }
    }

    /// instructions/parse.go `parseFrom` and `parseBuildStageName`.
    private func makeStage(_ from: Instruction) throws(ParseError) -> Stage {
        let args = from.arguments
        var name: String?
        if args.count == 3 && args[1].lowercased() == "as" {
            let lowered = args[2].lowercased()
            guard Self.isValidStageName(lowered) else {
                throw ParseError(path: path, line: from.line, message:
                    "invalid name for build stage: \"\(args[2])\", name can't start with a number or contain symbols")
            }
            // dockerfile2llb refuses two stages with one name.
            if stages.contains(where: { $0.name == lowered }) {
                throw ParseError(path: path, line: from.line, message: "duplicate stage name \"\(lowered)\"")
            }
            name = lowered
        } else if args.count != 1 {
            throw ParseError(path: path, line: from.line, message: "FROM requires either one or three arguments")
        }
        return Stage(index: stages.count, name: name, baseReference: args[0], platform: from.flag("platform"),
                     from: from, instructions: [])
    }

    /// `^[a-z][a-z0-9-_.]*$` (instructions/parse.go `validStageName`), on a lowercased name.
    private static func isValidStageName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        return name.utf8.allSatisfy { ch in
            (ch >= UInt8(ascii: "a") && ch <= UInt8(ascii: "z")) || isDigit(ch) || "-_.".utf8.contains(ch)
        }
    }
}

extension Instruction {
    private enum FlagKind { case string, list, bool }

    /// The flags each instruction accepts (instructions/parse.go, `req.flags.Add…`); any
    /// other instruction accepts none.
    private static let flagSpecs: [String: [String: FlagKind]] = [
        "FROM": ["platform": .string],
        "RUN": ["mount": .list, "network": .string, "security": .string, "device": .list],
        "COPY": ["from": .string, "chown": .string, "chmod": .string, "link": .bool, "parents": .bool,
                 "exclude": .list],
        "ADD": ["chown": .string, "chmod": .string, "link": .bool, "keep-git-dir": .bool, "checksum": .string,
                "parents": .bool, "unpack": .bool, "exclude": .list],
        "HEALTHCHECK": ["interval": .string, "timeout": .string, "start-period": .string,
                        "start-interval": .string, "retries": .string],
    ]

    /// What BuildKit's `ParseInstruction` would refuse in this instruction, nil when fine.
    func problem() -> String? {
        guard Dockerfile.instructionKeywords.contains(keyword) else {
            return "unknown instruction: \(keyword)" + Self.suggestion(for: keyword)
        }
        if let message = flagProblem() { return message }
        let hasArgs = !rest.isEmpty
        switch keyword {
        case "ADD", "COPY":
            if arguments.count < 2 {
                return "\(keyword) requires at least two arguments, but only one was provided. Destination could not be determined"
            }
        case "ARG":
            if !hasArgs { return "ARG requires at least one argument" }
            if argDeclarations.contains(where: { $0.name.isEmpty }) { return "ARG names can not be blank" }
        case "ENV", "LABEL", "EXPOSE", "ONBUILD", "VOLUME":
            if arguments.isEmpty { return "\(keyword) requires at least one argument" }
            if keyword == "VOLUME" && arguments.contains("") { return "VOLUME specified can not be an empty string" }
            if keyword == "ONBUILD" { return triggerProblem() }
        case "MAINTAINER", "STOPSIGNAL", "USER", "WORKDIR":
            if !hasArgs { return "\(keyword) requires exactly one argument" }
        case "SHELL":
            if !isJSON { return "SHELL requires the arguments to be in JSON form" }
            if arguments.isEmpty { return "SHELL requires at least one argument" }
        case "HEALTHCHECK":
            return healthcheckProblem()
        default:
            break
        }
        return nil
    }

    /// bflag.go `BFlags.Parse`.
    private func flagProblem() -> String? {
        let spec = Self.flagSpecs[keyword] ?? [:]
        var seen: Set<String> = []
        for flag in flags {
            guard let kind = spec[flag.name] else { return "unknown flag: \(flag.name)" }
            if kind != .list && !seen.insert(flag.name).inserted { return "duplicate flag specified: \(flag.name)" }
            switch kind {
            case .bool:
                if let value = flag.value, value.lowercased() != "true" && value.lowercased() != "false" {
                    return "expecting boolean value for flag \(flag.name), not: \(value)"
                }
            case .string, .list:
                if flag.value == nil { return "missing a value on flag: \(flag.name)" }
            }
        }
        return nil
    }

    /// instructions/parse.go `parseHealthcheck`.
    private func healthcheckProblem() -> String? {
        guard let type = arguments.first else { return "HEALTHCHECK requires at least one argument" }
        switch type.uppercased() {
        case "NONE": return arguments.count > 1 ? "HEALTHCHECK NONE takes no arguments" : nil
        case "CMD": return arguments.count > 1 ? nil : "Missing command after HEALTHCHECK CMD"
        default: return "Unknown type \"\(type)\" in HEALTHCHECK (try CMD)"
        }
    }

    /// instructions/parse.go `parseOnBuild` refuses three triggers and nothing else: the
    /// trigger itself is only checked when a child image builds on this one.
    private func triggerProblem() -> String? {
        switch (arguments.first ?? "").uppercased() {
        case "ONBUILD": return "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        case let trigger where trigger == "FROM" || trigger == "MAINTAINER":
            return "\(trigger) isn't allowed as an ONBUILD trigger"
        default: return nil
        }
    }

    /// BuildKit's `suggest.WrapError`: the closest keyword when it is only a typo away.
    private static func suggestion(for word: String) -> String {
        let typed = Array(word.utf8)
        let limit = max(1, typed.count / 3)
        let candidate = Dockerfile.instructionKeywords
            .filter { abs($0.utf8.count - typed.count) <= limit }
            .map { ($0, editDistance(typed, Array($0.utf8))) }
            .min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        guard let (keyword, distance) = candidate, distance <= limit else { return "" }
        return " (did you mean \(keyword.lowercased())?)"
    }

    /// Levenshtein distance; both words are short (keywords, and words within a third of one).
    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var previous = Array(0...b.count)
        var current = previous
        for i in a.indices {
            current[0] = i + 1
            for j in b.indices {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i] == b[j] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
