import Foundation
import Testing

/// `build --secret`: BuildKit reads the value over strata's session; the value is nowhere
/// strata writes (stdout, stderr, the cache directory) nor in the image's history, and a
/// secret the Dockerfile mounts but nobody gives fails the node, naming it.
@Suite(.serialized) struct SecretsIntegrationTests {
    @Test func aSecretReachesTheBuildAndNothingElse() throws {
        try Bench.requireEngine()
        let value = "s3cret-" + UUID().uuidString
        let root = try Bench.fleet("secrets", [
            "strata.yaml": "images:\n  app: {context: app, network: host}\n",
            "app/Dockerfile": """
                FROM strata-busybox:1
                RUN --mount=type=secret,id=token,required=true sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha256

                """,
            "token.txt": value,
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = Bench.scratchRegistry("secrets")
        defer { Bench.removeImages(under: registry) }
        let common = ["-C", root, "--cache", root + "/.cache", "--registry", registry]

        let missing = try Bench.strata(common + ["build", "--progress", "plain"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("app/Dockerfile:2 mounts the secret 'token', which this build does not give: "
            + "pass --secret id=token,src=FILE (or ,env=VAR)"), "\(missing.stderr)")

        // --no-cache: BuildKit's own cache keys a RUN step without its secrets' values (as with
        // docker build), and an earlier run of this test built the same step with another value.
        let built = try Bench.strata(common + ["build", "--progress", "plain", "--no-cache", "--secret", "id=token,src=\(root)/token.txt"])
        try #require(built.status == 0, "\(built.stderr)")
        let digest = try Bench.docker(["run", "--rm", "\(registry)/app:latest", "cat", "/token.sha256"])
        let expected = try Bench.run("/bin/sh", ["-c", "printf %s \"$0\" | sha256sum | cut -d' ' -f1", value])
        #expect(digest.stdout == expected.stdout && !digest.stdout.isEmpty, "\(digest.stderr)")

        // The same secret from the environment: the value is not keyed, so the image is a hit.
        let again = try Bench.run(Bench.strata, common + ["build", "--progress", "plain", "--format", "json", "--secret", "id=token,env=TOKEN"],
                                  environment: ["TOKEN": value])
        #expect(try Bench.statuses(again.stdout)["app"] == "cached", "\(again.stderr)")

        let history = try Bench.docker(["history", "--no-trunc", "\(registry)/app:latest"])
        let cacheFiles = try Bench.run("/bin/grep", ["-r", "-l", value, root + "/.cache"])
        for (name, text) in [("build stdout", built.stdout), ("build stderr", built.stderr), ("second build", again.stdout + again.stderr),
                             ("docker history", history.stdout), ("cache directory", cacheFiles.stdout)] {
            #expect(!text.contains(value), "the secret's value is in the \(name)")
        }
        #expect(cacheFiles.status == 1, "grep found the value in \(cacheFiles.stdout)")
    }
}
