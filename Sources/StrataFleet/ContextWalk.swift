#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One entry of a build context, as `lstat` saw it.
public struct ContextFile: Sendable, Hashable {
    /// What the entry is; symlinks are never followed.
    public enum Kind: Sendable, Hashable {
        case file
        case directory
        case symlink
        /// Sockets, FIFOs, devices: sent by BuildKit as entries, never read.
        case other
    }

    /// Path relative to the context root, "/"-separated, no leading "./".
    public var path: String
    public var kind: Kind
    /// `st_mode`, file type bits included.
    public var mode: UInt32
    /// Size in bytes (for a symlink, the length of its target).
    public var size: Int64
    /// Modification time in nanoseconds since the epoch.
    public var mtime: Int64
    /// Inode change time in nanoseconds since the epoch: moves whenever the file is written
    /// or its mtime is set back (what `tar -x` of a reproducible archive does), and no tool
    /// can set it.
    public var ctime: Int64
    public var inode: UInt64
    public var device: UInt64
    /// The target of a symlink, as stored in the link.
    public var linkTarget: String?

    public init(path: String, kind: Kind, mode: UInt32, size: Int64, mtime: Int64, ctime: Int64 = 0,
                inode: UInt64, device: UInt64, linkTarget: String? = nil) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.size = size
        self.mtime = mtime
        self.ctime = ctime
        self.inode = inode
        self.device = device
        self.linkTarget = linkTarget
    }
}

extension ContextFile {
    /// A symlink's target as a path relative to the context root, as BuildKit resolves links
    /// inside a context: an absolute target starts at the root and `..` never climbs above
    /// it; `.` is the root itself.
    public static func contextPath(ofLinkTarget target: String, from link: String) -> String {
        let directory = target.hasPrefix("/") ? [] : link.split(separator: "/").dropLast()
        var parts: [Substring] = []
        for part in directory + target.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}

/// Why a context directory could not be walked.
public enum ContextWalkError: Swift.Error, Equatable, CustomStringConvertible {
    case cannotOpenDirectory(path: String, errno: Int32)
    case cannotStat(path: String, errno: Int32)
    case cannotReadLink(path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .cannotOpenDirectory(path, code):
            return "cannot list context directory \(path): \(systemErrorMessage(code))"
        case let .cannotStat(path, code):
            return "cannot stat \(path) in the build context: \(systemErrorMessage(code))"
        case let .cannotReadLink(path, code):
            return "cannot read symlink \(path) in the build context: \(systemErrorMessage(code))"
        }
    }
}

/// Lists the files a build of `directory` can read, sorted by path (byte order).
///
/// Excluded paths are left out. An excluded directory is still walked when an
/// exception could re-include something below it, and is then listed when
/// something below it is (as BuildKit's fsutil walker creates the parents of every
/// file it sends). Uses `opendir`/`readdir`/`fstatat` directly: one `lstat`-like
/// call per entry and no Foundation objects, so 50,000 files take a few tens of ms.
///
/// `omitting` is a directory never part of any context, wherever it lies inside it:
/// strata's own cache (`cache: .` or the default `.strata-cache` next to a manifest at the
/// context's root would otherwise be sent, keyed, and change on every run). It is
/// recognised by device and inode, so any spelling of its path works.
public func walkContext(directory: String, ignore: DockerIgnore?, omitting: String? = nil) throws(ContextWalkError)
    -> [ContextFile]
{
    var walker = ContextWalker(ignore: ignore)
    var info = stat()
    if let omitting, stat(omitting, &info) == 0 {
        walker.omitted = (UInt64(info.st_dev), UInt64(info.st_ino))
    }
    try walker.walk(absolute: directory, relative: "", state: nil)
    walker.files.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    return walker.files
}

