import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every path of a context folder (nothing ignored), and its `.dockerignore`.
struct ContextListing {
    var paths: [String]
    var pathSet: Set<String>
    var ignore: DockerIgnore?
}

/// COPY/ADD sources that the context does not have, or that `.dockerignore` leaves out.
extension CheckContext {
    mutating func listing(for node: BuildNode) -> ContextListing? {
        let key = node.contextDirectory + "\u{0}" + node.dockerfilePath
        if let cached = contextCache[key] { return cached }
        guard let files = try? walkContext(directory: node.contextDirectory, ignore: nil) else { return nil }
        let ignore = (try? DockerIgnore.load(contextDirectory: node.contextDirectory, dockerfilePath: node.dockerfilePath)) ?? nil
        let paths = files.map(\.path)
        let listing = ContextListing(paths: paths, pathSet: Set(paths), ignore: ignore)
        contextCache[key] = listing
        return listing
    }

    mutating func contextSources() -> [Finding] {
        var findings: [Finding] = []
        for (image, dockerfile, node) in parsedImages {
            guard let listing = listing(for: node) else { continue }
            let lexer = ShellLexer(escape: dockerfile.escape)
            for stage in Self.stages(dockerfile, node: node) {
                for instruction in stage.instructions where instruction.keyword == "COPY" || instruction.keyword == "ADD" {
                    guard instruction.flag("from") == nil else { continue }
                    for source in Self.sources(of: instruction) {
                        guard let expanded = try? lexer.expand(source, { node.args[$0] }) else { continue }
                        if let finding = check(source: expanded, instruction: instruction, dockerfile: dockerfile,
                                               image: image, listing: listing) {
                            findings.append(finding)
                        }
                    }
                }
            }
        }
        return findings
    }

    /// The context sources of a COPY/ADD: every argument but the destination, less heredocs
    /// and URLs (ADD fetches those itself).
    static func sources(of instruction: Instruction) -> [String] {
        let arguments = instruction.arguments
        guard arguments.count >= 2 else { return [] }
        let heredocNames = Set(instruction.heredocs.map(\.name))
        return arguments.dropLast().filter { argument in
            if argument.hasPrefix("<<") {
                let name = argument.dropFirst(2).trimmingCharacters(in: CharacterSet(charactersIn: "-\"'"))
                if heredocNames.contains(name) { return false }
            }
            let lowered = argument.lowercased()
            return !(lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered.hasPrefix("git@"))
        }.map { argument in
            // Shell-form words keep their quotes as written.
            if argument.count >= 2, let first = argument.first, first == argument.last, first == "\"" || first == "'" {
                return String(argument.dropFirst().dropLast())
            }
            return argument
        }
    }

    func check(source: String, instruction: Instruction, dockerfile: Dockerfile, image: ImageSpec,
               listing: ContextListing) -> Finding? {
        let cleaned = cleanContextPath(source)
        if cleaned == "." { return nil }
        let location = SourceLocation(file: dockerfile.path, line: instruction.line)
        let hasMagic = cleaned.contains { "*?[".contains($0) }
        let matches: [String]
        if hasMagic {
            matches = listing.paths.filter { fnmatch(cleaned, $0, FNM_PATHNAME) == 0 }
        } else {
            matches = listing.pathSet.contains(cleaned) ? [cleaned] : []
        }
        let contextName = image.context
        guard !matches.isEmpty else {
            let names = listing.paths.filter { !$0.contains("/") || $0.split(separator: "/").count == cleaned.split(separator: "/").count }
            let close = nearest(cleaned, in: names)
            return Finding(.error, rule: "missing-copy-source", at: location, node: image.name,
                           message: "\(instruction.keyword) source '\(source)' is not in the context '\(contextName)'",
                           hint: close.map { "did you mean '\($0)'?" } ?? "paths are relative to the context folder")
        }
        guard let ignore = listing.ignore else { return nil }
        // A source is lost when everything it matches is excluded: the match itself, and for a
        // folder every path below it.
        var excludingRule: DockerIgnore.Rule?
        for match in matches {
            let below = listing.paths.filter { $0 == match || $0.hasPrefix(match + "/") }
            for path in below {
                guard let rule = ignore.excludingRule(path) else { return nil }
                excludingRule = excludingRule ?? rule
            }
        }
        guard let rule = excludingRule else { return nil }
        return Finding(.error, rule: "ignored-copy-source", at: location, node: image.name,
                       message: "\(instruction.keyword) source '\(source)' is excluded by \(fleet.displayPath(rule.file)):\(rule.line) ('\(rule.pattern)')",
                       hint: "remove that line or add an exception '!\(cleaned)'")
    }
}

/// A COPY source as BuildKit resolves it against the context: leading `/` and `./` dropped,
/// `..` cannot climb out, `a//b/./c` → `a/b/c`.
func cleanContextPath(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(part)
    }
    return parts.isEmpty ? "." : parts.joined(separator: "/")
}
