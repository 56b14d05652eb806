import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which files of a context a build can read: the "precise context" of DESIGN.md.
///
/// The selection is always a superset of what BuildKit reads, never less: a file left out of
/// the key but read by the build would let a stale image pass for fresh. So anything that is
/// not statically known (`RUN --mount=type=bind` from the context, a source whose ARG has no
/// value, a `**` pattern of `COPY --parents`) falls back to the whole context. `--exclude`
/// patterns leave out the files below a directory source that they match (moby's pattern
/// matcher, relative to the source, as BuildKit's copy applies them); on a file or glob
/// source, or when a pattern cannot be expanded, they are not applied (a few more files in
/// the key cost a rebuild, never a wrong image).
public enum ContextSelection: Sendable, Equatable {
    /// Every file left after `.dockerignore`.
    case whole(reason: String)
    /// Only the files these sources select, and the folders above them.
    case sources([Source])

    /// One COPY/ADD source: a cleaned, context-relative pattern (a path, a directory, `.`,
    /// or a `*`/`?`/`[…]` glob) and the instruction's `--exclude` patterns.
    public struct Source: Sendable, Hashable, Comparable, CustomStringConvertible {
        public let pattern: String
        public let excludes: [String]
        private let matcher: DockerIgnore?

        public init(_ pattern: String, excludes: [String] = []) {
            self.pattern = pattern
            self.excludes = excludes
            matcher = excludes.isEmpty ? nil : try? DockerIgnore(contents: excludes.joined(separator: "\n"), file: "--exclude")
        }

        public var description: String {
            excludes.isEmpty ? pattern : "\(pattern) (excluding \(excludes.joined(separator: ", ")))"
        }

        /// True when `path` lies below this directory source and an `--exclude` pattern
        /// matches it relative to the source.
        func leavesOut(_ path: String) -> Bool {
            guard let matcher else { return false }
            if pattern == "." { return matcher.isExcluded(path) }
            guard path.hasPrefix(pattern + "/") else { return false }
            return matcher.isExcluded(String(path.dropFirst(pattern.count + 1)))
        }

