import Foundation
import StrataCache
import Testing

/// `strata cache ls | verify | gc`, run as a user runs them.
@Suite struct CacheCommandTests {
    static func record(node: String, created: TimeInterval, size: Int64?, context: String) throws -> KeyRecord {
        let inputs = KeyInputs(dockerfile: "sha256:" + String(repeating: "d", count: 64), context: context,
                               contextMode: "precise")
        return KeyRecord(key: try inputs.key, node: node, image: String(node.prefix { $0 != "@" }),
                         variant: node.contains("@") ? String(node.split(separator: "@")[1]) : nil,
                         created: Date(timeIntervalSince1970: created), imageID: "sha256:" + String(repeating: "e", count: 64),
                         size: size, inputs: inputs)
    }

    /// A cache with two records (one from 2001, one from 2020) and one blob no manifest names.
    static func seededCache(_ folder: TemporaryFolder) throws -> (CacheDirectory, [KeyRecord]) {
        let cache = try CacheDirectory(path: folder.path + "/cache")
        let records = [
            try record(node: "base-python", created: 1_000_000_000, size: 1000, context: "sha256:1"),
            try record(node: "chat@mainpc", created: 1_600_000_000, size: 1_500_000, context: "sha256:2"),
        ]
        for record in records { try cache.record(record) }
        _ = try cache.writeBlob(Array("an unreferenced blob\n".utf8))
        return (cache, records)
    }

    @Test func listAsTableAndJSON() throws {
        let folder = try TemporaryFolder()
        let (cache, records) = try Self.seededCache(folder)
        let text = try StrataBinary.run(["--cache", cache.path, "cache", "ls"], in: folder.path)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout == """
            NODE         KEY           CREATED               SIZE
            base-python  \(records[0].key.prefix(12))  2001-09-09T01:46:40Z  1000 B
            chat@mainpc  \(records[1].key.prefix(12))  2020-09-13T12:26:40Z  1.4 MiB
            2 records, 1.4 MiB

            """)

