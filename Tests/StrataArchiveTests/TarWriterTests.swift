import Foundation
import Testing
@testable import StrataArchive

@Suite struct TarWriterTests {
    static let epoch: Int64 = 1_700_000_000

    /// A context with a bit of everything the writer must handle.
    static func sampleTree() throws -> TemporaryDirectory {
        let tree = try TemporaryDirectory()
        try tree.file("Dockerfile", "FROM scratch\nCOPY . /\n")
        try tree.file("bin/run.sh", "#!/bin/sh\necho hi\n", mode: 0o755)
        try tree.file("src/main.py", "print('hi')\n")
        try tree.directory("empty")
        try tree.symlink("current", to: "src")
        try tree.symlink("passwd", to: "/etc/passwd")
        // Over ustar's 155+100 split, and a final component over its 100-byte name field.
        try tree.file(String(repeating: "a-rather-long-folder-name/", count: 11) + String(repeating: "n", count: 120) + ".txt", "deep\n")
        try tree.file("données/café ☕.txt", "crème\n")
        return tree
    }

    @Test func sameEntriesGiveSameBytes() throws {
        let tree = try Self.sampleTree()
        let first = try pack(tree.entries(), mtime: Self.epoch)
        let second = try pack(tree.entries(), mtime: Self.epoch)
        #expect(first == second)
        #expect(first.count % 512 == 0 && first.suffix(1024).allSatisfy { $0 == 0 }, "whole blocks, ending with two zero blocks")
    }

