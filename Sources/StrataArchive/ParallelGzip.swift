import CArchive
import Dispatch
import Foundation

/// Compresses one stream to gzip on every core, deterministically.
///
/// The input is cut into blocks of `blockSize` bytes; each block becomes a gzip member of
/// its own (`GzipWriter`, so the same fixed header and level), compressed on Dispatch's
/// pool while the caller produces the next blocks, and the members are written to the sink
/// in order. A gzip file may hold several members, read back as one stream (RFC 1952 §2.2;
/// gzip, Go's compress/gzip — docker and containerd — and libarchive all do). The bytes
/// depend on the input, the level and the block size only, never on the number of cores or
/// on timing, so a layer compressed on two machines still has one digest. Independent
/// members cost a little ratio: each block starts with an empty dictionary (a few hundred
/// bytes per MiB on text). A block that does not compress is stored rather than deflated
/// (`isIncompressible`).
///
/// Not `Sendable`: one thread writes; the workers only see their own block.
public final class ParallelGzipWriter {
    /// The input bytes of one member.
    public static let defaultBlockSize = 1 << 20

    private let sink: (UnsafeRawBufferPointer) throws -> Void
    private let level: Int
    private let blockSize: Int
    private let maxInFlight: Int
    private var block: [UInt8] = []
    private var inFlight: [Member] = []

    /// Uncompressed bytes written so far.
    public private(set) var bytesIn: Int64 = 0

    /// A member being compressed; `output` is set before `done` is signalled.
    private final class Member: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var output: Result<[UInt8], Archive.Error> = .success([])
    }

    /// Opens a stream passing compressed bytes to `sink`, in order, at zlib `level` 1…9.
    /// At most `2 × cores` blocks are held at once (input and output), so memory stays
    /// bounded.
    public init(level: Int = 6, blockSize: Int = ParallelGzipWriter.defaultBlockSize,
                cores: Int = ProcessInfo.processInfo.activeProcessorCount,
                sink: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.sink = sink
        self.level = level
        self.blockSize = blockSize
        maxInFlight = max(2, 2 * cores)
        block.reserveCapacity(blockSize)
    }

    deinit {
        // Let running workers end before their members go away.
        for member in inFlight { member.done.wait() }
    }

    /// Compresses `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Archive.Error) {
        var offset = 0
        while offset < bytes.count {
            let count = min(blockSize - block.count, bytes.count - offset)
            block.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            offset += count
            if block.count == blockSize { try submit() }
        }
        bytesIn += Int64(bytes.count)
    }

    /// Compresses the rest and writes every member. Call once, at the end. An empty
    /// stream is one empty member, as `GzipWriter` writes it.
    public func finish() throws(Archive.Error) {
        if !block.isEmpty || bytesIn == 0 { try submit() }
        while !inFlight.isEmpty { try writeOldest() }
    }

    private func submit() throws(Archive.Error) {
        if inFlight.count >= maxInFlight { try writeOldest() }
        let member = Member()
        let input = block
        let level = level
        DispatchQueue.global().async {
            member.output = Result { () throws(Archive.Error) -> [UInt8] in try Self.compress(input, level: level) }
            member.done.signal()
        }
        inFlight.append(member)
        block.removeAll(keepingCapacity: true)
    }

    private func writeOldest() throws(Archive.Error) {
        let member = inFlight.removeFirst()
        member.done.wait()
        let output = try member.output.get()
        do {
            try output.withUnsafeBytes { try sink($0) }
        } catch {
            throw .libarchive(operation: "write compressed stream", path: nil, code: ARCHIVE_FATAL,
                              message: "the destination refused the bytes", cause: error)
        }
    }

    /// One complete gzip member of `input`; stored (level 0) when `isIncompressible`.
    static func compress(_ input: [UInt8], level: Int) throws(Archive.Error) -> [UInt8] {
        try deflate(input, level: try isIncompressible(input) ? 0 : level)
    }

    /// Whether a block is not worth deflating: four 16 KiB samples spread over it shrink by
    /// less than 3 % at level 1. Such blocks (archives, model weights, media: data that is
    /// compressed already) are stored, since level 6 would spend most of a push's time on
    /// them to save nothing. The answer depends on the block's bytes only.
    static func isIncompressible(_ input: [UInt8]) throws(Archive.Error) -> Bool {
        let sample = 16 << 10, samples = 4
        guard input.count >= sample * samples else { return false }
        var probe: [UInt8] = []
        probe.reserveCapacity(sample * samples)
        for index in 0..<samples {
            let start = index * (input.count / samples)
            probe.append(contentsOf: input[start..<(start + sample)])
        }
        // The gzip header and trailer are 18 bytes.
        return Double(try deflate(probe, level: 1).count - 18) > 0.97 * Double(probe.count)
    }

    private static func deflate(_ input: [UInt8], level: Int) throws(Archive.Error) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(level == 0 ? input.count + input.count / 8192 + 64 : input.count / 2 + 256)
        let gzip = try GzipWriter(sink: .closure { output.append(contentsOf: $0) }, level: level)
        try input.withUnsafeBytes { bytes in Result { () throws(Archive.Error) in try gzip.write(bytes) } }.get()
        try gzip.finish()
        return output
    }
}

@available(*, unavailable)
extension ParallelGzipWriter: Sendable {}