private struct ContextWalker {
    let ignore: DockerIgnore?
    /// Device and inode of the directory left out (`omitting`).
    var omitted: (device: UInt64, inode: UInt64)?
    var files: [ContextFile] = []
    /// Excluded directories being walked for exceptions, outermost first; each is
    /// listed (once) when an entry below it is kept.
    var pendingDirectories: [(file: ContextFile, listed: Bool)] = []

    init(ignore: DockerIgnore?) {
        self.ignore = ignore
    }

    mutating func walk(absolute: String, relative: String, state: DockerIgnore.MatchState?) throws(ContextWalkError) {
        guard let stream = opendir(absolute) else {
            throw .cannotOpenDirectory(path: absolute, errno: errno)
        }
        defer { closedir(stream) }
        let descriptor = dirfd(stream)
        var subdirectories: [(name: String, path: String, state: DockerIgnore.MatchState?, excluded: Bool, file: ContextFile)] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            if fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                // A file removed while we walk is simply not part of the context.
                if errno == ENOENT { continue }
                throw .cannotStat(path: absolute + "/" + name, errno: errno)
            }
            var file = ContextFile(path: path, kind: kind(of: info.st_mode), mode: UInt32(info.st_mode),
                                   size: Int64(info.st_size),
                                   mtime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                                   ctime: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
                                   inode: UInt64(info.st_ino), device: UInt64(info.st_dev))
            if file.kind == .symlink {
                file.linkTarget = try readLink(descriptor, name, size: Int(info.st_size), path: absolute + "/" + name)
            }
            if file.kind == .directory, let omitted, omitted == (file.device, file.inode) { continue }
            let entryState = ignore.map { $0.evaluate(path, parent: state) }
            let excluded = entryState?.isExcluded ?? false
            if file.kind == .directory {
                subdirectories.append((name, path, entryState, excluded, file))
            } else if !excluded {
                keep(file)
            }
        }
        for directory in subdirectories {
            if !directory.excluded {
                keep(directory.file)
            } else if !(ignore?.mayReinclude(below: directory.path) ?? false) {
                continue
            } else {
                pendingDirectories.append((directory.file, false))
            }
            try walk(absolute: absolute + "/" + directory.name, relative: directory.path, state: directory.state)
            if directory.excluded { pendingDirectories.removeLast() }
        }
    }

    /// Lists `file`, after any excluded ancestors not yet listed.
    private mutating func keep(_ file: ContextFile) {
        for index in pendingDirectories.indices where !pendingDirectories[index].listed {
            files.append(pendingDirectories[index].file)
            pendingDirectories[index].listed = true
        }
        files.append(file)
    }

    private func kind(of mode: mode_t) -> ContextFile.Kind {
        switch mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    private func readLink(_ descriptor: Int32, _ name: String, size: Int, path: String) throws(ContextWalkError) -> String {
        var buffer = [UInt8](repeating: 0, count: max(size, 255) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { readlinkat(descriptor, name, $0.baseAddress!, $0.count) }
        }
        if count < 0 { throw .cannotReadLink(path: path, errno: errno) }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

/// The first of `files` (as a walk of `root` listed them) whose file or symlink is no longer
/// what was listed: another size, mtime, ctime, inode or mode, or gone. Directories are
/// not compared (an editor's swap file changes a directory's times, not what is sent).
///
/// The ctime moves on every write and cannot be set back, so a file unchanged here was not
/// written between the walk (before it was hashed for the key) and this call (after the
/// build read it): what the build read is what the key says.
public func firstChangedFile(_ files: [ContextFile], root: String) -> ContextFile? {
    let prefix = root.hasSuffix("/") ? root : root + "/"
    for file in files where file.kind == .file || file.kind == .symlink {
        var info = stat()
        guard lstat(prefix + file.path, &info) == 0 else { return file }
        let ctime = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        if Int64(info.st_size) != file.size || mtime != file.mtime || ctime != file.ctime || UInt64(info.st_ino) != file.inode
            || UInt32(info.st_mode) != file.mode {
            return file
        }
    }
    return nil
}
