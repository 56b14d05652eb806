import StrataHash
import Testing
@testable import StrataCache

@Test(arguments: [0, 1, 4096, 3 * 1024 * 1024 + 7])
func streamedBlobIsStoredUnderItsDigest(_ size: Int) throws {
    let fixture = try CacheFixture()
    let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
    let written = try fixture.cache.writeBlob { writer in
        for start in stride(from: 0, to: bytes.count, by: 100_003) {
            try writer.write(Array(bytes[start..<min(start + 100_003, bytes.count)]))
        }
    }
    #expect(written.digest == (try SHA256.hash(bytes)))
    #expect(written.size == Int64(size))
    #expect(fixture.cache.hasBlob(written.digest))
    #expect(try fixture.cache.blobSize(written.digest) == Int64(size))
    #expect(fixture.cache.blobPath(written.digest) == fixture.cache.path + "/blobs/sha256/" + written.digest.hex)
    #expect(try fixture.cache.readBlob(written.digest) == bytes)
    #expect(try FileSystem.list(fixture.cache.blobsDirectory) == [written.digest.hex])
    #expect(fixture.cache.verify().blobsChecked == 1)
}

@Test func expectedDigestIsCheckedBeforeTheRename() throws {
    let fixture = try CacheFixture()
    let bytes = Array("layer".utf8)
    let right = try SHA256.hash(bytes)
    let wrong = try SHA256.hash(Array("other".utf8))
    #expect(try fixture.cache.writeBlob(bytes, expected: right).digest == right)

    let error = #expect(throws: CacheDirectory.Error.digestMismatch(expected: wrong, actual: try SHA256.hash(Array("layer!".utf8)))) {
        try fixture.cache.writeBlob(Array("layer!".utf8), expected: wrong)
    }
    #expect(error?.description.contains(wrong.description) == true)
    #expect(error?.description.contains((try SHA256.hash(Array("layer!".utf8))).description) == true)
    #expect(try FileSystem.list(fixture.cache.blobsDirectory) == [right.hex], "the temporary file is removed")
}

@Test func aFailingProducerLeavesNothingBehind() throws {
    struct Interrupted: Error {}
    let fixture = try CacheFixture()
    #expect(throws: Interrupted.self) {
        try fixture.cache.writeBlob { writer in
            try writer.write(Array("half a layer".utf8))
            throw Interrupted()
        }
    }
    #expect(try FileSystem.list(fixture.cache.blobsDirectory).isEmpty)
}

@Test func aFlippedByteIsReportedByVerify() throws {
    let fixture = try CacheFixture()
    let digest = try fixture.cache.writeBlob(Array("a layer of some length".utf8)).digest
    var bytes = try fixture.read("blobs/sha256/" + digest.hex)
    bytes[5] ^= 0x01
    try fixture.overwrite("blobs/sha256/" + digest.hex, bytes)

    let report = fixture.cache.verify()
    #expect(report.problems == [
        .init(path: "blobs/sha256/" + digest.hex, kind: .digestMismatch(actual: try SHA256.hash(bytes).description)),
    ])
    #expect(report.problems[0].description.hasSuffix("the blob is damaged"))
}

@Test func indexEntriesAreMergedAndReplacedByName() throws {
    let fixture = try CacheFixture()
    let first = try fixture.storeImage(key: String(repeating: "a", count: 64), name: "api:latest", layers: ["one"])
    let second = try fixture.storeImage(key: String(repeating: "b", count: 64), name: "api:latest", layers: ["two"])
    let other = try fixture.storeImage(key: String(repeating: "c", count: 64), name: "base:latest", layers: ["three"])
    try fixture.cache.addManifest(first.manifest)
    try fixture.cache.addManifest(other.manifest)
    try fixture.cache.addManifest(other.manifest)
    try fixture.cache.addManifest(second.manifest)
    #expect(try fixture.cache.manifests() == [other.manifest, second.manifest])
    #expect(fixture.cache.verify().isClean)

    let absent = OCIDescriptor(mediaType: OCIMediaType.imageManifest, digest: try SHA256.hash([1]), size: 1)
    #expect(throws: CacheDirectory.Error.missingBlob(try SHA256.hash([1]))) { try fixture.cache.addManifest(absent) }
}

@Test func verifyReportsLayoutDamageAndLeftovers() throws {
    let fixture = try CacheFixture()
    let image = try fixture.storeImage(key: String(repeating: "a", count: 64), name: "api", layers: ["one", "two"])
    try fixture.cache.addManifest(image.manifest)
    let layer = image.blobs[2]
    try FileSystem.remove(fixture.cache.blobPath(layer))
    try fixture.overwrite("blobs/sha256/.tmp-1-2", [1, 2, 3])
    try fixture.overwrite("oci-layout", Array(#"{"imageLayoutVersion":"2.0.0"}"#.utf8))
    try fixture.overwrite("blobs/sha256/README", [])

    let report = fixture.cache.verify()
    #expect(report.leftovers == ["blobs/sha256/.tmp-1-2"])
    #expect(Set(report.problems.map(\.kind)) == [
        .unexpectedFile,
        .unsupportedLayoutVersion("2.0.0"),
        .missingBlob(digest: layer.description, referrer: "blobs/sha256/" + image.manifest.digest.dropFirst(7)),
    ])

    try fixture.overwrite("index.json", Array("{".utf8))
    #expect(fixture.cache.verify().problems.contains { $0.path == "index.json" })
    #expect(throws: CacheDirectory.Error.self) { try fixture.cache.manifests() }
}
