import FoundationEssentials
import StrataHash
import Testing
@testable import StrataCache

@Test func recordRoundTripsAndIsStoredUnderItsKey() throws {
    let fixture = try CacheFixture()
    let record = try sampleRecord(node: "services/api@slim", seed: 1)
    try fixture.cache.record(record)

    #expect(try fixture.cache.record(forKey: record.key) == record)
    let stored = try fixture.read("keys/\(record.key.prefix(2))/\(record.key).json")
    #expect(stored == (try CanonicalJSON.encode(record)))
    let text = String(decoding: stored, as: UTF8.self)
    #expect(text.contains(#""created":"2023-11-14T22:13:20Z""#))
    #expect(text.contains("https://example.com/a/b"), "slashes are not escaped")
}

@Test func canonicalJSONIsByteStable() throws {
    let first = try sampleInputs(7)
    var reordered = KeyInputs(
        dockerfile: first.dockerfile, context: first.context, contextMode: first.contextMode,
        unsetArgs: ["ALPHA", "ZED"], platform: first.platform, bases: first.bases
    )
    // Dictionaries built in another order encode to the same bytes.
    reordered.labels = first.labels
    for (name, value) in first.args.reversed() { reordered.args[name] = value }
    #expect(try CanonicalJSON.encode(reordered) == CanonicalJSON.encode(first))
    #expect(try reordered.key == first.key)
    #expect(try first.key.count == 64)
    #expect(try first.key == SHA256.hash(CanonicalJSON.encode(first)).hex)
    #expect(first.unsetArgs == ["ALPHA", "ZED"])
}

@Test(arguments: ["version", "dockerfile", "context", "contextMode", "contextMtime", "args", "unsetArgs", "target", "platform", "labels", "parents", "bases"])
func everyInputChangesTheKey(_ field: String) throws {
    let original = try sampleInputs(3)
    var changed = original
    switch field {
    case "version": changed.version = "strata-key-v0"
    case "dockerfile": changed.dockerfile = try sampleInputs(4).dockerfile
    case "context": changed.context = try sampleInputs(4).context
    case "contextMode": changed.contextMode = "whole"
    case "contextMtime": changed.contextMtime = 1_700_000_000
    case "args": changed.args["PYTHON_VERSION"] = "3.13"
    case "unsetArgs": changed.unsetArgs.append("TOKEN")
    case "target": changed.target = "runtime"
    case "platform": changed.platform = "linux/arm64"
    case "labels": changed.labels["team"] = "core"
    case "parents": changed.parents = [ParentKey(node: "base", key: String(repeating: "0", count: 64))]
    default: changed.bases = []
    }
    #expect(try changed.key != original.key)
}

@Test func lastRecordFollowsTheNodePointer() throws {
    let fixture = try CacheFixture()
    let node = "registry.example.com/team/api@slim"
    #expect(try fixture.cache.lastRecord(forNode: node) == nil)
    let older = try sampleRecord(node: node, seed: 1)
    let newer = try sampleRecord(node: node, seed: 2, created: Date(timeIntervalSince1970: 1_700_000_100))
    let other = try sampleRecord(node: "base", seed: 3)
    try fixture.cache.record(older)
    try fixture.cache.record(newer)
    try fixture.cache.record(other)

    #expect(try fixture.cache.lastRecord(forNode: node) == newer)
    #expect(try fixture.cache.lastRecord(forNode: "base") == other)
    #expect(try FileSystem.list(fixture.cache.nodesDirectory).sorted() == ["base.json", "registry.example.com%2Fteam%2Fapi%40slim.json"])
    #expect(try fixture.cache.record(forKey: older.key) == older)
    #expect(Set(try fixture.cache.allRecords().map(\.key)) == [older.key, newer.key, other.key])
}

@Test(arguments: ["..", ".hidden", "a/../../etc", "%2F", "name with spaces"])
func nodeNamesCannotEscapeTheNodesFolder(_ node: String) throws {
    let fixture = try CacheFixture()
    try fixture.cache.record(try sampleRecord(node: node, seed: 9))
    let names = try FileSystem.list(fixture.cache.nodesDirectory)
    #expect(names.count == 1)
    #expect(names.allSatisfy { !$0.hasPrefix(".") && !$0.contains("/") })
    #expect(try fixture.cache.lastRecord(forNode: node)?.node == node)
}

