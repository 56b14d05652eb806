#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One entry of a tar archive to write: what it is and where its bytes come from.
/// Ownership, times and the rest of the metadata are fixed by `TarWriter`.
public struct TarEntry: Sendable, Equatable {
    /// The kinds of entry a build context holds. Hard links are written as regular
    /// files (their content is what a build sees), so they have no kind here.
    public enum Kind: Sendable, Equatable {
        case file, directory, symlink
    }

    /// Path inside the archive: relative, "/"-separated, no "." or ".." components.
    public var path: String
    public var kind: Kind
    /// Permission bits (`0o7777` at most); the file type comes from `kind`.
    public var mode: UInt32
    /// Size in bytes of a file's content; 0 for directories and symlinks.
    public var size: Int64
    /// Absolute path of the file whose content is streamed, for `.file` entries
    /// without `contents`.
    public var sourcePath: String?
    /// Target of a `.symlink` entry, stored as is.
    public var linkTarget: String?
    /// Content of a synthesized file (a rewritten Dockerfile), instead of `sourcePath`.
    public var contents: [UInt8]?

    public init(
        path: String, kind: Kind, mode: UInt32, size: Int64 = 0,
        sourcePath: String? = nil, linkTarget: String? = nil, contents: [UInt8]? = nil
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.size = size
        self.sourcePath = sourcePath
        self.linkTarget = linkTarget
        self.contents = contents
    }

    /// A regular file whose content is given in memory.
    public static func file(_ path: String, contents: [UInt8], mode: UInt32 = 0o644) -> TarEntry {
        TarEntry(path: path, kind: .file, mode: mode, size: Int64(contents.count), contents: contents)
    }

    /// A directory.
    public static func directory(_ path: String, mode: UInt32 = 0o755) -> TarEntry {
        TarEntry(path: path, kind: .directory, mode: mode)
    }

    /// A symbolic link to `target`.
    public static func symlink(_ path: String, target: String) -> TarEntry {
        TarEntry(path: path, kind: .symlink, mode: 0o777, linkTarget: target)
    }

    /// Describes the file system object at `sourcePath` without following a symlink
    /// (`lstat(2)`), so a link in a context is packed as a link, as `docker build` does.
    public init(path: String, sourcePath: String) throws(Archive.Error) {
        var info = stat()
        guard lstat(sourcePath, &info) == 0 else {
            throw .sourceUnreadable(path: sourcePath, operation: "stat", errno: errno)
        }
        let mode = UInt32(info.st_mode) & 0o7777
        switch UInt32(info.st_mode) & UInt32(S_IFMT) {
        case UInt32(S_IFREG):
            self.init(path: path, kind: .file, mode: mode, size: Int64(info.st_size), sourcePath: sourcePath)
        case UInt32(S_IFDIR):
            self.init(path: path, kind: .directory, mode: mode)
        case UInt32(S_IFLNK):
            self.init(path: path, kind: .symlink, mode: mode, linkTarget: try Self.readLink(sourcePath, size: info.st_size))
        default:
            throw .unsupportedFileType(path: sourcePath)
        }
    }

    private static func readLink(_ path: String, size: off_t) throws(Archive.Error) -> String {
        // st_size of a link is its target's length; PATH_MAX covers file systems that report 0.
        let capacity = max(Int(size), Int(PATH_MAX)) + 1
        var buffer = [CChar](repeating: 0, count: capacity)
        let count = readlink(path, &buffer, capacity)
        guard count >= 0 else { throw .sourceUnreadable(path: path, operation: "read link", errno: errno) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Why this entry cannot be written, or nil when it can.
    var problem: String? {
        if path.isEmpty || path.hasPrefix("/") {
            return "path must be relative and non-empty"
        }
        if path.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) {
            return "path must not contain empty, \".\" or \"..\" components"
        }
        if mode & ~0o7777 != 0 {
            return "mode \(String(mode, radix: 8)) has bits outside 0o7777; the type comes from kind"
        }
        switch kind {
        case .file:
            if let contents {
                if Int64(contents.count) != size { return "size \(size) differs from contents (\(contents.count) bytes)" }
                if sourcePath != nil { return "has both contents and sourcePath" }
            } else if sourcePath == nil {
                return "a file needs sourcePath or contents"
            }
            if size < 0 { return "negative size" }
        case .directory:
            if size != 0 || sourcePath != nil || contents != nil || linkTarget != nil { return "a directory has no content" }
        case .symlink:
            if linkTarget?.isEmpty ?? true { return "a symlink needs a linkTarget" }
            if size != 0 || sourcePath != nil || contents != nil { return "a symlink has no content" }
        }
        return nil
    }
}
