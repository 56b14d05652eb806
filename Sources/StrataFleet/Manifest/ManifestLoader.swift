import Foundation
import Yams

/// Loads a `strata.yaml` (with its includes and `discover:` globs) or a `docker-compose.yml`.
public enum ManifestLoader {
    /// File names looked up, in order, when no `-f` is given.
    public static let defaultFileNames = ["strata.yaml", "strata.yml", "docker-compose.yml", "docker-compose.yaml",
                                          "compose.yaml", "compose.yml"]

    /// Finds the manifest in `directory` (the first of `defaultFileNames` that exists).
    public static func find(in directory: String) throws(Manifest.Error) -> String {
        for name in defaultFileNames {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw Manifest.Error(SourceLocation(file: directory, line: 0),
                             "no manifest found", hint: "expected one of \(defaultFileNames.joined(separator: ", ")); use -f FILE")
    }

    /// Loads the manifest at `path`. A compose file is recognised by its name or by a top-level
    /// `services:` key without `images:`.
    public static func load(path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(Manifest.Error) -> Manifest {
        let absolute = absolutePath(path)
        let directory = (absolute as NSString).deletingLastPathComponent
        let root = try readYAML(absolute, display: (absolute as NSString).lastPathComponent)
        var manifest = Manifest(path: absolute, directory: directory)
        if isCompose(path: absolute, root: root) {
            var loader = ComposeLoader(manifestDirectory: directory, environment: environment)
            manifest.images = try loader.images(from: root)
            manifest.warnings = loader.warnings
            guard !manifest.images.isEmpty else {
                throw Manifest.Error(root.location, "no service has a build: section, so there is nothing to build",
                                     hint: "strata builds the services with build:; pulled images are not part of the fleet")
            }
            return manifest
        }
        var state = LoadState(manifestDirectory: directory)
        try state.loadDocument(root, fileDirectory: directory, isRoot: true, into: &manifest)
        try state.resolveDiscovered(into: &manifest)
        guard !manifest.images.isEmpty else {
            throw Manifest.Error(root.location, "the manifest defines no image",
                                 hint: "add at least one image under images:, or a discover: glob that finds Dockerfiles")
        }
        return manifest
    }

    static func isCompose(path: String, root: YAMLValue) -> Bool {
        let name = (path as NSString).lastPathComponent
        if name.hasPrefix("docker-compose") || name.hasPrefix("compose.") { return true }
        guard case .mapping(let mapping) = root.node else { return false }
        let keys = Set(mapping.keys.compactMap { $0.string })
        return keys.contains("services") && !keys.contains("images")
    }

    /// Reads and composes a YAML file; syntax errors carry libyaml's line.
    static func readYAML(_ absolute: String, display: String) throws(Manifest.Error) -> YAMLValue {
        let text: String
        do {
            text = try String(contentsOfFile: absolute, encoding: .utf8)
        } catch {
            throw Manifest.Error(SourceLocation(file: display, line: 0), "cannot read the file",
                                 hint: FileManager.default.fileExists(atPath: absolute) ? "is it UTF-8 text?" : "no such file")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error, file: display, text: text)
        } catch {
            throw Manifest.Error(SourceLocation(file: display, line: 1), "invalid YAML: \(error)")
        }
        guard let node else {
            return YAMLValue(node: .mapping(Node.Mapping([])), keyPath: "", file: display)
        }
        return YAMLValue(node: node, keyPath: "", file: display)
    }

    private static func yamlError(_ error: YamlError, file: String, text: String) -> Manifest.Error {
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let lines = duplicateKeyLines(key, in: text, mappingMark: context.mark)
            if lines.count >= 2 {
                return Manifest.Error(SourceLocation(file: file, line: lines[1]),
                                      "\(key): duplicate key (first on line \(lines[0]))")
            }
            return Manifest.Error(SourceLocation(file: file, line: context.mark.line), "\(key): duplicate key")
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            return Manifest.Error(SourceLocation(file: file, line: mark.line), "invalid YAML: \(what)")
        default:
            let oneLine = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            return Manifest.Error(SourceLocation(file: file, line: 1), "invalid YAML: \(oneLine)")
        }
    }

    /// Lines where `key:` starts at the mapping's column, from the mapping's first line on
    /// (libyaml reports duplicate keys with the mapping's position only).
    private static func duplicateKeyLines(_ key: String, in text: String, mappingMark: Mark) -> [Int] {
        let indent = mappingMark.column - 1
        var lines: [Int] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where offset + 1 >= mappingMark.line {
            let leading = line.prefix { $0 == " " }.count
            guard leading == indent else {
                if leading < indent && !line.trimmingCharacters(in: .whitespaces).isEmpty && !lines.isEmpty { break }
                continue
            }
            let body = line.dropFirst(leading)
            if body.hasPrefix(key + ":") || body.hasPrefix("\"\(key)\":") || body.hasPrefix("'\(key)':") {
                lines.append(offset + 1)
            }
        }
        return lines
    }
}

func absolutePath(_ path: String) -> String {
    let expanded = (path as NSString).expandingTildeInPath
    if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
    let cwd = FileManager.default.currentDirectoryPath
    return ((cwd as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
}

/// `path` relative to `base` when it lies inside it, else `path` unchanged.
func relativePath(_ path: String, to base: String) -> String {
    let base = base.hasSuffix("/") ? base : base + "/"
    if path.hasPrefix(base) { return String(path.dropFirst(base.count)) }
    if path + "/" == base { return "." }
    return path
}

/// Joins a path written relative to `fileDirectory` and re-expresses it relative to the
/// manifest's folder, normalised (`a/./b/../c` → `a/c`).
func manifestRelative(_ written: String, fileDirectory: String, manifestDirectory: String) -> String {
    let joined = written.hasPrefix("/") ? written : (fileDirectory as NSString).appendingPathComponent(written)
    let normalised = (joined as NSString).standardizingPath
    let relative = relativePath(normalised, to: manifestDirectory)
    return relative.isEmpty ? "." : relative
}