    @Test func mtimeOnDiskDoesNotMatter() throws {
        let tree = try Self.sampleTree()
        let before = try pack(tree.entries(), mtime: Self.epoch)
        let files = try FileManager.default.subpathsOfDirectory(atPath: tree.path)
        for file in files where !file.hasSuffix("passwd") && file != "current" {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 42)], ofItemAtPath: tree.url.appendingPathComponent(file).path)
        }
        #expect(try pack(tree.entries(), mtime: Self.epoch) == before)
        #expect(try pack(tree.entries(), mtime: Self.epoch + 1) != before, "the given mtime is what is stored")
    }

    @Test func extendedHeadersCarryNoProcessId() throws {
        let tree = try Self.sampleTree()
        let bytes = try pack(tree.entries())
        let text = String(decoding: bytes, as: UTF8.self)
        // POSIX suggests "%d/PaxHeaders.%p/%f" with the pid, which would differ per run.
        #expect(!text.contains("\(getpid())"))
        #expect(text.contains("PaxHeader"), "long and non-ASCII paths need extended headers")
    }

    /// FNV-1a, 64 bits: enough to pin bytes without depending on another module.
    static func fingerprint(_ bytes: [UInt8]) -> String {
        let hash = bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    /// Pins the exact bytes for entries that need no disk. If this fails after a
    /// libarchive upgrade, every context digest and COPY layer changes with it: say so
    /// in the release notes before updating the value.
    @Test func bytesArePinned() throws {
        let bytes = try pack([
            .directory("app"),
            .file("app/Dockerfile", contents: Array("FROM base\n".utf8)),
            .file("app/" + String(repeating: "long-name-", count: 12) + "é.sh", contents: Array("#!/bin/sh\n".utf8), mode: 0o755),
            .symlink("app/link", target: "Dockerfile"),
        ], mtime: Self.epoch)
        #expect(bytes.count == 5120)
        #expect(Self.fingerprint(bytes) == "ce2eda71ac04107")
    }

    @Test func fileThatBecameSymlinkIsNotFollowed() throws {
        let tree = try TemporaryDirectory()
        let path = try tree.file("config", "secret")
        let entry = try TarEntry(path: "config", sourcePath: path)
        try FileManager.default.removeItem(atPath: path)
        try tree.symlink("config", to: "/etc/passwd")
        let error = #expect(throws: Archive.Error.self) { try pack([entry]) }
        #expect(error?.description.hasPrefix("cannot open \(path):") == true)
    }

    @Test func abandonedArchiveIsNotCompleted() throws {
        var output: [UInt8] = []
        do {
            let writer = try TarWriter(sink: .closure { output.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) })
            try writer.append(.file("whole", contents: Array(repeating: 1, count: 20_000)))
        }
        // Dropped without finish(): no end-of-archive blocks may follow.
        #expect(throws: ToolFailure.self) { try run("/usr/bin/tar", ["-tf", "-"], input: output) }
    }

    @Test func fileDescriptorSinkGetsSameBytes() throws {
        let tree = try Self.sampleTree()
        let expected = try pack(tree.entries(), mtime: Self.epoch)
        let entries = try tree.entries()
        let output = try TemporaryDirectory()
        let path = output.url.appendingPathComponent("out.tar").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        let writer = try TarWriter(sink: .fileDescriptor(fd), mtime: Self.epoch)
        for entry in entries { try writer.append(entry) }
        try writer.finish()
        close(fd)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == expected)
    }

    @Test func streamGivesSameBytesAsWriter() throws {
        let tree = try Self.sampleTree()
        let expected = try pack(tree.entries(), mtime: Self.epoch)
        let stream = try TarStream(entries: tree.entries(), mtime: Self.epoch)
        var streamed: [UInt8] = []
        // An odd buffer size, so reads straddle headers and chunks.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 777, alignment: 1)
        defer { buffer.deallocate() }
        while case let count = try stream.read(into: buffer), count > 0 {
            streamed.append(contentsOf: buffer[..<count])
        }
        #expect(streamed == expected)
        #expect(try stream.read(into: buffer) == 0, "the end is sticky")
    }

    @Test func symlinksAreStoredNotFollowed() throws {
        let tree = try Self.sampleTree()
        let entries = try tree.entries()
        let passwd = try #require(entries.first { $0.path == "passwd" })
        #expect(passwd.kind == .symlink)
        #expect(passwd.linkTarget == "/etc/passwd")
        #expect(passwd.size == 0)
        let current = try #require(entries.first { $0.path == "current" })
        #expect(current.kind == .symlink && current.linkTarget == "src")
    }

    @Test func synthesizedContentIsWritten() throws {
        let dockerfile = Array("FROM localhost:5000/base@sha256:abc\n".utf8)
        let bytes = try pack([.directory("app"), .file("app/Dockerfile", contents: dockerfile, mode: 0o600)])
        let listing = normalizedLines(try run("/usr/bin/tar", ["-xOf", "-", "app/Dockerfile"], input: bytes))
        #expect(listing == ["FROM localhost:5000/base@sha256:abc"])
    }

    @Test func missingSourceFileIsNamed() throws {
        let entry = TarEntry(path: "gone.txt", kind: .file, mode: 0o644, size: 3, sourcePath: "/nonexistent/gone.txt")
        let error = #expect(throws: Archive.Error.self) { try pack([entry]) }
        #expect(error?.description.contains("/nonexistent/gone.txt") == true)
        #expect(error?.description.contains("No such file") == true)
    }

    @Test func fileThatChangedSizeIsRefused() throws {
        let tree = try TemporaryDirectory()
        let path = try tree.file("grows.txt", "12345")
        for size: Int64 in [3, 9] {
            let entry = TarEntry(path: "grows.txt", kind: .file, mode: 0o644, size: size, sourcePath: path)
            let error = #expect(throws: Archive.Error.self) { try pack([entry]) }
            #expect(error?.description.contains("grows.txt changed while it was packed") == true)
        }
    }

    @Test(arguments: [
        TarEntry(path: "/etc/passwd", kind: .directory, mode: 0o755),
        TarEntry(path: "a/../b", kind: .directory, mode: 0o755),
        TarEntry(path: "a//b", kind: .directory, mode: 0o755),
        TarEntry(path: "", kind: .directory, mode: 0o755),
        TarEntry(path: "dir", kind: .directory, mode: 0o040755),
        TarEntry(path: "f", kind: .file, mode: 0o644, size: 1),
        TarEntry(path: "f", kind: .file, mode: 0o644, size: 2, contents: [1]),
        TarEntry(path: "l", kind: .symlink, mode: 0o777),
    ])
    func invalidEntriesAreRefused(entry: TarEntry) throws {
        let error = #expect(throws: Archive.Error.self) { try pack([entry]) }
        #expect(error?.description.hasPrefix("invalid tar entry \(entry.path):") == true)
    }

    struct SinkFailure: Error {}

    @Test func sinkErrorIsKeptAsCause() throws {
        let writer = try TarWriter(sink: .closure { _ in throw SinkFailure() })
        // The client buffers 10240-byte blocks, so the sink is first called on a large write.
        let error = #expect(throws: Archive.Error.self) {
            try writer.append(.file("big", contents: Array(repeating: 7, count: 100_000)))
            try writer.finish()
        }
        guard case let .libarchive(_, _, _, _, cause)? = error else {
            Issue.record("expected a libarchive error, got \(String(describing: error))")
            return
        }
        #expect(cause is SinkFailure)
    }

    @Test func largeFileIsStreamedInChunks() throws {
        let tree = try TemporaryDirectory()
        let path = tree.url.appendingPathComponent("big.bin").path
        let size: Int64 = 64 << 20
        // A sparse file: 64 MiB on the tar side, next to nothing on disk.
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        try #require(fd >= 0)
        try #require(ftruncate(fd, off_t(size)) == 0)
        close(fd)
        var total = 0
        var largest = 0
        var calls = 0
        let writer = try TarWriter(sink: .closure { chunk in
            total += chunk.count
            largest = max(largest, chunk.count)
            calls += 1
        })
        try writer.append(TarEntry(path: "big.bin", sourcePath: path))
        try writer.finish()
        #expect(total == Int(size) + 512 + 1024, "one header, the data, the end-of-archive blocks")
        #expect(largest <= Archive.chunkSize + 10240, "no write larger than one chunk plus a record")
        #expect(calls >= Int(size) / (Archive.chunkSize + 10240))
    }
}
