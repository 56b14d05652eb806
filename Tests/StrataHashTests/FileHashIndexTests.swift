#if canImport(Glibc)
import Glibc
#endif
import StrataFleet
import Synchronization
import Testing
@testable import StrataHash

/// A fresh temporary directory, removed when released.
final class HashTestDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/strata-hash-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp: errno \(errno)")
        }
        path = String(cString: created)
    }

    deinit { _ = system("rm -rf '\(path)'") }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        let descriptor = open(path + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw TestFailure("open \(name): errno \(errno)") }
        defer { close(descriptor) }
        guard bytes.withUnsafeBytes({ Glibc.write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw TestFailure("write \(name): errno \(errno)")
        }
    }

    /// Sets the mtime to a fixed moment in 2020, well before any index write
    /// (so the entry is not racily clean).
    func setOldMtime(_ name: String, nanoseconds: Int = 0) throws {
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: nanoseconds), timespec(tv_sec: 1_600_000_000, tv_nsec: nanoseconds)]
        guard utimensat(AT_FDCWD, path + "/" + name, &times, 0) == 0 else { throw TestFailure("utimensat: errno \(errno)") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Counts the files the index actually reads.
private final class ReadCounter: Sendable {
    let paths = Mutex<[String]>([])

    func makeIndex(directory: String, root: String) -> FileHashIndex {
        FileHashIndex(directory: directory, contextRoot: root) { path, hasher, buffer throws(SHA256.Error) in
            self.paths.withLock { $0.append(path) }
            return try hasher.hashFile(path: path, buffer: buffer)
        }
    }

    func take() -> [String] {
        paths.withLock { paths in
            let taken = paths
            paths = []
            return taken
        }
    }
}

@Test func unchangedStatIsNotReadAgainChangedStatIs() throws {
    let context = try HashTestDirectory()
    let cache = try HashTestDirectory()
    try context.write("a.txt", Array("alpha".utf8))
    try context.write("b.txt", Array("bravo".utf8))
    try context.setOldMtime("a.txt")
    try context.setOldMtime("b.txt")
    let counter = ReadCounter()

    let first = counter.makeIndex(directory: cache.path + "/files", root: context.path)
    let files = try walkContext(directory: context.path, ignore: nil)
    let digests = try first.digests(for: files, root: context.path)
    #expect(digests["a.txt"] == (try SHA256.hash(Array("alpha".utf8))))
    #expect(counter.take().count == 2)
    try first.save()

    // Nothing changed: nothing is read.
    let second = counter.makeIndex(directory: cache.path + "/files", root: context.path)
    let again = try second.digests(for: try walkContext(directory: context.path, ignore: nil), root: context.path)
    #expect(counter.take().isEmpty)
    #expect(again == digests)

    // Same size, same mtime, same inode, rewritten in place with the mtime set back (what
    // `tar -x` of a reproducible archive does): the ctime moved, so the file is read again.
    try context.write("a.txt", Array("ALPHA".utf8))
    try context.setOldMtime("a.txt")
    let third = counter.makeIndex(directory: cache.path + "/files", root: context.path)
    let changed = try third.digests(for: try walkContext(directory: context.path, ignore: nil), root: context.path)
    #expect(counter.take() == [context.path + "/a.txt"])
    #expect(changed["a.txt"] == (try SHA256.hash(Array("ALPHA".utf8))))
    #expect(changed["b.txt"] == digests["b.txt"])
    try third.save()

    // A different mtime alone means the file is read again too.
    try context.setOldMtime("b.txt", nanoseconds: 1)
    let fourth = counter.makeIndex(directory: cache.path + "/files", root: context.path)
    _ = try fourth.digests(for: try walkContext(directory: context.path, ignore: nil), root: context.path)
    #expect(counter.take() == [context.path + "/b.txt"])
}

@Test func racilyCleanEntriesAreReadAgain() throws {
    let context = try HashTestDirectory()
    let cache = try HashTestDirectory()
    try context.write("new.txt", Array("fresh".utf8))
    // An mtime not older than the index write: a same-tick change could hide behind it.
    var times = [timespec(tv_sec: Int(Int32.max), tv_nsec: 0), timespec(tv_sec: Int(Int32.max), tv_nsec: 0)]
    #expect(utimensat(AT_FDCWD, context.path + "/new.txt", &times, 0) == 0)
    let files = try walkContext(directory: context.path, ignore: nil)
    let counter = ReadCounter()
    let index = counter.makeIndex(directory: cache.path, root: context.path)
    _ = try index.digests(for: files, root: context.path)
    try index.save()
    #expect(counter.take().count == 1)

    let reopened = counter.makeIndex(directory: cache.path, root: context.path)
    _ = try reopened.digests(for: files, root: context.path)
    #expect(counter.take().count == 1) // same stat data, read again anyway
}

@Test(arguments: ["truncated", "garbage", "flipped", "empty"])
func corruptIndexIsRebuilt(_ damage: String) throws {
    let context = try HashTestDirectory()
    let cache = try HashTestDirectory()
    try context.write("a.txt", Array("alpha".utf8))
    try context.setOldMtime("a.txt")
    let files = try walkContext(directory: context.path, ignore: nil)
    let counter = ReadCounter()
    let index = counter.makeIndex(directory: cache.path, root: context.path)
    let expected = try index.digests(for: files, root: context.path)
    try index.save()
    _ = counter.take()

    var bytes = try #require(readAll(index.path))
    switch damage {
    case "truncated": bytes.removeLast(40)
    case "garbage": bytes = Array("not an index at all".utf8)
    case "flipped": bytes[20] ^= 0xFF
    default: bytes = []
    }
    try cache.write(String(index.path.split(separator: "/").last!), bytes)

    let reopened = counter.makeIndex(directory: cache.path, root: context.path)
    #expect(try reopened.digests(for: files, root: context.path) == expected)
    #expect(counter.take().count == 1)
    try reopened.save()
    #expect(IndexFile.decode(try #require(readAll(index.path))) != nil)
}

@Test func encodingRoundTripsAndIsDeterministic() throws {
    let digest = try SHA256.hash(Array("x".utf8))
    let file = IndexFile(writtenAt: 42, entries: [
        "b/ü.txt": .init(size: 1, mtime: -5, ctime: 3, inode: .max, mode: 0o100644, digest: digest),
        "a": .init(size: 0, mtime: 7, ctime: .max, inode: 9, mode: 0o100755, digest: digest),
    ])
    #expect(IndexFile.decode(file.encode()) == file)
    #expect(file.encode() == file.encode())
}

@Test func indexFileIsNamedAfterTheContextRoot() throws {
    let context = try HashTestDirectory()
    let index = FileHashIndex(directory: "/cache/files", contextRoot: context.path + "/")
    let same = FileHashIndex(directory: "/cache/files", contextRoot: context.path)
    #expect(index.path == same.path)
    #expect(index.path.hasPrefix("/cache/files/"))
    #expect(index.path.hasSuffix(".idx"))
}

private func readAll(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count == 0 { return bytes }
        bytes += chunk[0..<count]
    }
}
