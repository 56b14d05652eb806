/// A tar archive produced on demand: each `read(into:)` packs just enough of the
/// entries to fill the caller's buffer, like `read(2)` on a file that does not exist.
///
/// Why pull and not push or `AsyncSequence`: the consumer is an HTTP request body,
/// and libcurl asks for body bytes by calling `CURLOPT_READFUNCTION` synchronously on
/// its own thread with a buffer to fill. `read(into:)` is exactly that shape, so the
/// context goes from disk to socket with no temporary file, no second thread and no
/// queue between a producer and curl. An `AsyncSequence` would need bridging back to
/// that synchronous callback by blocking a thread on each element.
///
/// Memory stays bounded by one chunk: a step writes at most one header or one
/// `Archive.chunkSize` chunk of file data, and the stream takes no further step until
/// the caller has drained what that step produced.
///
/// Not `Sendable`, like the `TarWriter` it drives; a consumer on another thread (curl's)
/// must be the only one calling `read(into:)`.
public final class TarStream {
    /// Bytes packed but not yet read. A class, so the writer's sink closure can append
    /// to it without capturing the stream.
    private final class Pending {
        var bytes: [UInt8] = []
        var offset = 0
        var unread: Int { bytes.count - offset }
    }

    private let pending = Pending()
    private let writer: TarWriter
    private var entries: IndexingIterator<[TarEntry]>
    private var current: (source: SourceFile, path: String)?
    private var finished = false
    private var failure: Archive.Error?

    /// A stream that packs `entries`, in this order, with every mtime set to `mtime`.
    /// Nothing is read from disk until the first `read(into:)`.
    public init(entries: [TarEntry], mtime: Int64 = 0) throws(Archive.Error) {
        let pending = pending
        // Appending a typed buffer copies with memcpy; appending the raw buffer as a
        // sequence of bytes would go byte by byte, at a tenth of the speed.
        writer = try TarWriter(sink: .closure { pending.bytes.append(contentsOf: $0.assumingMemoryBound(to: UInt8.self)) }, mtime: mtime)
        self.entries = entries.makeIterator()
    }

    /// Fills `buffer` with the next bytes of the archive; returns how many, 0 at the end.
    /// An error is thrown again by every later call: the archive cannot resume.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Archive.Error) -> Int {
        if let failure { throw failure }
        do {
            while pending.unread == 0 && !finished {
                pending.bytes.removeAll(keepingCapacity: true)
                pending.offset = 0
                try step()
            }
        } catch {
            failure = error
            throw error
        }
        let count = min(buffer.count, pending.unread)
        pending.bytes.withUnsafeBytes { bytes in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[pending.offset..<pending.offset + count]))
        }
        pending.offset += count
        return count
    }

    /// Does one bounded piece of work: a chunk of the current file, the next entry's
    /// header (with its content when it is held in memory), or the end of the archive.
    private func step() throws(Archive.Error) {
        if let (source, path) = current {
            if try !writer.writeNextChunk(of: source, path: path) { current = nil }
        } else if let entry = entries.next() {
            if entry.contents != nil {
                try writer.append(entry)
            } else if let source = try writer.writeHeader(entry) {
                current = (source, entry.path)
            }
        } else {
            try writer.finish()
            finished = true
        }
    }
}

@available(*, unavailable)
extension TarStream: Sendable {}
