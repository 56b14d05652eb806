import FoundationEssentials
import Glibc
import StrataHash
import Testing
@testable import StrataCache

@Test func exclusiveLockIsRefusedWhileASharedLockIsHeld() throws {
    let fixture = try CacheFixture()
    let cache = fixture.cache
    // Each lock opens the file anew, so these conflict as two processes would.
    let builder = try cache.lock(.shared, wait: false)
    let planner = try cache.lock(.shared, wait: false)

    let error = #expect(throws: CacheDirectory.Error.busy(path: cache.path)) {
        try cache.withExclusiveLock { () }
    }
    #expect(error?.description == "the cache \(cache.path) is in use by another strata process; try again when it finishes")
    #expect(throws: CacheDirectory.Error.busy(path: cache.path)) {
        try cache.gc(maxAge: 0, maxSize: nil, now: Date())
    }

    builder.release()
    #expect(throws: CacheDirectory.Error.busy(path: cache.path)) { try cache.withExclusiveLock { () } }
    planner.release()
    // Retried for a moment: a child that another test spawns shares the lock's open file
    // until its exec closes it (close-on-exec), as any forked process does.
    var value: Int?
    for _ in 0..<50 where value == nil {
        value = try? cache.withExclusiveLock { 42 }
        if value == nil { usleep(100_000) }
    }
    #expect(value == 42)
}

@Test func sharedLockIsRefusedWithoutWaitingWhileGCRuns() throws {
    let fixture = try CacheFixture()
    let cache = fixture.cache
    let gc = try cache.lock(.exclusive, wait: false)
    #expect(throws: CacheDirectory.Error.busy(path: cache.path)) { try cache.withSharedLock(wait: false) { () } }
    gc.release()
    #expect(try cache.withSharedLock(wait: false) { "ok" } == "ok")
}

@Test func concurrentWritersLoseNothing() async throws {
    let fixture = try CacheFixture()
    let cache = fixture.cache
    let count = 48
    let written = try await withThrowingTaskGroup(of: (KeyRecord, OCIDescriptor).self) { group in
        for seed in 0..<count {
            group.addTask {
                let record = try sampleRecord(node: "node-\(seed % 6)", seed: seed)
                try cache.record(record)
                let manifest = try cache.writeBlob(Array(#"{"schemaVersion":2,"layers":[],"seed":\#(seed)}"#.utf8))
                let descriptor = OCIDescriptor(
                    mediaType: OCIMediaType.imageManifest, digest: manifest.digest, size: manifest.size,
                    annotations: [OCIDescriptor.keyAnnotation: record.key]
                )
                try cache.addManifest(descriptor)
                return (record, descriptor)
            }
        }
        return try await group.reduce(into: []) { $0.append($1) }
    }

    #expect(Set(try cache.allRecords().map(\.key)) == Set(written.map(\.0.key)))
    #expect(Set(try cache.manifests()) == Set(written.map(\.1)))
    for node in 0..<6 {
        let last = try #require(try cache.lastRecord(forNode: "node-\(node)"))
        #expect(written.contains { $0.0 == last })
    }
    let report = cache.verify()
    #expect(report.isClean, "\(report.problems)")
    #expect(report.leftovers.isEmpty)
    #expect(report.recordsChecked == count)
}

@Test func allRecordsReadsThousandsQuickly() throws {
    let fixture = try CacheFixture()
    var keys: [String] = []
    // Written directly: recording through fsync would make this a disk benchmark.
    for seed in 0..<2000 {
        var record = try sampleRecord(node: "api", seed: 0)
        record.inputs.labels["seed"] = String(seed)
        record.key = try record.inputs.key
        let path = try fixture.cache.recordPath(forKey: record.key)
        try FileSystem.makeDirectory(FileSystem.parent(of: path))
        try fixture.overwrite(String(path.dropFirst(fixture.cache.path.count + 1)), try CanonicalJSON.encode(record))
        keys.append(record.key)
    }
    let clock = ContinuousClock()
    var records: [KeyRecord] = []
    let elapsed = try clock.measure { records = try fixture.cache.allRecords() }
    #expect(Set(records.map(\.key)) == Set(keys))
    #expect(elapsed < .seconds(5), "\(elapsed)")
}
