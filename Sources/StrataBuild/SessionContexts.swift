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
                            mtime: Int64) -> SessionContext {
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
        return SessionContext(sharedKey: sharedKey, dockerfileName: dockerfileName) { request in
            switch request.name {
            case "context": filter(context, request)
            case "dockerfile": filter([dockerfileEntry], request)
            default: nil
            }
        }
    }

    /// The entries a request keeps, as fsutil's `FilterFS` would: with follow paths, those
    /// paths, what is below them and the directories above them (a followed symlink brings
    /// its target); with include patterns, what they match and the directories above it;
    /// then without what the exclude patterns match.
    static func filter(_ files: [SessionFile], _ request: SessionDirectoryRequest) -> [SessionFile] {
        var kept = files
        if !request.followPaths.isEmpty {
            var follow = Set(request.followPaths.map(clean))
            for file in files where file.kind == .symlink && follow.contains(file.path) {
                if let target = file.linkTarget.map({ resolve($0, from: file.path) }) { follow.insert(target) }
            }
            kept = kept.filter { file in
                follow.contains { path in
                    path == "." || file.path == path || file.path.hasPrefix(path + "/") || path.hasPrefix(file.path + "/")
                }
            }
        }
        if !request.includePatterns.isEmpty,
           let include = try? DockerIgnore(contents: request.includePatterns.joined(separator: "\n"), file: "include-patterns") {
            let matched = Set(kept.filter { include.isExcluded($0.path) }.map(\.path))
            kept = kept.filter { file in
                matched.contains(file.path) || (file.kind == .directory && matched.contains { $0.hasPrefix(file.path + "/") })
            }
        }
        if !request.excludePatterns.isEmpty,
           let exclude = try? DockerIgnore(contents: request.excludePatterns.joined(separator: "\n"), file: "exclude-patterns") {
            kept = kept.filter { !exclude.isExcluded($0.path) }
        }
        return kept
    }

    /// A path as fsutil compares it: no leading `/` or `./`, no trailing `/`.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// A symlink's target relative to the context root (an absolute target means the root).
    static func resolve(_ target: String, from link: String) -> String {
        if target.hasPrefix("/") { return clean(target) }
        let directory = link.split(separator: "/").dropLast().joined(separator: "/")
        return clean(directory.isEmpty ? target : directory + "/" + target)
    }
}
