import Foundation
import Testing

/// The text people read: help output and the one-line errors, compared byte for byte. A
/// change here is a change to the user-facing contract: update the snapshot on purpose.
@Suite struct SnapshotTests {
    @Test func rootHelp() throws {
        let result = try StrataBinary.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout == """
            OVERVIEW: Build fleets of container images: only what changed, in dependency
            order.

            USAGE: strata <subcommand>

            OPTIONS:
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              check                   Find problems in the fleet before any build: cycles,
                                      missing files, undefined ARGs, …
              graph                   Print the image graph: nodes, their parents, and the
                                      waves they build in.
              plan                    Show which nodes would build and why: every node's
                                      key, hit or miss.
              context                 Show what a node's build would send of its context,
                                      and what was left out.
              build                   Build the nodes whose keys changed, parents first, in
                                      parallel.
              push                    Push built nodes to the registry: every tag, and
                                      strata-<key> for the remote cache.
              tag                     Copy a manifest to another tag or repository, without
                                      pulling: blobs are mounted, or streamed across
                                      registries.
              promote                 Copy every node's --from-tag to --to-tag in the
                                      registry (all or nothing).
              matrix                  Print the build waves as GitHub Actions matrices,
                                      parents' waves first.
              ci                      Print a CI workflow that builds the fleet wave by
                                      wave.
              cache                   List, verify and clean the cache directory.
              version                 Print strata's version and the C libraries it uses.

              See 'strata help <subcommand>' for detailed help.

            """)
    }

    @Test func checkHelp() throws {
        let result = try StrataBinary.run(["check", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout == """
            OVERVIEW: Find problems in the fleet before any build: cycles, missing files,
            undefined ARGs, …

            Exit status: 0 when there is no error (nor warning with --strict), 1 otherwise,
            2 when the manifest cannot be read.

            USAGE: strata check [--file <file>] [-C <C>] [--registry <registry>] [--cache <cache>] [--insecure-registry <insecure-registry> ...] [--format <format>] [--strict]

            OPTIONS:
              -f, --file <file>       The manifest (strata.yaml or docker-compose.yml).
              -C <C>                  Run as if strata was started in this folder.
              --registry <registry>   Repository prefix for pushes (overrides the manifest;
                                      env STRATA_REGISTRY).
              --cache <cache>         Cache directory (overrides the manifest; env
                                      STRATA_CACHE).
              --insecure-registry <insecure-registry>
                                      A registry host that may be reached over plain HTTP
                                      (repeatable; loopback hosts always may).
              --format <format>       Output format. (values: text, json, github, sarif)
              --strict                Fail on warnings too.
              --version               Show the version.
              -h, --help              Show help information.


            """)
    }

    @Test func missingManifest() throws {
        let folder = try TemporaryFolder()
        let result = try StrataBinary.run(["plan"], in: folder.path)
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr == "strata: \(folder.path): no manifest found (expected one of strata.yaml, strata.yml, docker-compose.yml, docker-compose.yaml, compose.yaml, compose.yml; use -f FILE)\n")
    }

    @Test func missingManifestGivenWithDashF() throws {
        let folder = try TemporaryFolder()
        let result = try StrataBinary.run(["-f", "fleet.yaml", "check"], in: folder.path)
        #expect(result.status == 2)
        #expect(result.stderr == "strata: fleet.yaml: cannot read the file (no such file)\n")
    }

    static func demoFleet() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("images").path
        try FileManager.default.removeItem(atPath: folder.path)
        try FileManager.default.copyItem(atPath: images, toPath: folder.path)
        return folder
    }

    @Test(arguments: [
        (["plan", "nosuch"], "strata: no image or node named 'nosuch'\n"),
        (["plan", "web-apj"], "strata: no image or node named 'web-apj'; did you mean 'web-api'?\n"),
        (["context", "base-pyton"], "strata: no image or node named 'base-pyton'; did you mean 'base-python'?\n"),
    ])
    func unknownNode(arguments: [String], expected: String) throws {
        let fleet = try Self.demoFleet()
        let cache = try TemporaryFolder()
        let result = try StrataBinary.run(["-C", fleet.path, "--cache", cache.path] + arguments)
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr == expected)
    }

    @Test func cycleInGraph() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", "images:\n  a:\n    context: a\n  b:\n    context: b\n  c:\n    context: c\n")
        try folder.write("a/Dockerfile", "FROM c\n")
        try folder.write("b/Dockerfile", "FROM a\n")
        try folder.write("c/Dockerfile", "FROM b\n")
        let result = try StrataBinary.run(["graph"], in: folder.path)
        #expect(result.status == 2)
        #expect(result.stdout == "")
        #expect(result.stderr == """
            strata: a/Dockerfile:1: error: dependency cycle: a -> c -> b -> a [cycle] (an image cannot be built on itself or on its own descendants)
            strata: 1 error in the fleet; `strata check` lists every finding

            """)
    }
}
