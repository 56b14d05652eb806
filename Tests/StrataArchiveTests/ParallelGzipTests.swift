import Foundation
import Testing
@testable import StrataArchive

@Suite struct ParallelGzipTests {
    static func compress(_ bytes: [UInt8], blockSize: Int, cores: Int, writes: Int = 7) throws -> [UInt8] {
        var output: [UInt8] = []
        let writer = ParallelGzipWriter(level: 6, blockSize: blockSize, cores: cores) { output.append(contentsOf: $0) }
        // In uneven pieces, so blocks are cut across writes.
        let piece = max(1, bytes.count / writes + 3)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            try bytes[offset..<end].withUnsafeBytes { buffer in Result { () throws(Archive.Error) in try writer.write(buffer) } }.get()
            offset = end
        }
        try writer.finish()
        #expect(writer.bytesIn == Int64(bytes.count))
        return output
    }

    static func sample(_ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: ($0 * 7) ^ ($0 >> 9)) }
    }

    @Test(arguments: [0, 1, 4095, 4096, 4097, 50_000])
    func roundTripsThroughOurReaderAndGzip(size: Int) throws {
        let input = Self.sample(size)
        let compressed = try Self.compress(input, blockSize: 4096, cores: 3)
        #expect(try GzipTests.decompress(compressed) == input)
        #expect(Array(try run("/usr/bin/gzip", ["-dc"], input: compressed)) == input)
        // One member per started block (an empty stream is one empty member).
        let members = max(1, (size + 4095) / 4096)
        #expect(Array(compressed.prefix(8)) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0])
        #expect(Self.memberCount(compressed) == members)
    }

    /// The digest of a layer must not depend on the machine: cores and write sizes change nothing.
    @Test func bytesDependOnTheInputAndBlockSizeOnly() throws {
        let input = Self.sample(300_000)
        let one = try Self.compress(input, blockSize: 65536, cores: 1, writes: 1)
        let many = try Self.compress(input, blockSize: 65536, cores: 8, writes: 23)
        #expect(one == many)
        // A single block is exactly what GzipWriter writes.
        #expect(try Self.compress(input, blockSize: 1 << 20, cores: 2) == GzipTests.compress(input))
    }

    /// Data that is compressed already is stored, and still reads back; text is deflated.
    @Test func incompressibleBlocksAreStored() throws {
        var random = SystemRandomNumberGenerator()
        let noise = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
        let stored = try Self.compress(noise, blockSize: 1 << 20, cores: 2)
        #expect(try ParallelGzipWriter.isIncompressible(Array(noise.prefix(1 << 20))))
        // Stored: the input plus 5 bytes per 64 KiB deflate block and 18 per member.
        #expect(stored.count > noise.count && stored.count < noise.count + 1024)
        #expect(try GzipTests.decompress(stored) == noise)
        #expect(Array(try run("/usr/bin/gzip", ["-dc"], input: stored)) == noise)

        let text = Array(String(repeating: "strata builds fleets of images; ", count: 100_000).utf8)
        #expect(try !ParallelGzipWriter.isIncompressible(Array(text.prefix(1 << 20))))
        #expect(try Self.compress(text, blockSize: 1 << 20, cores: 2).count < text.count / 20)
        // Half noise, half text: each block is judged on its own bytes.
        let mixed = Array(noise.prefix(1 << 20)) + Array(text.prefix(1 << 20))
        let compressed = try Self.compress(mixed, blockSize: 1 << 20, cores: 2)
        #expect(compressed.count < (1 << 20) + (1 << 16))
        #expect(try GzipTests.decompress(compressed) == mixed)
    }

    @Test func aSinkErrorIsTheCause() throws {
        struct Refused: Error {}
        let writer = ParallelGzipWriter(blockSize: 1024, cores: 2) { _ in throw Refused() }
        let input = Self.sample(10_000)
        let error = #expect(throws: Archive.Error.self) {
            try input.withUnsafeBytes { buffer in Result { () throws(Archive.Error) in try writer.write(buffer) } }.get()
            try writer.finish()
        }
        guard case let .libarchive(_, _, _, _, cause)? = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(cause is Refused)
    }

    /// Counts gzip members by their fixed headers at member boundaries (walking the
    /// stream with the reader would merge them).
    static func memberCount(_ bytes: [UInt8]) -> Int {
        let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]
        var count = 0
        var index = 0
        while index + header.count <= bytes.count {
            if Array(bytes[index..<(index + header.count)]) == header { count += 1 }
            index += 1
        }
        return count
    }
}
