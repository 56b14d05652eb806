extension Instruction {
    /// The declarations of an ARG instruction (`ARG a=1 b` declares `a` with default `1` and
    /// `b` without); empty for any other instruction. Defaults are as written, quotes kept:
    /// expand them with `ShellLexer` to get the value BuildKit uses.
    public var argDeclarations: [ArgDeclaration] {
        guard keyword == "ARG" else { return [] }
        return arguments.map { word in
            guard let equals = word.firstIndex(of: "=") else {
                return ArgDeclaration(name: word, defaultValue: nil, line: line)
            }
            return ArgDeclaration(name: String(word[..<equals]),
                                  defaultValue: String(word[word.index(after: equals)...]), line: line)
        }
    }

    /// The key/value pairs of an ENV or LABEL instruction, in both forms BuildKit accepts:
    /// `ENV key=value key2="value 2"` and the legacy `ENV key the whole rest`. Values are
    /// as written (quotes kept, variables not expanded); empty for other instructions.
    public var envPairs: [(key: String, value: String)] {
        guard keyword == "ENV" || keyword == "LABEL", case .success(let pairs) = nameValuePairs() else { return [] }
        return pairs
    }

    /// line_parsers.go `parseNameVal`: when the first word has no `=`, the legacy form
    /// `KEY name value`; otherwise every word must be `name=value`.
    func nameValuePairs() -> Result<[(key: String, value: String)], Dockerfile.LineError> {
        guard let first = arguments.first else { return .success([]) }
        guard first.contains("=") else {
            let (key, value) = DockerfileLexing.splitFirstWord(Array(rest.utf8)[...])
            guard !value.isEmpty else { return .failure(.init(message: "\(keyword) must have two arguments")) }
            return .success([(DockerfileLexing.string(key), DockerfileLexing.string(value))])
        }
        var pairs: [(key: String, value: String)] = []
        for word in arguments {
            guard let equals = word.firstIndex(of: "=") else {
                return .failure(.init(message: "Syntax error - can't find = in \"\(word)\". Must be of the form: name=value"))
            }
            pairs.append((String(word[..<equals]), String(word[word.index(after: equals)...])))
        }
        return .success(pairs)
    }
}
