import Foundation
import StrataCache
import StrataFleet
import StrataPlan
import Testing

/// `Planner` against a real cache directory: recorded keys are hits, and a miss names what
/// changed since its node's last record (`plan --explain`).
@Suite struct PlannerTests {
    static func plan(_ copy: FleetCopy) throws -> [PlanEntry] {
        let fleet = try copy.fleet()
        let cache = try CacheDirectory(path: copy.cacheDirectory)
        return try Planner(fleet: fleet, cache: cache).plan(Array(fleet.nodes.indices))
    }

    /// Records every entry's key, as a build would.
    static func recordAll(_ entries: [PlanEntry], in copy: FleetCopy) throws {
        let cache = try CacheDirectory(path: copy.cacheDirectory)
        for entry in entries {
            try cache.record(KeyRecord(
                key: entry.key.key, node: entry.node.name, image: entry.node.image, variant: entry.node.variant,
                platform: entry.node.platform, created: Date(), imageID: nil, size: 1000, manifests: [:],
                inputs: entry.key.inputs, files: entry.key.files))
        }
    }

    static func entry(_ name: String, in entries: [PlanEntry]) throws -> PlanEntry {
        try #require(entries.first { $0.node.name == name }, "no plan entry for \(name)")
    }

    @Test func recordedKeysAreHits() throws {
        let copy = try FleetCopy()
        let first = try Self.plan(copy)
        #expect(first.allSatisfy { $0.status == .miss && $0.reason == "never built" })
        try Self.recordAll(first, in: copy)
        let second = try Self.plan(copy)
        #expect(second.count == first.count)
        #expect(second.allSatisfy { $0.status == .hit })
        #expect(second.map(\.key.key) == first.map(\.key.key))
    }

    @Test func missesNameWhatChanged() throws {
        let copy = try FleetCopy()
        try Self.recordAll(try Self.plan(copy), in: copy)

        try copy.append("services/web/web-api/app/main.py", "# changed\n")
        try copy.editManifest(#"args: {PORT: "7212"}"#, #"args: {PORT: "7213"}"#)
        try copy.append("families/web/gunicorn.conf.py", "workers = 3\n")
        let entries = try Self.plan(copy)

        let webAPI = try Self.entry("web-api", in: entries)
        #expect(webAPI.status == .miss)
        #expect(webAPI.changes == ["parent family-web changed", "file changed: app/main.py"])
        #expect(webAPI.reason == "parent family-web changed (+1 more)")

        let family = try Self.entry("family-web", in: entries)
        #expect(family.changes == ["file changed: gunicorn.conf.py"])
        #expect(family.reason == "file changed: gunicorn.conf.py")

        let docs = try Self.entry("docs-site", in: entries)
        #expect(docs.changes == ["parent family-web changed"])

        for variant in ["mainpc", "pc2"] {
            let modelOps = try Self.entry("model-ops@\(variant)", in: entries)
            #expect(modelOps.status == .miss)
            #expect(modelOps.changes == ["arg PORT: '7212' -> '7213'"])
        }

        let misses = Set(entries.filter { $0.status == .miss }.map(\.node.name))
        #expect(misses == ["web-api", "family-web", "docs-site", "model-ops@mainpc", "model-ops@pc2"])
    }

    @Test func aBaseKeyedByOtherContentRekeysItsNodesAndTheirDescendants() throws {
        let copy = try FleetCopy()
        let fleet = try copy.fleet()
        let cache = try CacheDirectory(path: copy.cacheDirectory)
        let references = Set(fleet.nodes.flatMap(\.externalBases).map(\.reference))
        try #require(!references.isEmpty)
        func plan(_ digest: String?) throws -> [PlanEntry] {
            let bases = digest.map { digest in Dictionary(uniqueKeysWithValues: references.map { ($0, "\($0)@\(digest)") }) } ?? [:]
            return try Planner(fleet: fleet, cache: cache, bases: bases).plan(Array(fleet.nodes.indices))
        }
        let first = try plan("sha256:" + String(repeating: "a", count: 64))
        try Self.recordAll(first, in: copy)
        #expect(try plan("sha256:" + String(repeating: "a", count: 64)).allSatisfy { $0.status == .hit })
        let moved = try plan("sha256:" + String(repeating: "b", count: 64))
        #expect(moved.allSatisfy { $0.status == .miss })
        let root = try #require(moved.first { !$0.node.externalBases.isEmpty })
        #expect(root.changes.count == 1 && root.changes[0].hasPrefix("base changed: "))
        // Unresolved is a key of its own: never the hit of a resolved base.
        #expect(try plan(nil).allSatisfy { $0.status == .miss })
        #expect(root.key.inputs.bases.allSatisfy { $0.contains("@sha256:") })
    }

    @Test func addURLsAreKeyedByWhatTheyServe() throws {
        let copy = try FleetCopy()
        try copy.append("services/gpu/chat/Dockerfile", "ADD https://example.test/model.bin /models/\n")
        let fleet = try copy.fleet()
        let cache = try CacheDirectory(path: copy.cacheDirectory)
        func chat(_ served: String?) throws -> PlanEntry {
            let urls = served.map { ["https://example.test/model.bin": "https://example.test/model.bin \($0)"] } ?? [:]
            return try Self.entry("chat@pc2", in: Planner(fleet: fleet, cache: cache, urls: urls).plan(Array(fleet.nodes.indices)))
        }
        let first = try chat("etag:\"v1\"")
        #expect(first.key.inputs.urls == ["https://example.test/model.bin etag:\"v1\""])
        try Self.recordAll([first], in: copy)
        #expect(try chat("etag:\"v1\"").status == .hit)
        let changed = try chat("etag:\"v2\"")
        #expect(changed.status == .miss)
        #expect(changed.changes == ["URL content: https://example.test/model.bin etag:\"v2\""])
        #expect(try chat(nil).key.inputs.urls == ["https://example.test/model.bin (unresolved)"])
        #expect(try Self.entry("base-python", in: Planner(fleet: fleet, cache: cache).plan([0])).key.inputs.urls == nil)
    }

    @Test func explainNamesAddedRemovedFilesAndTheDockerfile() throws {
        let copy = try FleetCopy()
        try Self.recordAll(try Self.plan(copy), in: copy)
        try FileManager.default.moveItem(atPath: copy.path("services/web/web-api/app/routes.py"),
                                         toPath: copy.path("services/web/web-api/app/router.py"))
        try copy.append("services/gpu/chat/Dockerfile", "LABEL changed=yes\n")
        let entries = try Self.plan(copy)
        #expect(try Self.entry("web-api", in: entries).changes
            == ["file added: app/router.py", "file removed: app/routes.py"])
        #expect(try Self.entry("chat@pc2", in: entries).changes == ["Dockerfile changed"])
    }
}
