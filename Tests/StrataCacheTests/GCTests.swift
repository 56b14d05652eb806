import FoundationEssentials
import Glibc
import StrataHash
import Testing
@testable import StrataCache

/// Three nodes recorded a day apart, each with an exported image in index.json;
/// `base` and `api` share a layer.
private struct Fleet {
    let fixture: CacheFixture
    let records: [KeyRecord]
    let images: [(manifest: OCIDescriptor, blobs: [Digest])]
    let shared: Digest
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    init() throws {
        fixture = try CacheFixture()
        var records: [KeyRecord] = []
        var images: [(manifest: OCIDescriptor, blobs: [Digest])] = []
        for (offset, node) in ["base", "api", "worker"].enumerated() {
            let record = try sampleRecord(node: node, seed: offset, created: start.addingTimeInterval(Double(offset) * 86_400), size: 1000)
            try fixture.cache.record(record)
            let layers = node == "worker" ? ["worker layer"] : ["shared layer", node + " layer"]
            let image = try fixture.storeImage(key: record.key, name: node, layers: layers)
            try fixture.cache.addManifest(image.manifest)
            records.append(record)
            images.append(image)
        }
        self.records = records
        self.images = images
        shared = try SHA256.hash(Array("shared layer".utf8))
    }
}

@Test func gcByAgeRemovesOldRecordsAndOnlyTheirUnsharedBlobs() throws {
    let fleet = try Fleet()
    let cache = fleet.fixture.cache
    let stray = try cache.writeBlob(Array("unreferenced".utf8))
    let now = fleet.start.addingTimeInterval(2 * 86_400 + 60)

    let report = try cache.gc(maxAge: 86_400 + 120, maxSize: nil, now: now)

    #expect(report.removedRecords == [fleet.records[0]])
    #expect(report.removedPointers == ["base"])
    #expect(report.removedManifests == [fleet.images[0].manifest])
    let baseOnly = Set(fleet.images[0].blobs).subtracting([fleet.shared])
    #expect(Set(report.removedBlobs) == baseOnly.union([stray.digest]))
    #expect(cache.hasBlob(fleet.shared), "api still uses the shared layer")
    for blob in fleet.images[1].blobs + fleet.images[2].blobs {
        #expect(cache.hasBlob(blob))
    }
    #expect(report.bytesFreed > stray.size)
    #expect(try cache.list().map(\.node) == ["api", "worker"])
    #expect(try cache.manifests() == [fleet.images[1].manifest, fleet.images[2].manifest])
    #expect(cache.verify().isClean)
}

@Test(arguments: [
    (Int64(3000), ["base", "api", "worker"]),
    (Int64(2999), ["api", "worker"]),
    (Int64(1000), ["worker"]),
    (Int64(0), []),
])
func gcBySizeRemovesTheOldestFirst(_ maxSize: Int64, _ kept: [String]) throws {
    let fleet = try Fleet()
    let cache = fleet.fixture.cache
    let report = try cache.gc(maxAge: nil, maxSize: maxSize, now: fleet.start)

    #expect(try cache.list().map(\.node).sorted() == kept.sorted())
    #expect(report.removedRecords.map(\.node) == ["base", "api", "worker"].filter { !kept.contains($0) })
    for (record, image) in zip(fleet.records, fleet.images) {
        #expect(cache.hasBlob(Digest(parsing: image.manifest.digest)!) == kept.contains(record.node))
    }
    #expect(cache.hasBlob(fleet.shared) == (kept.contains("base") || kept.contains("api")))
    #expect(cache.verify().isClean)
}

@Test func gcKeepsUnannotatedImagesAndRemovesOnlyOldLeftovers() throws {
    let fleet = try Fleet()
    let cache = fleet.fixture.cache
    var imported = try fleet.fixture.storeImage(key: "", name: "imported", layers: ["imported layer"])
    imported.manifest.annotations = [OCIDescriptor.refNameAnnotation: "imported"]
    try cache.addManifest(imported.manifest)
    try fleet.fixture.overwrite("blobs/sha256/.tmp-1-old", [1])
    try fleet.fixture.overwrite("nodes/.tmp-2-new", [2])
    try fleet.fixture.age("blobs/sha256/.tmp-1-old", by: 7200)

    let report = try cache.gc(maxAge: nil, maxSize: 0, now: Date())

    #expect(report.removedRecords.count == 3)
    #expect(try cache.manifests() == [imported.manifest])
    #expect(Set(try FileSystem.list(cache.blobsDirectory)) == Set(imported.blobs.map(\.hex)))
    #expect(report.removedLeftovers == ["blobs/sha256/.tmp-1-old"])
    #expect(cache.verify().leftovers == ["nodes/.tmp-2-new"])
}

@Test func gcKeepsEveryBlobWhenAManifestCannotBeRead() throws {
    let fleet = try Fleet()
    let cache = fleet.fixture.cache
    let stray = try cache.writeBlob(Array("unreferenced".utf8))
    try fleet.fixture.overwrite("blobs/sha256/" + fleet.images[2].manifest.digest.dropFirst(7), Array("garbage".utf8))

    let report = try cache.gc(maxAge: nil, maxSize: nil, now: fleet.start)
    #expect(report.removedBlobs.isEmpty)
    #expect(report.blobsKeptBecause != nil)
    #expect(cache.hasBlob(stray.digest))
}

@Test func gcRefusesADamagedIndexBeforeRemovingAnything() throws {
    let fleet = try Fleet()
    try fleet.fixture.overwrite("index.json", Array("[".utf8))
    #expect(throws: CacheDirectory.Error.self) {
        try fleet.fixture.cache.gc(maxAge: 0, maxSize: nil, now: fleet.start.addingTimeInterval(1e6))
    }
    #expect(try fleet.fixture.cache.allRecords().count == 3)
}

/// `diffids/` entries follow their blobs: one naming a removed blob goes, one naming a kept
/// blob stays, and an unreadable one goes too.
@Test func gcRemovesLayerEntriesWhoseBlobIsGone() throws {
    let fleet = try Fleet()
    let cache = fleet.fixture.cache
    let stray = try cache.writeBlob(Array("unreferenced".utf8))
    let gone = String(repeating: "1", count: 64), kept = String(repeating: "2", count: 64), junk = String(repeating: "3", count: 64)
    #expect(mkdir(cache.diffIDsDirectory, 0o755) == 0)
    try fleet.fixture.overwrite("diffids/" + gone, Array(stray.digest.description.utf8))
    try fleet.fixture.overwrite("diffids/" + kept, Array(fleet.shared.description.utf8))
    try fleet.fixture.overwrite("diffids/" + junk, Array("not a digest".utf8))

    let report = try cache.gc(maxAge: nil, maxSize: nil, now: fleet.start)

    #expect(report.removedBlobs == [stray.digest])
    #expect(Set(report.removedLayerEntries) == [gone, junk])
    #expect(try FileSystem.list(cache.diffIDsDirectory) == [kept])
}
