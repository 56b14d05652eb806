import Foundation
import Testing
@testable import StrataArchive

/// Our archives checked by independent tools, and theirs read by us.
@Suite struct InteropTests {
    static let listingEnvironment = ["TZ": "UTC", "LC_ALL": "C.UTF-8"]

    /// What `ls -l` prints for the entry's type and permission bits.
    static func permissions(_ entry: TarEntry) -> String {
        let type = switch entry.kind { case .file: "-"; case .directory: "d"; case .symlink: "l" }
        let bits = (0..<9).map { bit in
            entry.mode & (0o400 >> UInt32(bit)) == 0 ? "-" : ["r", "w", "x"][bit % 3]
        }
        return type + bits.joined()
    }

    @Test func gnuTarListsOurArchiveExactly() throws {
        let tree = try TarWriterTests.sampleTree()
        let entries = try tree.entries()
        let output = try run(
            "/usr/bin/tar", ["--numeric-owner", "--full-time", "--quoting-style=literal", "-tvf", "-"],
            input: pack(entries, mtime: TarWriterTests.epoch), environment: Self.listingEnvironment)
        let expected = entries.map { entry in
            let name = entry.path + (entry.kind == .directory ? "/" : "") + (entry.linkTarget.map { " -> \($0)" } ?? "")
            return "\(Self.permissions(entry)) 0/0 \(entry.size) 2023-11-14 22:13:20 \(name)"
        }
        #expect(normalizedLines(output) == expected)
    }

    /// bsdtar escapes names in mtree output like vis(3): octal for anything not printable ASCII.
    static func mtreeEscaped(_ path: String) -> String {
        path.utf8.map { byte in
            byte <= 0x20 || byte >= 0x7f || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "#")
                ? "\\" + String(format: "%03o", byte) : String(UnicodeScalar(byte))
        }.joined()
    }

    @Test func bsdtarSeesExactMetadata() throws {
        let tree = try TarWriterTests.sampleTree()
        let entries = try tree.entries()
        let archive = tree.url.deletingLastPathComponent().appendingPathComponent("\(UUID().uuidString).tar").path
        defer { unlink(archive) }
        try Data(pack(entries, mtime: TarWriterTests.epoch)).write(to: URL(fileURLWithPath: archive))
        // Converting the archive to an mtree listing prints every field unabridged.
        let output = try run(
            "/usr/bin/bsdtar",
            ["-cf", "-", "--format", "mtree", "--options", "mtree:!all,type,mode,uid,gid,uname,gname,time,size,link", "@" + archive],
            environment: Self.listingEnvironment)
        let listed = Set(normalizedLines(output).filter { !$0.hasPrefix("#") })
        let expected = Set(entries.map { entry in
            var fields = ["./" + Self.mtreeEscaped(entry.path), "time=1700000000.0", "mode=\(String(entry.mode, radix: 8))", "gid=0", "uid=0"]
            switch entry.kind {
            case .file: fields += ["type=file", "size=\(entry.size)"]
            case .directory: fields += ["type=dir"]
            case .symlink: fields += ["type=link", "link=" + Self.mtreeEscaped(entry.linkTarget ?? "")]
            }
            return fields.joined(separator: " ")
        })
        #expect(listed == expected)
    }

    @Test func gnuTarExtractsTheSameTree() throws {
        let tree = try TarWriterTests.sampleTree()
        let target = try TemporaryDirectory()
        try run("/usr/bin/tar", ["-xf", "-", "-C", target.path], input: pack(tree.entries()))
        try run("/usr/bin/diff", ["-r", "--no-dereference", tree.path, target.path])
    }

    @Test func weReadWhatGnuTarWrote() throws {
        let tree = try TarWriterTests.sampleTree()
        let archive = try run(
            "/usr/bin/tar", ["--format=gnu", "--sort=name", "-cf", "-", "-C", tree.path, "."], environment: Self.listingEnvironment)
        let reader = try TarReader(source: .closure(Self.feeding(Array(archive))))
        var read: [String: (TarReader.Entry, [UInt8])] = [:]
        while let entry = try reader.next() {
            read[entry.path] = (entry, try reader.readAll())
        }
        for expected in try tree.entries() {
            let (entry, data) = try #require(read["./" + expected.path + (expected.kind == .directory ? "/" : "")], "\(expected.path)")
            #expect(entry.mode == expected.mode)
            #expect(entry.size == expected.size)
            #expect(entry.linkTarget == expected.linkTarget)
            #expect(entry.kind == TarReaderTests.kind(of: expected))
            if let source = expected.sourcePath {
                #expect(data == Array(try Data(contentsOf: URL(fileURLWithPath: source))))
            }
        }
    }

    @Test func weReadHardLinksFromGnuTar() throws {
        let tree = try TemporaryDirectory()
        try tree.file("blobs/one", "layer")
        try FileManager.default.linkItem(atPath: tree.url.appendingPathComponent("blobs/one").path,
                                         toPath: tree.url.appendingPathComponent("blobs/two").path)
        let archive = try run("/usr/bin/tar", ["--sort=name", "-cf", "-", "-C", tree.path, "blobs"])
        let reader = try TarReader(source: .closure(Self.feeding(Array(archive))))
        var entries: [TarReader.Entry] = []
        while let entry = try reader.next() { entries.append(entry) }
        #expect(entries.map(\.path) == ["blobs/", "blobs/one", "blobs/two"])
        #expect(entries[2].kind == .hardlink && entries[2].linkTarget == "blobs/one")
    }

    @Test func gzipDecompressesOurOutput() throws {
        let input = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
        let compressed = try GzipTests.compress(input)
        #expect(Array(try run("/usr/bin/gzip", ["-dc"], input: compressed)) == input)
    }

    @Test func weDecompressWhatGzipWrote() throws {
        let input = Array("layer bytes\n".utf8) + (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
        let compressed = try run("/usr/bin/gzip", ["-c", "-n"], input: input)
        #expect(try GzipTests.decompress(Array(compressed)) == input)
    }

    /// A source closure handing out `bytes` in small pieces, as a network body would.
    static func feeding(_ bytes: [UInt8], piece: Int = 4096) -> (UnsafeMutableRawBufferPointer) throws -> Int {
        var offset = 0
        return { buffer in
            let count = min(piece, buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
            offset += count
            return count
        }
    }
}
