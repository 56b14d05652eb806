import Foundation
import StrataArchive
import StrataFleet
import StrataHTTP

/// The request body of a build: the node's context entries and the rewritten Dockerfile,
/// packed deterministically by libarchive as curl pulls it (never held in memory).
public enum ContextPacker {
    /// Where the Dockerfile goes in the tar when it is not a file of the context (outside the
    /// context folder, or left out by `.dockerignore`): the engine's BuildKit reads the
    /// Dockerfile from the uploaded context and applies no `.dockerignore` to it, so, as the
    /// classic docker client did, it travels under a hidden name.
    public static let detachedDockerfilePath = ".dockerfile.strata"

    /// The Dockerfile's path inside the tar: its own path when it is a file of the context
    /// that `.dockerignore` keeps (so `COPY . /x` copies exactly what docker's client would
    /// send), else `detachedDockerfilePath`.
    public static func dockerfilePath(contextDirectory: String, dockerfilePath: String) -> String {
        let prefix = contextDirectory.hasSuffix("/") ? contextDirectory : contextDirectory + "/"
        guard dockerfilePath.hasPrefix(prefix) else { return detachedDockerfilePath }
        let relative = String(dockerfilePath.dropFirst(prefix.count))
        let ignore = try? DockerIgnore.load(contextDirectory: contextDirectory, dockerfilePath: dockerfilePath)
        return ignore?.isExcluded(relative) == true ? detachedDockerfilePath : relative
    }

    /// The tar entries: the context files (as selected) with the Dockerfile at `dockerfilePath`
    /// holding `dockerfile` (the rewritten text), sorted by path.
    public static func entries(contextDirectory: String, files: [ContextFile], dockerfilePath: String,
                               dockerfile: String) -> [TarEntry] {
        var entries: [TarEntry] = []
        entries.reserveCapacity(files.count + 1)
        for file in files where file.path != dockerfilePath {
            switch file.kind {
            case .file:
                entries.append(TarEntry(path: file.path, kind: .file, mode: file.mode & 0o7777, size: file.size,
                                        sourcePath: contextDirectory + "/" + file.path, linkTarget: nil, contents: nil))
            case .directory:
                entries.append(.directory(file.path, mode: file.mode & 0o7777))
            case .symlink:
                entries.append(.symlink(file.path, target: file.linkTarget ?? ""))
            case .other:
                continue
            }
        }
        let mode = files.first { $0.path == dockerfilePath }.map { $0.mode & 0o7777 } ?? 0o644
        entries.append(.file(dockerfilePath, contents: Array(dockerfile.utf8), mode: mode))
        return entries.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// A streamed, chunked request body over `entries`.
    public static func body(_ entries: [TarEntry], mtime: Int64) -> HTTPBody {
        .stream(length: nil) { try TarBodyStream(TarStream(entries: entries, mtime: mtime)) }
    }
}

/// Adapts libarchive's pull-based `TarStream` to the HTTP client's body protocol; curl calls
/// `read` on its transfer thread only.
final class TarBodyStream: HTTPBodyStream {
    private let stream: TarStream

    init(_ stream: TarStream) {
        self.stream = stream
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try stream.read(into: buffer)
    }
}
