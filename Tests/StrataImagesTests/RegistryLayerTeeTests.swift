import Foundation
import StrataHash
import StrataRegistry
import Testing
@testable import StrataImages

/// The export's tee against the reference registry: bytes written as they are compressed
/// end up as a blob; small layers and unreachable registries cost nothing.
@Suite(.serialized) struct RegistryLayerTeeTests {
    static let registry = ProcessInfo.processInfo.environment["STRATA_TEST_REGISTRY"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1:5000"

    static func repository() -> String { "strata-test/tee-" + UUID().uuidString.prefix(8).lowercased() }

    /// `send` on a thread of its own, as the export runs: its waits for the network must not
    /// hold one of the cooperative pool's threads (two on this machine) from other tests.
    static func sendOnAThread(_ bytes: [UInt8], through tee: RegistryLayerTee, digest: Digest?) async {
        await withCheckedContinuation { continuation in
            Thread {
                send(bytes, through: tee, digest: digest)
                continuation.resume()
            }.start()
        }
    }

    /// Writes `bytes` in 64 KiB pieces through a stream of `tee`, then ends it.
    static func send(_ bytes: [UInt8], through tee: RegistryLayerTee, digest: Digest?) {
        let stream = tee.begin()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + (64 << 10))
            bytes[offset..<end].withUnsafeBytes { stream.write($0) }
            offset = end
        }
        stream.finish(digest: digest)
    }

    @Test func aLayerIsStoredWhileItIsWritten() async throws {
        let client = RegistryClient(host: Self.registry)
        let repository = Self.repository()
        // A small capacity: the writer has to wait for the network again and again.
        let tee = RegistryLayerTee(client: client, repository: repository, threshold: 256 << 10, capacity: 512 << 10)
        let bytes = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 40_503 >> 7) }
        let digest = try SHA256.hash(bytes)
        await Self.sendOnAThread(bytes, through: tee, digest: digest)
        #expect(await tee.finish() == [digest.description])
        #expect(try await client.blobSize(repository: repository, digest: digest) == Int64(bytes.count))
    }

    @Test func smallAndAbandonedLayersAreNotSent() async throws {
        let client = RegistryClient(host: Self.registry)
        let repository = Self.repository()
        let tee = RegistryLayerTee(client: client, repository: repository, threshold: 1 << 20)
        let small = [UInt8](repeating: 1, count: 100_000)
        let big = [UInt8](repeating: 2, count: 3 << 20)
        Self.send(small, through: tee, digest: try SHA256.hash(small))
        await Self.sendOnAThread(big, through: tee, digest: nil)
        #expect(await tee.finish().isEmpty)
        #expect(try await client.blobSize(repository: repository, digest: try SHA256.hash(small)) == nil)
        #expect(try await client.blobSize(repository: repository, digest: try SHA256.hash(big)) == nil)
    }

    /// Nobody listens: the writer is never held up, and nothing is reported stored.
    @Test func anUnreachableRegistryNeverHoldsTheExport() async throws {
        let client = RegistryClient(host: "127.0.0.1:9", retryPolicy: RetryPolicy(maxAttempts: 1))
        let tee = RegistryLayerTee(client: client, repository: "strata-test/nowhere", threshold: 64 << 10, capacity: 128 << 10)
        let bytes = [UInt8](repeating: 3, count: 4 << 20)
        await Self.sendOnAThread(bytes, through: tee, digest: try? SHA256.hash(bytes))
        #expect(await tee.finish().isEmpty)
    }
}
