import Foundation
import Testing
@testable import StrataArchive

@Suite struct GzipTests {
    static func compress(_ bytes: [UInt8], level: Int = 6) throws -> [UInt8] {
        var output: [UInt8] = []
        let writer = try GzipWriter(sink: .closure { output.append(contentsOf: $0) }, level: level)
        try bytes.withUnsafeBytes { buffer in Result { () throws(Archive.Error) in try writer.write(buffer) } }.get()
        try writer.finish()
        return output
    }

    static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        let reader = try GzipReader(source: .closure(InteropTests.feeding(bytes)))
        var output: [UInt8] = []
        while let chunk = try reader.nextChunk() { output.append(contentsOf: chunk) }
        return output
    }

    @Test(arguments: [0, 1, 10_000, 3 << 20])
    func roundTrips(size: Int) throws {
        let input = (0..<size).map { UInt8(truncatingIfNeeded: ($0 * 7) ^ ($0 >> 9)) }
        #expect(try Self.decompress(Self.compress(input)) == input)
    }

    @Test func headerIsFixed() throws {
        let output = try Self.compress(Array("same".utf8))
        // ID1 ID2 CM=deflate FLG=0 (no name, no comment) MTIME=0 (RFC 1952, 2.3).
        #expect(Array(output.prefix(8)) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0])
        #expect(output[9] == 3, "OS byte: Unix")
        #expect(try Self.compress(Array("same".utf8)) == output)
    }

    @Test func fileIsCompressedInOnePassWithObserver() throws {
        let tree = try TemporaryDirectory()
        let text = String(repeating: "layer line\n", count: 200_000)
        let path = try tree.file("layer.tar", text)
        var compressed: [UInt8] = []
        var observed = 0
        let writer = try GzipWriter(sink: .closure { compressed.append(contentsOf: $0) })
        try writer.write(contentsOfFile: path) { observed += $0.count }
        try writer.finish()
        #expect(observed == text.utf8.count && writer.bytesIn == Int64(observed))
        #expect(try Self.decompress(compressed) == Array(text.utf8))
        #expect(compressed == (try Self.compress(Array(text.utf8))), "chunking does not change the bytes")
    }

    @Test func abandonedStreamIsNotCompleted() throws {
        var output: [UInt8] = []
        do {
            let writer = try GzipWriter(sink: .closure { output.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) })
            try Array(repeating: UInt8(9), count: 100_000).withUnsafeBytes { bytes in
                Result { () throws(Archive.Error) in try writer.write(bytes) }
            }.get()
        }
        #expect(throws: ToolFailure.self) { try run("/usr/bin/gzip", ["-t"], input: output) }
    }

    @Test func levelIsHonoured() throws {
        let input = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 97) }
        #expect(try Self.compress(input, level: 1) != Self.compress(input, level: 9))
    }

    @Test func nonGzipInputIsRefused() throws {
        let error = #expect(throws: Archive.Error.self) { _ = try GzipReader(source: .closure(InteropTests.feeding(Array("plain".utf8)))) }
        #expect(error?.description.contains("not gzip") == true)
    }

    @Test func missingFileIsNamed() throws {
        let writer = try GzipWriter(sink: .closure { _ in })
        let error = #expect(throws: Archive.Error.self) { try writer.write(contentsOfFile: "/nonexistent/layer.tar") }
        #expect(error?.description == "cannot open /nonexistent/layer.tar: No such file or directory")
    }
}