@Test func removingTheLatestRecordRemovesItsPointer() throws {
    let fixture = try CacheFixture()
    let record = try sampleRecord(node: "api", seed: 1)
    try fixture.cache.record(record)
    #expect(try fixture.cache.removeRecord(key: record.key))
    #expect(try fixture.cache.removeRecord(key: record.key) == false)
    #expect(try fixture.cache.record(forKey: record.key) == nil)
    #expect(try fixture.cache.lastRecord(forNode: "api") == nil)
    #expect(fixture.cache.verify().isClean)
}

@Test func inconsistentRecordsAndBadKeysAreRefused() throws {
    let fixture = try CacheFixture()
    var record = try sampleRecord(node: "api", seed: 1)
    record.key = String(repeating: "1", count: 64)
    #expect(throws: CacheDirectory.Error.keyMismatch(recorded: record.key, computed: try record.inputs.key)) {
        try fixture.cache.record(record)
    }
    #expect(throws: CacheDirectory.Error.invalidKey("../../etc/passwd")) {
        try fixture.cache.record(forKey: "../../etc/passwd")
    }
}

@Test(arguments: [
    Array("{\"key\":".utf8),
    [],
    Array("not json at all".utf8),
    [0xFF, 0xFE, 0x00],
])
func corruptRecordIsAMissAndVerifyReportsIt(_ damage: [UInt8]) throws {
    let fixture = try CacheFixture()
    let record = try sampleRecord(node: "api", seed: 1)
    try fixture.cache.record(record)
    let relative = "keys/\(record.key.prefix(2))/\(record.key).json"
    try fixture.overwrite(relative, damage)

    #expect(try fixture.cache.record(forKey: record.key) == nil)
    #expect(try fixture.cache.lastRecord(forNode: "api") == nil)
    #expect(try fixture.cache.allRecords().isEmpty)
    let report = fixture.cache.verify()
    #expect(!report.isClean)
    #expect(report.problems.contains { $0.path == relative })
    #expect(report.problems.contains { $0.path == "nodes/api.json" && $0.kind == .danglingPointer(key: record.key) })
}

@Test func verifyFindsRecordsThatDisagreeWithTheirNameOrInputs() throws {
    let fixture = try CacheFixture()
    let record = try sampleRecord(node: "api", seed: 1)
    try fixture.cache.record(record)
    let relative = "keys/\(record.key.prefix(2))/\(record.key).json"

    var tampered = record
    tampered.inputs.args["PYTHON_VERSION"] = "2.7"
    try fixture.overwrite(relative, try CanonicalJSON.encode(tampered))
    #expect(fixture.cache.verify().problems == [
        .init(path: relative, kind: .inputsMismatch(computed: try tampered.inputs.key)),
    ])

    let other = try sampleRecord(node: "api", seed: 2)
    try fixture.overwrite(relative, try CanonicalJSON.encode(other))
    #expect(fixture.cache.verify().problems.contains(.init(path: relative, kind: .misnamedRecord(recordKey: other.key))))
    #expect(try fixture.cache.record(forKey: record.key) == nil)
}

@Test(arguments: [
    ("{", "does not parse: not valid JSON"),
    ("{}", "does not parse: field key is missing"),
    (#"{"key":1}"#, "does not parse: field key is not of type String"),
])
func parseProblemsAreOneLineNamingTheField(_ content: String, _ expected: String) throws {
    let fixture = try CacheFixture()
    let record = try sampleRecord(node: "api", seed: 1)
    try fixture.cache.record(record)
    let relative = "keys/\(record.key.prefix(2))/\(record.key).json"
    try fixture.overwrite(relative, Array(content.utf8))
    let problem = try #require(fixture.cache.verify().problems.first { $0.path == relative })
    #expect(problem.description == relative + ": " + expected)
}