        let json = try StrataBinary.run(["cache", "ls", "--format", "json", "--cache", cache.path], in: folder.path)
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let listed = try #require(object?["records"] as? [[String: Any]])
        #expect(listed.map { $0["node"] as? String } == ["base-python", "chat@mainpc"])
        #expect(listed[1]["key"] as? String == records[1].key)
        #expect(listed[1]["variant"] as? String == "mainpc")
        #expect(listed[1]["created"] as? String == "2020-09-13T12:26:40Z")
        #expect(listed[0]["size"] as? Int == 1000)
    }

    @Test func verifyCleanAndDamaged() throws {
        let folder = try TemporaryFolder()
        let (cache, records) = try Self.seededCache(folder)
        let clean = try StrataBinary.run(["--cache", cache.path, "cache", "verify"], in: folder.path)
        #expect(clean.status == 0)
        #expect(clean.stdout == "cache OK: 2 records, 1 blob\n")

        let key = records[0].key
        let recordFile = cache.path + "/keys/\(key.prefix(2))/\(key).json"
        try Data("{\"key\":".utf8).write(to: URL(fileURLWithPath: recordFile))
        try Data("damaged".utf8).write(to: URL(fileURLWithPath: cache.blobsDirectory + "/" + String(repeating: "0", count: 64)))
        let damaged = try StrataBinary.run(["--cache", cache.path, "cache", "verify"], in: folder.path)
        #expect(damaged.status == 1)
        let lines = damaged.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("blobs/sha256/0000") && $0.contains("the blob is damaged") })
        #expect(lines.contains { $0.hasPrefix("keys/\(key.prefix(2))/\(key).json: does not parse") })
        #expect(lines.contains("nodes/base-python.json: points at key \(key), which has no readable record"))
        #expect(damaged.stderr == "strata: 3 problems in the cache \(cache.path)\n")
    }

    @Test func gcByAgeAndSize() throws {
        let folder = try TemporaryFolder()
        let (cache, records) = try Self.seededCache(folder)
        // 2001 is more than 3650 days ago; 2020 is not (until 2030).
        let byAge = try StrataBinary.run(["--cache", cache.path, "cache", "gc", "--max-age", "3650"], in: folder.path)
        #expect(byAge.status == 0, "\(byAge.stderr)")
        let lines = byAge.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "removed key \(records[0].key.prefix(12)) base-python (recorded 2001-09-09T01:46:40Z)")
        #expect(lines.contains("removed last-key pointer of base-python"))
        #expect(lines.contains { $0.hasPrefix("removed blob sha256:") })
        #expect(lines.last?.hasPrefix("freed ") == true)
        #expect(try cache.list().map(\.node) == ["chat@mainpc"])

        let bySize = try StrataBinary.run(["--cache", cache.path, "cache", "gc", "--max-size", "1M"], in: folder.path)
        #expect(bySize.status == 0)
        #expect(bySize.stdout.hasPrefix("removed key \(records[1].key.prefix(12)) chat@mainpc"))
        #expect(try cache.list().isEmpty)
        #expect(try StrataBinary.run(["--cache", cache.path, "cache", "verify"]).stdout == "cache OK: 0 records, 0 blobs\n")
    }

    @Test func gcRefusesWhileTheCacheIsInUse() throws {
        let folder = try TemporaryFolder()
        let (cache, _) = try Self.seededCache(folder)
        let held = try cache.lock(.shared, wait: true)
        defer { held.release() }
        let result = try StrataBinary.run(["--cache", cache.path, "cache", "gc"], in: folder.path)
        #expect(result.status == 1)
        #expect(result.stderr == "strata: the cache \(cache.path) is in use by another strata process; try again when it finishes\n")
    }

    @Test(arguments: [["--max-size", "lots"], ["--max-age", "-1"]])
    func gcRejectsBadOptions(_ options: [String]) throws {
        let folder = try TemporaryFolder()
        let result = try StrataBinary.run(["--cache", folder.path, "cache", "gc"] + options)
        #expect(result.status != 0)
        #expect(result.stderr.contains(options[0]))
    }

    /// The cache commands read only the manifest's `cache:`: a fleet with a cycle still has
    /// a cache to list, and `--cache` needs no manifest at all.
    @Test func worksOnABrokenFleetAndWithoutAManifest() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", "cache: my-cache\nimages:\n  a: {context: a}\n  b: {context: b}\n")
        try folder.write("a/Dockerfile", "FROM b\n")
        try folder.write("b/Dockerfile", "FROM a\n")
        let cache = try CacheDirectory(path: folder.path + "/my-cache")
        try cache.record(try Self.record(node: "a", created: 1_600_000_000, size: nil, context: "sha256:a"))

        let listed = try StrataBinary.run(["cache", "ls"], in: folder.path)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("\na  "))
        #expect(listed.stdout.hasSuffix("1 record, 0 B\n"))
        #expect(try StrataBinary.run(["graph"], in: folder.path).status == 2)

        let elsewhere = try TemporaryFolder()
        let verify = try StrataBinary.run(["--cache", cache.path, "cache", "verify"], in: elsewhere.path)
        #expect(verify.stdout == "cache OK: 1 record, 0 blobs\n")
        let noManifest = try StrataBinary.run(["cache", "verify"], in: elsewhere.path)
        #expect(noManifest.status == 2)
        #expect(noManifest.stderr.contains("no manifest found"))

        let missing = try StrataBinary.run(["--cache", elsewhere.path + "/none", "cache", "verify"])
        #expect(missing.status == 0)
        #expect(missing.stderr == "strata: no cache at \(elsewhere.path)/none (nothing recorded yet)\n")
        #expect(!FileManager.default.fileExists(atPath: elsewhere.path + "/none"))
    }
}
