#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension DockerIgnore {
    /// Finds and reads the ignore file BuildKit would use for a build.
    ///
    /// BuildKit's Dockerfile frontend (moby/buildkit `frontend/dockerui`) first reads
    /// `<Dockerfile name>.dockerignore` from the Dockerfile's own directory (for
    /// `api/Dockerfile.prod`, that is `api/Dockerfile.prod.dockerignore`); only when
    /// that file is absent does it read `.dockerignore` at the context root. The two
    /// are never merged.
    ///
    /// Neither the Dockerfile nor the ignore file is put back into the context:
    /// BuildKit transfers the Dockerfile through its own `dockerfile` source, so a
    /// `.dockerignore` that excludes `Dockerfile` makes `COPY Dockerfile …` fail. Only
    /// the legacy builder's CLI (docker/cli `TrimBuildFilesFromExcludes`) appends
    /// `!Dockerfile` and `!.dockerignore` to the rules; strata follows BuildKit.
    ///
    /// - Returns: nil when neither file exists.
    public static func load(contextDirectory: String, dockerfilePath: String) throws(Error) -> DockerIgnore? {
        let specific = dockerfilePath + ".dockerignore"
        if let contents = try readIfPresent(specific) {
            return try DockerIgnore(contents: contents, file: specific)
        }
        let shared = contextDirectory.hasSuffix("/") ? contextDirectory + ".dockerignore" : contextDirectory + "/.dockerignore"
        if let contents = try readIfPresent(shared) {
            return try DockerIgnore(contents: contents, file: shared)
        }
        return nil
    }

    /// The file's text (invalid UTF-8 repaired), or nil when it does not exist.
    private static func readIfPresent(_ path: String) throws(Error) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .unreadable(path: path, errno: errno)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `strerror` text for an errno value.
func systemErrorMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
}
