import Foundation
import Testing

/// The context strata sends is the one docker's own client sends: built with `COPY . /ctx`
/// by both, the images hold the same files.
@Suite(.serialized) struct ContextIntegrationTests {
    /// Over a session (the default) and as a tar body (`--tar-context`).
    @Test(arguments: [false, true]) func copyDotHoldsExactlyWhatDockersClientSends(tarContext: Bool) throws {
        try Bench.requireEngine()
        let files = [
            "strata.yaml": "images:\n  ctx: {context: ctx, network: host}\n",
            "ctx/Dockerfile": "FROM strata-busybox:1\nCOPY . /ctx\nRUN cd /ctx && find . | sort > /list\n",
            "ctx/.dockerignore": "# build outputs\n*.log\n!keep.log\nnode_modules\n**/*.tmp\ndocs/drafts\n",
            "ctx/a.txt": "a\n", "ctx/keep.log": "kept\n", "ctx/drop.log": "dropped\n",
            "ctx/node_modules/x/y.js": "y\n", "ctx/src/main.py": "print(1)\n", "ctx/src/cache.tmp": "tmp\n",
            "ctx/src/deep/more.tmp": "tmp\n", "ctx/docs/index.md": "# docs\n", "ctx/docs/drafts/wip.md": "wip\n",
        ]
        let root = try Bench.fleet("ctx", files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/ctx/empty", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/ctx/link", withDestinationPath: "a.txt")

        let tag = "strata-ctx-test-" + UUID().uuidString.prefix(8).lowercased()
        let registry = Bench.scratchRegistry("ctx")
        defer { Bench.removeImages(under: registry) }
        let built = try Bench.strata(["-C", root, "--cache", root + "/.cache", "--registry", registry, "build",
                                      "--progress", "plain", "--no-cache"] + (tarContext ? ["--tar-context"] : []))
        #expect(built.status == 0, "\(built.stderr)")
        let docker = try Bench.run(Bench.dockerCLI, ["build", "--quiet", "--no-cache", "--network", "host", "-t", "\(tag):1", root + "/ctx"],
                                   environment: ["DOCKER_BUILDKIT": "1"])
        #expect(docker.status == 0, "\(docker.stderr)")
        defer { _ = try? Bench.docker(["rmi", "\(tag):1"]) }

        let ours = try Bench.docker(["run", "--rm", "\(registry)/ctx:latest", "cat", "/list"])
        let theirs = try Bench.docker(["run", "--rm", "\(tag):1", "cat", "/list"])
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.stdout == theirs.stdout)
        #expect(ours.stdout.contains("./keep.log") && !ours.stdout.contains("drop.log") && ours.stdout.contains("./empty"))
    }
}
