import Yams

/// Typed reads of a composed YAML node that fail with `Manifest.Error`s naming the file,
/// the line and the dotted key path (`images.model-ops.args`).
struct YAMLValue {
    let node: Node
    let keyPath: String
    let file: String
    /// Line of the key that introduced this value, when it came from a mapping.
    var keyLine: Int? = nil

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1)
    }

    func error(_ message: String, hint: String? = nil) -> Manifest.Error {
        Manifest.Error(location, "\(keyPath): \(message)", hint: hint)
    }

    private var kind: String {
        switch node {
        case .scalar: return "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node {
            return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }
        return false
    }

    func child(_ key: String, _ node: Node, keyLine: Int? = nil) -> YAMLValue {
        YAMLValue(node: node, keyPath: keyPath.isEmpty ? key : "\(keyPath).\(key)", file: file, keyLine: keyLine)
    }

    /// The line of the key that introduced this value (the value itself may start lines later).
    var keyLocation: SourceLocation {
        SourceLocation(file: file, line: keyLine ?? node.mark?.line ?? 1)
    }

    /// The pairs of a mapping, in order. (Duplicate keys never get here: Yams refuses them
    /// and `ManifestLoader` reports both lines.)
    func mapping() throws(Manifest.Error) -> [(key: String, value: YAMLValue)] {
        guard case .mapping(let mapping) = node else {
            throw error("expected a mapping, found \(kind)")
        }
        var result: [(key: String, value: YAMLValue)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw YAMLValue(node: keyNode, keyPath: keyPath, file: file).error("keys must be strings")
            }
            result.append((scalar.string, child(scalar.string, valueNode, keyLine: keyNode.mark?.line)))
        }
        return result
    }

    /// A mapping whose keys must all be in `allowed`.
    func mapping(allowed: [String]) throws(Manifest.Error) -> [String: YAMLValue] {
        var result: [String: YAMLValue] = [:]
        for (key, value) in try mapping() {
            guard allowed.contains(key) else {
                let hint = nearest(key, in: allowed).map { "did you mean '\($0)'?" }
                    ?? "allowed: \(allowed.joined(separator: ", "))"
                throw Manifest.Error(value.keyLocation, "\(value.keyPath): unknown key", hint: hint)
            }
            result[key] = value
        }
        return result
    }

    func string() throws(Manifest.Error) -> String {
        guard case .scalar(let scalar) = node else {
            throw error("expected a string, found \(kind)")
        }
        return scalar.string
    }

    func bool() throws(Manifest.Error) -> Bool {
        guard case .scalar(let scalar) = node else { throw error("expected true or false, found \(kind)") }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found '\(scalar.string)'")
        }
    }

    func list() throws(Manifest.Error) -> [YAMLValue] {
        guard case .sequence(let sequence) = node else {
            throw error("expected a list, found \(kind)")
        }
        return sequence.enumerated().map { child("\($0.offset)", $0.element) }
    }

    func stringList() throws(Manifest.Error) -> [String] {
        var result: [String] = []
        for item in try list() { result.append(try item.string()) }
        return result
    }

    /// A list of strings, also accepting a single string.
    func stringOrList() throws(Manifest.Error) -> [String] {
        if case .scalar = node { return [try string()] }
        return try stringList()
    }

    /// A string → string mapping (numbers and booleans are taken as written: `PORT: 7212`).
    func stringMap() throws(Manifest.Error) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try mapping() {
            result[key] = value.isNull ? "" : try value.string()
        }
        return result
    }
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a typo
/// (for "did you mean …" hints).
public func nearest(_ word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
    guard let (best, distance) = scored, distance <= max(2, word.count / 3) else { return nil }
    return best
}

/// Levenshtein distance over Unicode scalars.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
