import Foundation
import Testing

/// `strata push`, `build --push`, the remote cache, `tag` and `promote` against the
/// bench's registry (127.0.0.1:5000), checked with skopeo and the docker CLI.
@Suite(.serialized) struct PublishIntegrationTests {
    struct Pushes: Decodable {
        struct Node: Decodable { var node, repository, digest: String; var tags: [String]; var uploaded, mounted, skipped: Int }
        var pushes: [Node]
    }

    static func requireRegistry() throws {
        let ping = try Bench.run("/usr/bin/curl", ["-sf", "-o", "/dev/null", "http://127.0.0.1:5000/v2/"])
        try #require(ping.status == 0, "no registry at 127.0.0.1:5000: run scripts/test, which starts one")
    }

    /// The digest skopeo (an independent client) reads for `reference`, or nil when it has none.
    static func skopeoDigest(_ reference: String) throws -> String? {
        let script = "set -o pipefail; /usr/bin/skopeo inspect --tls-verify=false --raw 'docker://\(reference)' | sha256sum"
        let result = try Bench.run("/bin/bash", ["-c", script])
        guard result.status == 0, let hex = result.stdout.split(separator: " ").first else { return nil }
        return "sha256:" + hex
    }

    static func prefix() -> String { Bench.scratchRegistry("it", host: "127.0.0.1:5000") }

    @Test func buildPushSecondPushRemoteCachePullAndRun() throws {
        try Bench.requireEngine()
        try Self.requireRegistry()
        let fleet = try Bench.demoFleetCopy()
        defer { try? FileManager.default.removeItem(atPath: fleet) }
        let registry = Self.prefix()
        defer { Bench.removeImages(under: registry) }
        let cache = fleet + "/.it-cache"
        let common = ["-C", fleet, "--cache", cache, "--registry", registry]

        let build = try Bench.strata(common + ["build", "--push", "--tag", "v1", "--progress", "plain"])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.stdout.contains("18 pushed"), "\(build.stdout)")

        // Again: every blob is there already, nothing is uploaded or mounted.
        let again = try Bench.strata(common + ["push", "--tag", "v1", "--format", "json"])
        #expect(again.status == 0, "\(again.stderr)")
        let pushes = try JSONDecoder().decode(Pushes.self, from: Data(again.stdout.utf8)).pushes
        #expect(pushes.count == 18)
        #expect(pushes.allSatisfy { $0.uploaded == 0 && $0.mounted == 0 && $0.skipped > 0 }, "\(pushes)")

        // skopeo reads the digests strata reports, under every tag.
        let byNode = Dictionary(uniqueKeysWithValues: pushes.map { ($0.node, $0) })
        for (node, tag) in [("base-python", "3.11"), ("embedder@pc2", "v1-pc2"), ("web-api", "latest")] {
            let pushed = try #require(byNode[node])
            #expect(pushed.tags.contains(tag), "\(pushed.tags)")
            #expect(try Self.skopeoDigest("\(pushed.repository):\(tag)") == pushed.digest, "\(node):\(tag)")
            let keyTag = try #require(pushed.tags.first { $0.hasPrefix("strata-") })
            #expect(try Self.skopeoDigest("\(pushed.repository):\(keyTag)") == pushed.digest)
        }

        // Another machine: an empty cache sees every node as a hit in the registry.
        let fresh = fleet + "/.fresh-cache"
        let plan = try Bench.strata(["-C", fleet, "--cache", fresh, "--registry", registry, "plan", "--remote-cache", "--format", "json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        struct Plan: Decodable { struct Node: Decodable { var node, status, reason: String }; var nodes: [Node] }
        let planned = try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8)).nodes
        #expect(planned.count == 18)
        #expect(planned.allSatisfy { $0.status == "hit" && $0.reason.hasPrefix("in registry \(registry)/") }, "\(planned)")

        // A build there rebuilds nothing.
        let remoteBuild = try Bench.strata(["-C", fleet, "--cache", fresh, "--registry", registry, "build", "--remote-cache",
                                            "--progress", "plain", "--format", "json"])
        #expect(remoteBuild.status == 0, "\(remoteBuild.stderr)")
        #expect(try Bench.statuses(remoteBuild.stdout).values.allSatisfy { $0 == "cached" })

        // The engine pulls a pushed service over loopback HTTP, and it runs.
        let image = "\(registry)/web-api:v1"
        let pull = try Bench.docker(["pull", image])
        #expect(pull.status == 0, "\(pull.stderr)")
        let run = try Bench.docker(["run", "--rm", "--network", "host", image])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("def hello"), "\(run.stdout)")
        _ = try Bench.docker(["rmi", image])
    }

    @Test func promoteCopiesEveryTagWithoutUploadsOrWritesNothing() throws {
        try Bench.requireEngine()
        try Self.requireRegistry()
        let fleet = try Bench.demoFleetCopy()
        defer { try? FileManager.default.removeItem(atPath: fleet) }
        let registry = Self.prefix()
        defer { Bench.removeImages(under: registry) }
        let common = ["-C", fleet, "--cache", fleet + "/.it-cache", "--registry", registry]
        let build = try Bench.strata(common + ["build", "--push", "--tag", "rc", "--progress", "plain"])
        #expect(build.status == 0, "\(build.stderr)")

        let promote = try Bench.strata(common + ["promote", "--from-tag", "rc", "--to-tag", "prod"])
        #expect(promote.status == 0, "\(promote.stderr)")
        #expect(promote.stdout.contains("18 of 18 promoted"), "\(promote.stdout)")
        let rows = promote.stdout.split(separator: "\n").dropFirst().dropLast().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.count == 18)
        #expect(rows.allSatisfy { $0.count == 7 && $0[4] == "0" }, "no blob is uploaded: \(promote.stdout)")
        #expect(try Self.skopeoDigest("\(registry)/chat:prod-pc2") == Self.skopeoDigest("\(registry)/chat:rc-pc2"))
        #expect(try Self.skopeoDigest("\(registry)/chat:prod-pc2") != nil)

        // Into another registry prefix: blobs come along.
        let other = Self.prefix()
        let across = try Bench.strata(common + ["promote", "--from-tag", "prod", "--to-tag", "prod", "--to-registry", other, "web-api"])
        #expect(across.status == 0, "\(across.stderr)")
        #expect(try Self.skopeoDigest("\(other)/web-api:prod") == Self.skopeoDigest("\(registry)/web-api:prod"))

        // `tag`: one manifest, no pull.
        let tag = try Bench.strata(["tag", "\(registry)/web-api:prod", "\(registry)/web-api:ga"])
        #expect(tag.status == 0, "\(tag.stderr)")
        #expect(try Self.skopeoDigest("\(registry)/web-api:ga") == Self.skopeoDigest("\(registry)/web-api:prod"))

        // `final` from `ga`: only web-api has ga, so everything else is missing and nothing is written.
        let partial = try Bench.strata(common + ["promote", "--from-tag", "ga", "--to-tag", "final", "web-api", "docs-site"])
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("missing source: \(registry)/docs-site:ga"), "\(partial.stderr)")
        #expect(!partial.stderr.contains("web-api:ga"))
        #expect(try Self.skopeoDigest("\(registry)/web-api:final") == nil, "nothing is written when a source is missing")
    }
}
