import Foundation
import StrataHTTP
import StrataHash
import StrataRegistry

/// Sends the layers an export compresses to a registry while they are compressed, so a push
/// does not wait for the whole compression before its upload starts (`RegistryClient.streamBlob`).
///
/// Best effort, never in the way: a layer starts streaming once `threshold` compressed bytes
/// exist (smaller ones are left to the push, whose `HEAD` may find them there already); when
/// the registry refuses or the connection breaks, the stream is dropped and the push uploads
/// the finished blob from the cache as it always does. The export never fails because of it.
/// Memory stays bounded: at most `capacity` bytes wait for the network, and compression waits
/// when the network is slower.
public final class RegistryLayerTee: @unchecked Sendable {
    // @unchecked: `uploads` and `stored` are guarded by `lock`.
    private let client: RegistryClient
    private let repository: String
    private let threshold: Int
    private let capacity: Int
    private let lock = NSLock()
    private var uploads: [Task<Void, Never>] = []
    private var stored: Set<String> = []

    public init(client: RegistryClient, repository: String, threshold: Int = 2 << 20, capacity: Int = 4 << 20) {
        self.client = client
        self.repository = repository
        self.threshold = threshold
        self.capacity = max(capacity, threshold + 1)
    }

    /// A stream for the next layer's compressed bytes.
    func begin() -> LayerStream {
        LayerStream(tee: self)
    }

    /// Waits for every upload started; returns the digests the registry stored.
    public func finish() async -> Set<String> {
        let started = lock.withLock { uploads }
        for upload in started { await upload.value }
        return lock.withLock { stored }
    }

    fileprivate func start(_ pipe: BytePipe) {
        let task = Task.detached { [self] in
            let once = OnceBody(pipe)
            do {
                let ok = try await client.streamBlob(repository: repository, body: .stream(length: nil) { try once.take() }) {
                    pipe.digest
                }
                if ok, let digest = pipe.digest { lock.withLock { _ = stored.insert(digest.description) } }
            } catch {
                pipe.fail()
            }
        }
        lock.withLock { uploads.append(task) }
    }

    /// One layer's compressed bytes, written by the export thread.
    final class LayerStream {
        private let tee: RegistryLayerTee
        private let pipe: BytePipe
        private var started = false

        fileprivate init(tee: RegistryLayerTee) {
            self.tee = tee
            pipe = BytePipe(capacity: tee.capacity)
        }

        /// Queues bytes for the upload; waits while `capacity` bytes are queued.
        func write(_ bytes: UnsafeRawBufferPointer) {
            pipe.append(bytes)
            if !started, pipe.written >= tee.threshold {
                started = true
                tee.start(pipe)
            }
            if started { pipe.waitForRoom() }
        }

        /// Ends the layer: `digest` is what the export computed; nil abandons the upload.
        func finish(digest: Digest?) {
            pipe.close(digest: digest)
        }
    }
}

/// The bounded queue between the compressing thread and curl's transfer thread: the pieces
/// written, in order, so memory holds what waits for the network and nothing more.
private final class BytePipe: HTTPBodyStream, @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`.
    private let condition = NSCondition()
    private let capacity: Int
    private var pieces: [[UInt8]] = []
    /// Pieces before this index are sent; `offset` bytes of the next one are.
    private var head = 0
    private var offset = 0
    private var queuedBytes = 0
    private var closed = false
    private var failed = false
    private var finalDigest: Digest?
    private(set) var written = 0

    init(capacity: Int) { self.capacity = capacity }

    var digest: Digest? {
        condition.lock()
        defer { condition.unlock() }
        return finalDigest
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        condition.lock()
        defer { condition.unlock() }
        written += bytes.count
        guard !failed, !bytes.isEmpty else { return }
        pieces.append(Array(bytes))
        queuedBytes += bytes.count
        condition.broadcast()
    }

    /// Waits while more than `capacity` bytes wait for the reader.
    func waitForRoom() {
        condition.lock()
        defer { condition.unlock() }
        while !failed && queuedBytes > capacity { condition.wait() }
    }

    func close(digest: Digest?) {
        condition.lock()
        finalDigest = digest
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The upload gave up: the writer stops waiting and its bytes are dropped.
    func fail() {
        condition.lock()
        failed = true
        pieces = []
        head = 0
        offset = 0
        queuedBytes = 0
        condition.broadcast()
        condition.unlock()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        condition.lock()
        defer { condition.unlock() }
        while queuedBytes == 0 && !closed && !failed { condition.wait() }
        if failed { throw CancellationError() }
        // Closed and drained: the body ends (abandoned without a digest, `streamBlob` cancels).
        guard queuedBytes > 0 else { return 0 }
        let piece = pieces[head]
        let count = min(buffer.count, piece.count - offset)
        piece.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
        offset += count
        queuedBytes -= count
        if offset == piece.count {
            pieces[head] = []
            head += 1
            offset = 0
            if head > 64 {
                pieces.removeFirst(head)
                head = 0
            }
        }
        if queuedBytes <= capacity { condition.broadcast() }
        return count
    }
}

/// Hands the pipe to the first request body only: a resent request (after a 401) would
/// replay bytes that are gone, so it fails and the push uploads the blob itself.
private final class OnceBody: @unchecked Sendable {
    // @unchecked: `pipe` is guarded by `lock`.
    private let lock = NSLock()
    private var pipe: BytePipe?

    init(_ pipe: BytePipe) { self.pipe = pipe }

    func take() throws -> any HTTPBodyStream {
        try lock.withLock {
            guard let pipe else { throw CancellationError() }
            self.pipe = nil
            return pipe
        }
    }
}
