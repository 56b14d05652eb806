import Foundation
import StrataEngine
import StrataFleet
import StrataHash

/// A node's context served over a build session: the `context` directory holds the files
/// the key selected (read from disk when BuildKit asks for them), the `dockerfile`
/// directory the rewritten Dockerfile alone. Each request is filtered as BuildKit asks
/// (follow paths, include and exclude patterns), as the docker CLI's file server does.
public enum SessionContexts {
    /// The Dockerfile's name in the `dockerfile` directory.
    public static let dockerfileName = "Dockerfile"

    public static func make(contextDirectory: String, files: [ContextFile], dockerfile: String, key: String,
                            mtime: Int64, secret: @escaping @Sendable (String) -> [UInt8]? = { _ in nil },
                            credentials: @escaping @Sendable (String) -> (username: String, password: String)? = { _ in nil })
        -> SessionContext
    {
        let nanoseconds = mtime * 1_000_000_000
        var entries: [SessionFile] = []
        entries.reserveCapacity(files.count)
        for file in files {
            let mode = file.mode & 0o7777
            switch file.kind {
            case .file:
                entries.append(SessionFile(path: file.path, kind: .file, mode: mode, size: file.size, mtime: nanoseconds,
                                           contents: .path(contextDirectory + "/" + file.path)))
            case .directory:
                entries.append(SessionFile(path: file.path, kind: .directory, mode: mode, mtime: nanoseconds))
            case .symlink:
                entries.append(SessionFile(path: file.path, kind: .symlink, mode: 0o777, size: file.size,
                                           mtime: nanoseconds, linkTarget: file.linkTarget ?? ""))
            case .other:
                continue
            }
        }
        let text = Array(dockerfile.utf8)
        let dockerfileEntry = SessionFile(path: dockerfileName, kind: .file, mode: 0o644, size: Int64(text.count),
                                          mtime: nanoseconds, contents: .bytes(text))
        // What BuildKit received is kept under the shared key and compared by size and
        // mtime next time; mtimes are fixed, so the key must change whenever a byte can:
        // the node's key covers the context files, the Dockerfile's text its rewrite. (Should
        // hashing fail, a key of its own that nothing can share.)
        let sharedKey = (try? SHA256.hash(Array("\(key)\n".utf8) + text))?.hex ?? UUID().uuidString
        let context = entries
        return SessionContext(sharedKey: sharedKey, dockerfileName: dockerfileName, secret: secret,
                              credentials: credentials) { request in
            switch request.name {
            case "context": filter(context, request)
            case "dockerfile": filter([dockerfileEntry], request)
            default: nil
            }
        }
    }

    /// The entries a request keeps, as fsutil's `NewFilterFS` and `Walk` keep them
    /// (tonistiigi/fsutil filter.go, followlinks.go): the follow paths, with the targets of
    /// the symlinks on them (`FollowLinks`), join the include patterns; an entry is kept when
    /// an include pattern matches it or a directory above it (patternmatcher semantics:
    /// wildcards, `**`, `[ab]`) and no exclude pattern does (exceptions re-include); the
    /// directories above a kept entry are sent with it.
    static func filter(_ files: [SessionFile], _ request: SessionDirectoryRequest) -> [SessionFile] {
        let followed = followLinks(request.followPaths, in: files)
        let includes = request.includePatterns + followed
        var kept = files
        // The root followed is the whole context. A pattern fsutil's matcher would refuse
        // fails the request there; here it filters nothing, so the build sees at least what
        // it asked for.
        if !includes.isEmpty, !followed.contains("."), let include = try? DockerIgnore(contents: includes.joined(separator: "\n"), file: "include-patterns") {
            kept = kept.filter { include.isExcluded($0.path) }
        }
        if !request.excludePatterns.isEmpty,
           let exclude = try? DockerIgnore(contents: request.excludePatterns.joined(separator: "\n"), file: "exclude-patterns") {
            kept = kept.filter { !exclude.isExcluded($0.path) }
        }
        var sent = Set(kept.map(\.path))
        for path in sent {
            var parent = Substring(path)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                if !sent.insert(String(parent)).inserted { break }
            }
        }
        return files.filter { sent.contains($0.path) }
    }

    /// fsutil's `FollowLinks`: each follow path, component by component; where a component
    /// is a symlink (or a wildcard matching symlinks), the path up to it is kept and each
    /// target, joined with the rest of the path, is followed in turn.
    static func followLinks(_ paths: [String], in files: [SessionFile]) -> [String] {
        guard !paths.isEmpty else { return [] }
        let links = Dictionary(files.filter { $0.kind == .symlink }.map { ($0.path, $0.linkTarget ?? "") }) { first, _ in first }
        var resolved = Set<String>()
        func targets(of path: String) -> [String]? {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let directory = path.split(separator: "/").dropLast().joined(separator: "/")
            guard name.contains(where: { "*?[\\".contains($0) }) else {
                return links[path].map { [ContextFile.contextPath(ofLinkTarget: $0, from: path)] }
            }
            guard let pattern = try? DockerIgnore(contents: name, file: "followpaths") else { return nil }
            let found = links.filter { link, _ in
                let linkDirectory = link.split(separator: "/").dropLast().joined(separator: "/")
                return linkDirectory == directory && pattern.isExcluded(String(link.split(separator: "/").last ?? ""))
            }.sorted { $0.key < $1.key }
            return found.isEmpty ? nil : found.map { ContextFile.contextPath(ofLinkTarget: $0.value, from: $0.key) }
        }
        func follow(_ path: String, depth: Int) {
            // A cycle of links ends where fsutil's ends: at a path already resolved.
            guard depth < 64 else { return }
            var rest = clean(path).split(separator: "/").map(String.init)
            if rest == ["."] { rest = [] }
            var current = ""
            while !rest.isEmpty {
                current = current.isEmpty ? rest.removeFirst() : current + "/" + rest.removeFirst()
                let found = targets(of: current)
                if (rest.isEmpty || found != nil) && resolved.contains(current) { return }
                if let found {
                    resolved.insert(current)
                    for target in found { follow(rest.isEmpty ? target : target + "/" + rest.joined(separator: "/"), depth: depth + 1) }
                    return
                }
            }
            resolved.insert(current.isEmpty ? "." : current)
        }
        for path in paths { follow(path, depth: 0) }
        return resolved.sorted()
    }

    /// A path as fsutil compares it: no leading `/` or `./`, no trailing `/`.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
