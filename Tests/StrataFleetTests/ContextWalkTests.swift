#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import StrataFleet

/// A fresh directory under the system temp directory, removed when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/strata-test-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure("mkdtemp failed: errno \(errno)")
        }
        path = String(cString: created)
    }

    deinit {
        _ = system("rm -rf '\(path)'")
    }

    /// Writes `contents` at `relative`, creating parent directories.
    func write(_ relative: String, _ contents: String) throws {
        try makeDirectory(String(relative.split(separator: "/").dropLast().joined(separator: "/")))
        let descriptor = open(path + "/" + relative, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw Failure("open \(relative): errno \(errno)") }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw Failure("write \(relative): errno \(errno)")
        }
    }

    func makeDirectory(_ relative: String) throws {
        var current = path
        for part in relative.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw Failure("mkdir \(current): errno \(errno)") }
        }
    }

    func symlink(_ relative: String, to target: String) throws {
        guard Glibc.symlink(target, path + "/" + relative) == 0 else { throw Failure("symlink \(relative): errno \(errno)") }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Test func walkListsEverythingSortedWithStatData() throws {
    let root = try TemporaryDirectory()
    try root.write("b.txt", "bee")
    try root.write("a/z.txt", "zed")
    try root.write("a-b", "")
    try root.symlink("link", to: "a/z.txt")
    try root.symlink("dangling", to: "/nonexistent/target")

    let files = try walkContext(directory: root.path, ignore: nil)
    #expect(files.map(\.path) == ["a", "a-b", "a/z.txt", "b.txt", "dangling", "link"])
    let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0) })
    let bee = try #require(byPath["b.txt"])
    #expect(bee.kind == .file)
    #expect(bee.size == 3)
    #expect(bee.mode & 0o777 == 0o644)
    #expect(bee.inode != 0)
    #expect(bee.mtime > 1_600_000_000 * 1_000_000_000)
    #expect(byPath["a"]?.kind == .directory)
    // Symlinks are listed, never followed.
    #expect(byPath["link"]?.kind == .symlink)
    #expect(byPath["link"]?.linkTarget == "a/z.txt")
    #expect(byPath["dangling"]?.linkTarget == "/nonexistent/target")
}

@Test func walkSkipsExcludedPathsAndDirectories() throws {
    let root = try TemporaryDirectory()
    try root.write("app.swift", "")
    try root.write("debug.log", "")
    try root.write("node_modules/pkg/index.js", "")
    try root.write("src/main.swift", "")
    let ignore = try DockerIgnore(contents: "node_modules\n*.log\n", file: ".dockerignore")
    let files = try walkContext(directory: root.path, ignore: ignore)
    #expect(files.map(\.path) == ["app.swift", "src", "src/main.swift"])
}

@Test func walkDescendsIntoExcludedDirectoriesForExceptions() throws {
    let root = try TemporaryDirectory()
    try root.write("docs/keep.md", "")
    try root.write("docs/drop.md", "")
    try root.write("docs/deep/keep.md", "")
    try root.write("vendor/a.txt", "")
    try root.write("top.md", "")
    let ignore = try DockerIgnore(contents: "*\n!**/keep.md\n", file: ".dockerignore")
    let files = try walkContext(directory: root.path, ignore: ignore)
    // The excluded parents of a re-included file are listed, as BuildKit creates them.
    #expect(files.map(\.path) == ["docs", "docs/deep", "docs/deep/keep.md", "docs/keep.md"])
    for file in files {
        #expect(ignore.isExcluded(file.path) == (file.kind == .directory))
    }
}

@Test func walkAgreesWithIsExcludedForEveryPath() throws {
    let root = try TemporaryDirectory()
    for path in ["a/b/c.txt", "a/b/d.log", "a/e.txt", "f/g/h.txt", "f/i.log", "j.txt"] {
        try root.write(path, "")
    }
    let ignore = try DockerIgnore(contents: "a\n!a/b\na/b/*.log\nf/**/*.txt\n", file: ".dockerignore")
    let kept = try walkContext(directory: root.path, ignore: ignore).filter { $0.kind == .file }.map(\.path)
    let all = try walkContext(directory: root.path, ignore: nil).filter { $0.kind == .file }.map(\.path)
    #expect(kept == all.filter { !ignore.isExcluded($0) })
    #expect(kept == ["a/b/c.txt", "f/i.log", "j.txt"])
}

@Test func walkOfMissingDirectoryThrowsWithPath() {
    #expect(throws: ContextWalkError.cannotOpenDirectory(path: "/nonexistent/ctx", errno: ENOENT)) {
        try walkContext(directory: "/nonexistent/ctx", ignore: nil)
    }
}

/// `firstChangedFile`: what was listed is still what is on disk, by stat data alone.
@Suite struct ChangedFileTests {
    @Test func aWriteARenameOrARemovalIsSeenADirectoryChangeIsNot() throws {
        let tree = try TempTree(["a.txt": "a\n", "sub/b.txt": "b\n"])
        let listed = try walkContext(directory: tree.root, ignore: nil)
        #expect(firstChangedFile(listed, root: tree.root) == nil)

        // A new file in a folder changes the folder, not what was listed.
        try tree.write(["sub/editor.swp": "x"])
        #expect(firstChangedFile(listed, root: tree.root) == nil)

        // Same size, same mtime put back: the ctime still moved.
        let path = tree.root + "/a.txt"
        let mtime = try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        try Data("A\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.modificationDate: mtime], ofItemAtPath: path)
        #expect(firstChangedFile(listed, root: tree.root)?.path == "a.txt")

        let fresh = try walkContext(directory: tree.root, ignore: nil)
        try FileManager.default.removeItem(atPath: tree.root + "/sub/b.txt")
        #expect(firstChangedFile(fresh, root: tree.root)?.path == "sub/b.txt")
    }
}
