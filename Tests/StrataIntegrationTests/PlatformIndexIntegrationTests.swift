import Foundation
import Testing

/// An image built for two platforms is pushed as a registry expects: each platform's manifest
/// under its `strata-<key>` tag, and one image index, listing both with their platforms,
/// under the image's tags. `FROM scratch` and `COPY` need no emulation for linux/arm64.
@Suite(.serialized) struct PlatformIndexIntegrationTests {
    struct Index: Decodable {
        struct Entry: Decodable {
            struct Platform: Decodable { var os, architecture: String }
            var mediaType, digest: String
            var platform: Platform
        }
        var mediaType: String
        var manifests: [Entry]
    }

    struct Config: Decodable { var architecture, os: String }

    static func skopeo(_ arguments: [String]) throws -> String {
        let result = try Bench.run("/usr/bin/skopeo", arguments)
        try #require(result.status == 0, "skopeo \(arguments.joined(separator: " ")): \(result.stderr)")
        return result.stdout
    }

    @Test func twoPlatformsMakeOneIndexUnderTheImageTags() throws {
        try Bench.requireEngine()
        try PublishIntegrationTests.requireRegistry()
        let files = [
            "strata.yaml": "images:\n  multi:\n    context: multi\n    tags: [\"1.0\"]\n    platforms: [linux/amd64, linux/arm64]\n",
            "multi/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
            "multi/hello.txt": "hello \(UUID().uuidString)\n",
        ]
        let root = try Bench.fleet("platforms", files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = PublishIntegrationTests.prefix()
        defer { Bench.removeImages(under: registry) }
        let common = ["-C", root, "--cache", root + "/.cache", "--registry", registry]

        let build = try Bench.strata(common + ["build", "--progress", "plain", "--format", "json"])
        #expect(build.status == 0, "\(build.stderr)")
        let keys = try Bench.keys(build.stdout)
        #expect(Set(keys.keys) == ["multi/linux/amd64", "multi/linux/arm64"])

        let push = try Bench.strata(common + ["push", "--tag", "rc", "--format", "json"])
        #expect(push.status == 0, "\(push.stderr)")
        let pushes = try JSONDecoder().decode(PublishIntegrationTests.Pushes.self, from: Data(push.stdout.utf8)).pushes
        let byNode = Dictionary(uniqueKeysWithValues: pushes.map { ($0.node, $0) })
        #expect(Set(byNode.keys) == ["multi/linux/amd64", "multi/linux/arm64", "multi"])
        // Each platform under its key tag only; the index under the image's tags.
        for platform in ["linux/amd64", "linux/arm64"] {
            let node = try #require(byNode["multi/\(platform)"])
            #expect(node.tags == ["strata-\(keys["multi/\(platform)"]!)"])
            #expect(try PublishIntegrationTests.skopeoDigest("\(registry)/multi:\(node.tags[0])") == node.digest)
        }
        let index = try #require(byNode["multi"])
        #expect(index.tags == ["1.0", "rc"])
        for tag in index.tags {
            #expect(try PublishIntegrationTests.skopeoDigest("\(registry)/multi:\(tag)") == index.digest)
        }

        // What a client reads: an OCI index with both platforms, each entry the platform's manifest.
        let raw = try Self.skopeo(["inspect", "--tls-verify=false", "--raw", "docker://\(registry)/multi:1.0"])
        let document = try JSONDecoder().decode(Index.self, from: Data(raw.utf8))
        #expect(document.mediaType == "application/vnd.oci.image.index.v1+json")
        #expect(document.manifests.map { "\($0.platform.os)/\($0.platform.architecture)" } == ["linux/amd64", "linux/arm64"])
        #expect(document.manifests.map(\.digest) == [byNode["multi/linux/amd64"]!.digest, byNode["multi/linux/arm64"]!.digest])
        // skopeo resolves the index to the arm64 image when asked for arm64, and that image says arm64.
        let config = try Self.skopeo(["inspect", "--tls-verify=false", "--override-arch", "arm64", "--config", "docker://\(registry)/multi:1.0"])
        #expect(try JSONDecoder().decode(Config.self, from: Data(config.utf8)).architecture == "arm64")

        // One platform alone cannot move the image's tags: the index would lose the other.
        let partial = try Bench.strata(common + ["push", "multi/linux/arm64", "--tag", "partial"])
        #expect(partial.status == 1)
        #expect(partial.stderr.contains("multi: its tags were not moved: 1 of its 2 platforms were pushed"), "\(partial.stderr)")
        #expect(try PublishIntegrationTests.skopeoDigest("\(registry)/multi:partial") == nil)
    }

    /// `build --platform`: only the nodes for that platform, and an image without `platforms:`
    /// built for it; a name with no node for it is refused.
    @Test func buildForOnePlatform() throws {
        try Bench.requireEngine()
        let root = try Bench.fleet("platform", [
            "strata.yaml": "images:\n  multi: {context: multi, platforms: [linux/amd64, linux/arm64]}\n  single: {context: single}\n",
            "multi/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
            "multi/hello.txt": "multi \(UUID().uuidString)\n",
            "single/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
            "single/hello.txt": "single \(UUID().uuidString)\n",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = Bench.scratchRegistry("platform")
        defer { Bench.removeImages(under: registry) }
        let common = ["-C", root, "--cache", root + "/.cache", "--registry", registry]

        let build = try Bench.strata(common + ["build", "--platform", "linux/arm64", "--progress", "plain", "--format", "json"])
        #expect(build.status == 0, "\(build.stderr)")
        let keys = try Bench.keys(build.stdout)
        #expect(Set(keys.keys) == ["multi/linux/arm64", "single"])
        for (node, image) in [("multi/linux/arm64", "multi"), ("single", "single")] {
            let inspect = try Bench.docker(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}",
                                            "\(registry)/\(image):strata-\(keys[node]!)"])
            #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "linux/arm64", "\(node): \(inspect.stderr)")
        }
        // The same image for the engine's own platform is another key.
        let native = try Bench.strata(common + ["plan", "single", "--format", "json"])
        #expect(!native.stdout.contains(keys["single"]!), "\(native.stdout)")

        let refused = try Bench.strata(common + ["build", "multi", "--platform", "linux/s390x"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("multi is not built for linux/s390x (its platforms: linux/amd64, linux/arm64)"), "\(refused.stderr)")
        let malformed = try Bench.strata(common + ["build", "--platform", "arm64"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("a platform is os/arch[/variant]"), "\(malformed.stderr)")
    }
}
