import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which files of a context a build can read: the "precise context" of DESIGN.md.
///
/// The selection is always a superset of what BuildKit reads, never less: a file left out of
/// the key but read by the build would let a stale image pass for fresh. So anything that is
/// not statically known (`RUN --mount=type=bind` from the context, a source whose ARG has no
/// value, a `**` pattern of `COPY --parents`) falls back to the whole context, and `--exclude`
/// flags are not applied (a few more files in the key cost a rebuild, never a wrong image).
public enum ContextSelection: Sendable, Equatable {
    /// Every file left after `.dockerignore`.
    case whole(reason: String)
    /// Only the files these cleaned, context-relative source patterns match (a path, a
    /// directory, or a `*`/`?`/`[…]` glob), and the folders above them.
    case sources([String])

    /// The selection for one build of `dockerfile` with these build args.
    public static func of(_ dockerfile: Dockerfile, target: String?, args: [String: String],
                          platform: String?) -> ContextSelection {
        let scope = FleetResolver.globalScope(dockerfile, args: args, platform: platform)
        let reachable = FleetResolver.reachableStages(dockerfile, target: target, scope: scope)
            ?? Array(dockerfile.stages.indices)
        let lexer = ShellLexer(escape: dockerfile.escape)
        var patterns: [String] = []
        for index in reachable {
            for instruction in dockerfile.stages[index].instructions {
                switch instruction.keyword {
                case "COPY", "ADD":
                    if instruction.flag("from") != nil { continue }
                    for source in CheckContext.sources(of: instruction) {
                        guard let expanded = try? lexer.expand(source, { args[$0] ?? scope[$0] }) else {
                            return .whole(reason: "line \(instruction.line): \(instruction.keyword) source '\(source)' cannot be expanded")
                        }
                        if expanded.contains("**") {
                            return .whole(reason: "line \(instruction.line): '\(expanded)' is a ** pattern")
                        }
                        patterns.append(cleanContextPath(expanded))
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
        if patterns.contains(".") { return .whole(reason: "the whole context is copied") }
        return .sources(Array(Set(patterns)).sorted())
    }

    /// True when `path` (context-relative, `/`-separated) is selected. A folder is selected
    /// when it lies above a selected source, so the tar carries it.
    public func includes(_ path: String, isDirectory: Bool = false) -> Bool {
        switch self {
        case .whole:
            return true
        case .sources(let patterns):
            for pattern in patterns {
                if Self.matches(pattern, path) { return true }
                if isDirectory, Self.isAncestor(path, of: pattern) { return true }
            }
            return false
        }
    }

    /// `path` is the source, lies below it, or matches it (or lies below a match) as a glob.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        if path == pattern || path.hasPrefix(pattern + "/") { return true }
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
