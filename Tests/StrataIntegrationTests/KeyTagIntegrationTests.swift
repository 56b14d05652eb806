import Foundation
import Testing

/// A key's tag in the engine is mutable: re-pointed at another image, it is not a hit, and
/// `cache verify` says where the engine disagrees with the cache.
@Suite(.serialized) struct KeyTagIntegrationTests {
    @Test func aRepointedKeyTagIsNeitherAHitNorVerified() throws {
        try Bench.requireEngine()
        let root = try Bench.fleet("keytag", [
            "strata.yaml": "images:\n  app: {context: app}\n",
            "app/Dockerfile": "FROM strata-busybox:1\nCOPY a.txt /a.txt\n",
            "app/a.txt": "the real content\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = Bench.scratchRegistry("keytag")
        defer { Bench.removeImages(under: registry) }
        let common = ["-C", root, "--cache", root + "/.cache", "--registry", registry]

        let built = try Bench.strata(common + ["build", "--progress", "plain", "--format", "json"])
        try #require(built.status == 0, "\(built.stderr)")
        let key = try #require(try Bench.keys(built.stdout)["app"])
        let keyTag = "\(registry)/app:strata-\(key)"
        #expect(try Bench.strata(common + ["cache", "verify"]).status == 0)

        // The key's tag now names the base image, which does not hold /a.txt.
        try #require(try Bench.docker(["tag", "strata-busybox:1", keyTag]).status == 0)
        let verify = try Bench.strata(common + ["cache", "verify"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("engine: \(keyTag) (app) names sha256:"), "\(verify.stdout)")

        // The recorded image is still there: it is the hit, and the tag is put back.
        let again = try Bench.strata(common + ["build", "--progress", "plain", "--format", "json"])
        #expect(try Bench.statuses(again.stdout)["app"] == "cached", "\(again.stderr)")
        let content = try Bench.docker(["run", "--rm", keyTag, "cat", "/a.txt"])
        #expect(content.stdout == "the real content\n", "\(content.stderr)")
        #expect(try Bench.strata(common + ["cache", "verify"]).status == 0)
    }
}