        public static func == (a: Source, b: Source) -> Bool { a.pattern == b.pattern && a.excludes == b.excludes }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(pattern)
            hasher.combine(excludes)
        }
        public static func < (a: Source, b: Source) -> Bool { (a.pattern, a.excludes.joined(separator: "\n")) < (b.pattern, b.excludes.joined(separator: "\n")) }
    }

    /// The selection for one build of `dockerfile` with these build args.
    public static func of(_ dockerfile: Dockerfile, target: String?, args: [String: String],
                          platform: String?) -> ContextSelection {
        let scope = FleetResolver.globalScope(dockerfile, args: args, platform: platform)
        let reachable = FleetResolver.reachableStages(dockerfile, target: target, scope: scope)
            ?? Array(dockerfile.stages.indices)
        let lexer = ShellLexer(escape: dockerfile.escape)
        var sources: [Source] = []
        // The ENVs each stage ends with (nil: a value that cannot be known); a stage built
        // `FROM` an earlier one starts with them, as its image config carries them.
        var stageEnvironments: [Int: [String: String?]] = [:]
        var stageNames: [String: Int] = [:]
        for stage in dockerfile.stages { if let name = stage.name, stageNames[name] == nil { stageNames[name] = stage.index } }
        for index in reachable {
            // What a word in this stage can refer to: the stage's ARGs (a build arg, else the
            // default, else the global default of a re-declared global ARG, else empty) and
            // ENVs, its own and those of an earlier stage it is built on. Any other name may
            // come from an external base image's ENV: unknown here.
            let stage = dockerfile.stages[index]
            let base = ((try? lexer.expand(stage.baseReference) { scope[$0] }) ?? stage.baseReference).lowercased()
            var environment: [String: String?] = stageNames[base].flatMap { $0 < index ? stageEnvironments[$0] : nil } ?? [:]
            var variables: [String: String] = environment.compactMapValues { $0 }
            defer { stageEnvironments[index] = environment }
            var unknown: String?
            func expand(_ word: String) -> String? {
                unknown = nil
                let value = try? lexer.expand(word) { name in
                    if let value = variables[name] { return value }
                    unknown = name
                    return nil
                }
                return unknown == nil ? value : nil
            }
            for instruction in dockerfile.stages[index].instructions {
                switch instruction.keyword {
                case "ARG":
                    for declaration in instruction.argDeclarations {
                        if let value = args[declaration.name] {
                            variables[declaration.name] = value
                        } else if let written = declaration.defaultValue {
                            variables[declaration.name] = expand(written)
                        } else {
                            // A global ARG re-declared (or an automatic platform ARG); else unset, empty.
                            variables[declaration.name] = scope[declaration.name] ?? ""
                        }
                    }
                case "ENV":
                    for (name, value) in instruction.envPairs {
                        // An ENV value that cannot be known makes its name unknown too.
                        let expanded = expand(value)
                        variables[name] = expanded
                        environment[name] = .some(expanded)
                    }
                case "COPY", "ADD":
                    if instruction.flag("from") != nil { continue }
                    // An exclude that cannot be expanded is dropped: more files, never fewer.
                    let excludes = instruction.flagValues("exclude").compactMap(expand)
                    for source in CheckContext.sources(of: instruction) {
                        guard let expanded = expand(source) else {
                            let cause = unknown.map { "$\($0) is not an ARG or ENV of the stage (the base image may set it)" }
                                ?? "it cannot be expanded"
                            return .whole(reason: "line \(instruction.line): \(instruction.keyword) source '\(source)': \(cause)")
                        }
                        if expanded.contains("**") {
                            return .whole(reason: "line \(instruction.line): '\(expanded)' is a ** pattern")
                        }
                        sources.append(Source(cleanContextPath(expanded), excludes: excludes))
                    }
                case "RUN":
                    for mount in instruction.flagValues("mount") {
                        let type = FleetResolver.mountOption(mount, "type") ?? "bind"
                        guard type == "bind" else { continue }
                        // Without `from=`, a bind mount is the build context itself.
                        if FleetResolver.mountOption(mount, "from") == nil {
                            return .whole(reason: "line \(instruction.line): RUN --mount=type=bind reads the context")
                        }
                    }
                case "ONBUILD":
                    // An ONBUILD COPY runs in the children's builds, against their contexts;
                    // here it reads nothing.
                    continue
                default:
                    continue
                }
            }
        }
        if sources.contains(Source(".")) { return .whole(reason: "the whole context is copied") }
        return .sources(Array(Set(sources)).sorted())
    }

    /// True when `path` (context-relative, `/`-separated) is selected. A folder is selected
    /// when it lies above a selected source, so the tar carries it.
    public func includes(_ path: String, isDirectory: Bool = false) -> Bool {
        switch self {
        case .whole:
            return true
        case .sources(let sources):
            for source in sources {
                // Folders are kept: an exception (`!keep`) may bring back what lies below.
                if Self.matches(source.pattern, path), isDirectory || !source.leavesOut(path) { return true }
                if isDirectory, Self.isAncestor(path, of: source.pattern) { return true }
            }
            return false
        }
    }

    /// True when a directory's own entry (its mode) can reach the image: it is a source, lies
    /// below one, or the whole context is read. A folder that is only above a source (`src`
    /// for `COPY src/a.txt /d/`) is sent so the source has a place, and nothing of it is copied.
    public func copiesDirectory(_ path: String) -> Bool {
        switch self {
        case .whole: true
        case .sources(let sources): sources.contains { Self.matches($0.pattern, path) }
        }
    }

    /// `path` is the source, lies below it, or matches it (or lies below a match) as a glob.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        if pattern == "." || path == pattern || path.hasPrefix(pattern + "/") { return true }
        guard pattern.contains(where: { "*?[".contains($0) }) else { return false }
        // A glob matches whole paths segment by segment (Go's filepath.Match, as BuildKit's
        // copy does); a file below a matching folder is copied with it.
        let depth = pattern.split(separator: "/").count
        let segments = path.split(separator: "/")
        guard segments.count >= depth else { return false }
        let head = segments.prefix(depth).joined(separator: "/")
        return fnmatch(pattern, head, FNM_PATHNAME) == 0
    }

    /// A folder above a source: `a` and `a/b` are above `a/b/c*`.
    static func isAncestor(_ directory: String, of pattern: String) -> Bool {
        let folders = pattern.split(separator: "/").dropLast()
        let path = directory.split(separator: "/")
        guard path.count <= folders.count else { return false }
        return zip(path, folders).allSatisfy { segment, folder in
            fnmatch(String(folder), String(segment), 0) == 0
        }
    }
}
