import Foundation

/// Variable interpolation in compose files, as the compose specification's "Interpolation"
/// section says: `$VAR` and `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}`
/// (unset), `${VAR:?error}` and `${VAR?error}` (required), `${VAR:+alternative}` and
/// `${VAR+alternative}`, `$$` for a literal `$`. Defaults and alternatives are interpolated
/// too. Values come from the environment strata runs in, else from the project's `.env`
/// file (the environment wins, as with `docker compose`).
struct ComposeInterpolation {
    /// The variables: the `.env` file's, overridden by the environment's.
    let variables: [String: String]

    init(environment: [String: String], dotEnv: [String: String]) {
        variables = dotEnv.merging(environment) { _, fromEnvironment in fromEnvironment }
    }

    /// Why a value could not be interpolated; the caller adds the file, line and key.
    struct Failure: Error {
        var message: String
    }

    /// `text` with its variables replaced; `unset` collects the names used without a value
    /// and without a default (they become empty strings, with a warning).
    func interpolate(_ text: String, unset: inout [String]) throws(Failure) -> String {
        let characters = Array(text.unicodeScalars)
        var output = String.UnicodeScalarView()
        var index = 0
        while index < characters.count {
            let character = characters[index]
            guard character == "$", index + 1 < characters.count else {
                output.append(character)
                index += 1
                continue
            }
            let next = characters[index + 1]
            if next == "$" {
                output.append("$")
                index += 2
            } else if next == "{" {
                guard let close = Self.closingBrace(characters, from: index + 2) else {
                    throw Failure(message: "invalid interpolation format in '\(text)': a '${' is not closed")
                }
                let expression = String(String.UnicodeScalarView(characters[(index + 2)..<close]))
                output.append(contentsOf: try evaluate(expression, in: text, unset: &unset).unicodeScalars)
                index = close + 1
            } else if Self.isNameStart(next) {
                var end = index + 1
                while end < characters.count, Self.isNameCharacter(characters[end]) { end += 1 }
                let name = String(String.UnicodeScalarView(characters[(index + 1)..<end]))
                if let value = variables[name] { output.append(contentsOf: value.unicodeScalars) } else { unset.append(name) }
                index = end
            } else {
                output.append(character)
                index += 1
            }
        }
        return String(output)
    }

    /// One `${…}` expression: a name, then nothing or one of the operators.
    private func evaluate(_ expression: String, in text: String, unset: inout [String]) throws(Failure) -> String {
        let scalars = Array(expression.unicodeScalars)
        var end = 0
        while end < scalars.count, Self.isNameCharacter(scalars[end]) { end += 1 }
        let name = String(String.UnicodeScalarView(scalars[..<end]))
        guard !name.isEmpty, Self.isNameStart(scalars[0]) else {
            throw Failure(message: "invalid interpolation format in '\(text)': '${\(expression)}' does not start with a variable name")
        }
        let value = variables[name]
        let rest = String(String.UnicodeScalarView(scalars[end...]))
        if rest.isEmpty {
            if value == nil { unset.append(name) }
            return value ?? ""
        }
        for (operatorText, emptyCounts) in [(":-", true), ("-", false), (":?", true), ("?", false), (":+", true), ("+", false)]
        where rest.hasPrefix(operatorText) {
            let argument = String(rest.dropFirst(operatorText.count))
            let missing = value == nil || (emptyCounts && value == "")
            switch operatorText.last {
            case "-":
                return missing ? try interpolate(argument, unset: &unset) : value ?? ""
            case "?":
                guard !missing else {
                    let reason = try interpolate(argument, unset: &unset)
                    throw Failure(message: "required variable \(name) is missing a value" + (reason.isEmpty ? "" : ": \(reason)"))
                }
                return value ?? ""
            default:
                return missing ? "" : try interpolate(argument, unset: &unset)
            }
        }
        throw Failure(message: "invalid interpolation format in '\(text)': '${\(expression)}'")
    }

    /// The index of the `}` that closes a `${` whose body starts at `start` (nested `${…}` in
    /// a default are skipped).
    private static func closingBrace(_ characters: [Unicode.Scalar], from start: Int) -> Int? {
        var depth = 0
        var index = start
        while index < characters.count {
            if characters[index] == "$", index + 1 < characters.count, characters[index + 1] == "{" {
                depth += 1
                index += 2
                continue
            }
            if characters[index] == "}" {
                if depth == 0 { return index }
                depth -= 1
            }
            index += 1
        }
        return nil
    }

    private static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isNameStart(scalar) || ("0"..."9").contains(scalar)
    }

    /// A `.env` file: `KEY=value` lines; `#` comments and blank lines skipped; `export `
    /// accepted; a value in single quotes is literal, in double quotes has `\n` and `\"`
    /// unescaped, unquoted loses a trailing ` #comment`. nil when there is no file.
    static func readDotEnv(_ path: String) -> [String: String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var values: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") {
                value = String(value.dropFirst().dropLast())
            } else if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
                    .replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\"", with: "\"")
            } else if let comment = value.range(of: " #") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[key] = value
        }
        return values
    }
}
