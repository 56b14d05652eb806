import Foundation
import StrataHTTP
import StrataHash
import Testing
@testable import StrataRegistry

/// `streamBlob` against the reference registry: the bytes go up as they are produced and
/// the digest comes at the end.
@Suite(.serialized) struct StreamedUploadTests {
    struct Bytes: HTTPBodyStream {
        var bytes: [UInt8]
        var offset = 0
        mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
            offset += count
            return count
        }
    }

    static let blob = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }

    @Test func aStreamedBlobIsStoredUnderTheDigestGivenAtTheEnd() async throws {
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("streamed")
        let digest = try SHA256.hash(Self.blob)
        let stored = try await client.streamBlob(repository: repository, body: .stream(length: nil) { Bytes(bytes: Self.blob) }) {
            digest
        }
        #expect(stored)
        #expect(try await client.blobSize(repository: repository, digest: digest) == Int64(Self.blob.count))
        #expect(try await client.blob(repository: repository, digest: digest, limit: 4 << 20) == Self.blob)
        // The ordinary push now finds it there.
        #expect(try await client.pushBlob(repository: repository, digest: digest, size: Int64(Self.blob.count),
                                          from: .bytes(Self.blob)) == .alreadyPresent)
    }

    @Test func anAbandonedStreamLeavesNothing() async throws {
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("abandoned")
        let stored = try await client.streamBlob(repository: repository, body: .stream(length: nil) { Bytes(bytes: Self.blob) }) {
            nil
        }
        #expect(!stored)
        #expect(try await client.blobSize(repository: repository, digest: try SHA256.hash(Self.blob)) == nil)
    }

    @Test func theRegistryChecksTheDigest() async throws {
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("wrong")
        let wrong = try SHA256.hash(Array("something else".utf8))
        let error = await #expect(throws: Registry.Error.self) {
            _ = try await client.streamBlob(repository: repository, body: .stream(length: nil) { Bytes(bytes: Self.blob) }) { wrong }
        }
        #expect(error?.codes.contains("DIGEST_INVALID") == true, "\(String(describing: error))")
        #expect(try await client.blobSize(repository: repository, digest: wrong) == nil)
    }
}
