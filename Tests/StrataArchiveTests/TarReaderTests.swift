import Foundation
import Testing
@testable import StrataArchive

@Suite struct TarReaderTests {
    static func kind(of entry: TarEntry) -> TarReader.Entry.Kind {
        switch entry.kind { case .file: .file; case .directory: .directory; case .symlink: .symlink }
    }

    /// Writes `entries` to a file and returns its path (inside `directory`).
    static func archiveFile(_ entries: [TarEntry], in directory: TemporaryDirectory) throws -> String {
        let path = directory.url.appendingPathComponent("archive.tar").path
        try Data(pack(entries)).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsBackWhatWeWrote() throws {
        let tree = try TarWriterTests.sampleTree()
        let entries = try tree.entries()
        let reader = try TarReader(source: .closure(InteropTests.feeding(pack(entries), piece: 1000)))
        for expected in entries {
            let entry = try #require(try reader.next())
            #expect(entry.path == expected.path + (expected.kind == .directory ? "/" : ""))
            #expect(entry.kind == Self.kind(of: expected))
            #expect(entry.mode == expected.mode)
            #expect(entry.size == expected.size)
            #expect(entry.linkTarget == expected.linkTarget)
        }
        #expect(try reader.next() == nil)
    }

    @Test func readsNamedEntryWhole() throws {
        let directory = try TemporaryDirectory()
        let manifest = Array(#"[{"Config":"abc.json","Layers":["abc/layer.tar"]}]"#.utf8)
        let path = try Self.archiveFile(
            [.directory("abc"), .file("abc/layer.tar", contents: Array(repeating: 1, count: 5000)), .file("manifest.json", contents: manifest)],
            in: directory)
        #expect(try TarReader.contents(of: "manifest.json", in: .path(path)) == manifest)
        #expect(try TarReader.contents(of: "./manifest.json", in: .path(path)) == manifest)
        let missing = #expect(throws: Archive.Error.self) { try TarReader.contents(of: "index.json", in: .path(path)) }
        #expect(missing?.description == "archive has no entry named index.json")
        let large = #expect(throws: Archive.Error.self) { try TarReader.contents(of: "abc/layer.tar", in: .path(path), limit: 100) }
        #expect(large?.description.contains("abc/layer.tar is 5000 bytes") == true)
    }

    @Test func streamsLargeEntryInChunks() throws {
        let tree = try TemporaryDirectory()
        let source = tree.url.appendingPathComponent("layer.bin").path
        let bytes = (0..<(3 * Archive.chunkSize + 123)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let path = try Self.archiveFile([TarEntry(path: "layer.tar", sourcePath: source)], in: tree)
        let reader = try TarReader(path: path)
        _ = try #require(try reader.next())
        var sizes: [Int] = []
        var read: [UInt8] = []
        try reader.readData { chunk in
            sizes.append(chunk.count)
            read.append(contentsOf: chunk)
        }
        #expect(read == bytes)
        #expect(sizes.allSatisfy { $0 <= Archive.chunkSize } && sizes.count >= 4)
    }

    @Test func readsGzipCompressedTar() throws {
        let tar = try pack([.file("etc/hostname", contents: Array("strata\n".utf8))])
        let reader = try TarReader(source: .closure(InteropTests.feeding(GzipTests.compress(tar))))
        #expect(try reader.next()?.path == "etc/hostname")
        #expect(try reader.readAll() == Array("strata\n".utf8))
    }

    @Test func readingDataNeedsAnEntry() throws {
        let reader = try TarReader(source: .closure(InteropTests.feeding(pack([]))))
        #expect(throws: Archive.Error.self) { try reader.readAll() }
        #expect(try reader.next() == nil)
    }

    @Test func missingArchiveIsNamed() throws {
        let error = #expect(throws: Archive.Error.self) { _ = try TarReader(path: "/nonexistent/save.tar") }
        #expect(error?.description.contains("/nonexistent/save.tar") == true)
    }

    @Test func garbageIsRefused() throws {
        // libarchive reads ahead to detect the format, so the open itself may fail.
        #expect(throws: Archive.Error.self) {
            _ = try TarReader(source: .closure(InteropTests.feeding(Array(repeating: 0x41, count: 2048)))).next()
        }
    }
}
