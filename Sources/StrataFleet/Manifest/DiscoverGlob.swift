import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Regular files under `directory` that match a `/`-separated glob: `*`, `?` and `[…]` within
/// one path segment (fnmatch(3)), `**` for any number of folders. Sorted, absolute.
func globFiles(_ pattern: String, in directory: String) -> [String] {
    let segments = pattern.split(separator: "/").map(String.init).filter { $0 != "." }
    var results: Set<String> = []
    globWalk(segments[...], directory: directory, into: &results)
    return results.sorted()
}

private func globWalk(_ segments: ArraySlice<String>, directory: String, into results: inout Set<String>) {
    guard let segment = segments.first else { return }
    let rest = segments.dropFirst()
    if segment == "**" {
        globWalk(rest, directory: directory, into: &results)
        for entry in listDirectory(directory) where entry.isDirectory {
            globWalk(segments, directory: directory + "/" + entry.name, into: &results)
        }
        return
    }
    let hasMagic = segment.contains { "*?[".contains($0) }
    let candidates = hasMagic ? listDirectory(directory).filter { fnmatch(segment, $0.name, FNM_PERIOD) == 0 }
                              : [DirectoryEntry(name: segment, isDirectory: isDirectory(directory + "/" + segment))]
    for entry in candidates {
        let path = directory + "/" + entry.name
        if rest.isEmpty {
            var info = stat()
            if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { results.insert(path) }
        } else if entry.isDirectory {
            globWalk(rest, directory: path, into: &results)
        }
    }
}

struct DirectoryEntry {
    var name: String
    var isDirectory: Bool
}

/// Entries of a folder, `.` and `..` left out; an unreadable folder has none. Symlinked folders
/// count as folders (a fleet may link a shared service folder in).
func listDirectory(_ path: String) -> [DirectoryEntry] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var entries: [DirectoryEntry] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
        }
        if name == "." || name == ".." { continue }
        let type = entry.pointee.d_type
        let directory = type == DT_DIR || ((type == DT_LNK || type == DT_UNKNOWN) && isDirectory(path + "/" + name))
        entries.append(DirectoryEntry(name: name, isDirectory: directory))
    }
    return entries
}

func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}
