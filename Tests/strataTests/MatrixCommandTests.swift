import Foundation
import StrataCache
import StrataEngine
import StrataFleet
import StrataImages
import StrataPlan
import Testing
@testable import strata

/// `strata matrix` on the demo fleet (`images/strata.yaml`: 18 nodes in 6 waves).
@Suite struct MatrixCommandTests {
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let images = package + "/images"

    static let demoWaves: [[String]] = [
        ["base-python"],
        ["base-utils"],
        ["base-cpu-pydeps", "base-gpu@mainpc", "base-gpu@pc2"],
        ["family-web", "family-torch@mainpc", "family-torch@pc2"],
        ["family-llm@mainpc", "family-llm@pc2", "docs-site", "embedder@mainpc", "embedder@pc2", "web-api"],
        ["model-ops@mainpc", "model-ops@pc2", "chat@mainpc", "chat@pc2"],
    ]

    struct Document: Decodable {
        struct Entry: Decodable, Equatable {
            var node: String
            var image: String
            var variant: String?
            var platform: String?
        }
        struct Wave: Decodable { var include: [Entry] }
        var count: Int
        var waves: [Wave]
        var names: [[String]] { waves.map { $0.include.map(\.node) } }
    }

    static func matrix(_ arguments: [String], environment: [String: String] = [:]) throws -> (StrataBinary.Result, Document?) {
        let result = try StrataBinary.run(["-C", images] + arguments, environment: environment)
        let document = try? JSONDecoder().decode(Document.self, from: Data(result.stdout.utf8))
        return (result, document)
    }

    @Test func wavesOfTheDemoFleet() throws {
        let (result, document) = try Self.matrix(["matrix"])
        #expect(result.status == 0, "\(result.stderr)")
        let matrix = try #require(document)
        #expect(matrix.count == 18)
        #expect(matrix.names == Self.demoWaves)
        #expect(matrix.waves[2].include.last == .init(node: "base-gpu@pc2", image: "base-gpu", variant: "pc2", platform: nil))
        #expect(matrix.waves[5].include.first == .init(node: "model-ops@mainpc", image: "model-ops", variant: "mainpc", platform: nil))
        // Sorted keys, one line: the bytes `plan --format json` users expect.
        #expect(result.stdout.hasPrefix(#"{"count":18,"waves":[{"include":[{"image":"base-python","node":"base-python","platform":null,"variant":null}]}"#))
        #expect(result.stdout.filter { $0 == "\n" }.count == 1)
    }

    @Test func selectedNodesBringTheirAncestors() throws {
        let (result, document) = try Self.matrix(["matrix", "chat@pc2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(document?.names == [["base-python"], ["base-utils"], ["base-gpu@pc2"], ["family-torch@pc2"],
                                    ["family-llm@pc2"], ["chat@pc2"]])
        let (unknown, _) = try Self.matrix(["matrix", "chatt"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no image or node named 'chatt'"))
    }

    /// Records the keys of the first three waves and of family-torch@mainpc: `--changed` keeps
    /// the other nodes, in waves renumbered from 0.
    static let recorded = Set(demoWaves[0...2].joined()).union(["family-torch@mainpc"])

    /// A cache in `folder` with the keys of `recorded` recorded, keyed as strata keys them
    /// here: for the engine's platform (else this machine's), each external base as the
    /// engine (else its registry) resolves it.
    static func cacheRecording(in folder: TemporaryFolder) async throws -> CacheDirectory {
        let cache = try CacheDirectory(path: folder.path + "/cache")
        let fleet = try Fleet.load(path: Self.images + "/strata.yaml")
        let engine = try? await Engine.connect()
        let references = fleet.nodes.flatMap(\.externalBases).map(\.reference)
        let bases = await BaseResolution(engine: engine, access: RegistryAccess()).resolve(references, refresh: false)
        let entries = try Planner(fleet: fleet, cache: cache, defaultPlatform: engine?.platform ?? BuildPlatform.host.description,
                                  bases: bases.mapValues(\.keyed))
            .plan(Array(fleet.nodes.indices))
        for entry in entries where recorded.contains(entry.node.name) {
            try cache.record(KeyRecord(key: entry.key.key, node: entry.node.name, image: entry.node.image,
                                       variant: entry.node.variant, created: Date(timeIntervalSince1970: 1_700_000_000),
                                       inputs: entry.key.inputs))
        }
        return cache
    }

    @Test func changedKeepsTheMissesInContiguousWaves() async throws {
        let folder = try TemporaryFolder()
        let cache = try await Self.cacheRecording(in: folder)
        let recorded = Self.recorded

        let (result, document) = try Self.matrix(["--cache", cache.path, "matrix", "--changed"])
        #expect(result.status == 0, "\(result.stderr)")
        let matrix = try #require(document)
        #expect(matrix.count == 18 - recorded.count)
        #expect(matrix.names == [
            ["family-web", "family-torch@pc2"],
            ["family-llm@mainpc", "family-llm@pc2", "docs-site", "embedder@mainpc", "embedder@pc2", "web-api"],
            ["model-ops@mainpc", "model-ops@pc2", "chat@mainpc", "chat@pc2"],
        ])

        let (selected, selectedDocument) = try Self.matrix(["--cache", cache.path, "matrix", "--changed", "embedder@mainpc"])
        #expect(selected.status == 0, "\(selected.stderr)")
        #expect(selectedDocument?.names == [["embedder@mainpc"]])
        #expect(selectedDocument?.count == 1)
    }

    @Test func githubOutputFile() throws {
        let folder = try TemporaryFolder()
        let outputPath = folder.path + "/github_output"
        try "earlier=kept\n".write(toFile: outputPath, atomically: true, encoding: .utf8)
        let (result, _) = try Self.matrix(["matrix", "--format", "github", "base-gpu@mainpc"],
                                          environment: ["GITHUB_OUTPUT": outputPath])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("wave2: base-gpu@mainpc"))
        let written = try String(contentsOfFile: outputPath, encoding: .utf8)
        #expect(written == """
            earlier=kept
            count=3
            waves=3
            wave0={"include":[{"image":"base-python","node":"base-python","platform":null,"variant":null}]}
            has_wave0=true
            wave1={"include":[{"image":"base-utils","node":"base-utils","platform":null,"variant":null}]}
            has_wave1=true
            wave2={"include":[{"image":"base-gpu","node":"base-gpu@mainpc","platform":null,"variant":"mainpc"}]}
            has_wave2=true
            wave3={"include":[]}
            has_wave3=false
            wave4={"include":[]}
            has_wave4=false
            wave5={"include":[]}
            has_wave5=false

            """)
    }

    /// The GitHub output keeps the fleet's wave numbers: wave job i of the workflow builds the
    /// changed nodes of wave i, and the waves with none are skipped.
    @Test func githubOutputKeepsTheFleetsWaveNumbers() async throws {
        let folder = try TemporaryFolder()
        let cache = try await Self.cacheRecording(in: folder)
        let outputPath = folder.path + "/github_output"
        let (result, _) = try Self.matrix(["--cache", cache.path, "matrix", "--changed", "--format", "github"],
                                          environment: ["GITHUB_OUTPUT": outputPath])
        #expect(result.status == 0, "\(result.stderr)")
        let outputs = try Self.outputs(outputPath)
        #expect(outputs["count"] == "\(18 - Self.recorded.count)")
        #expect(outputs["waves"] == "3")
        for wave in 0...2 {
            #expect(outputs["wave\(wave)"] == #"{"include":[]}"#)
            #expect(outputs["has_wave\(wave)"] == "false")
        }
        #expect(try Self.nodes(outputs["wave3"]) == ["family-web", "family-torch@pc2"])
        #expect(try Self.nodes(outputs["wave5"]) == Self.demoWaves[5])
        #expect(outputs["has_wave5"] == "true")
        #expect(result.stderr.contains("wave3: family-web family-torch@pc2\n"))
        #expect(!result.stderr.contains("wave0:"))
    }

    /// A wave of 300 nodes is more than a GitHub matrix runs (256): the GitHub output splits it
    /// into wave1_0 (256 nodes) and wave1_1 (44), and says so; the JSON keeps it whole and warns.
    @Test func aWaveLargerThanAMatrixIsSplit() throws {
        let folder = try TemporaryFolder()
        try WorkflowFleets.writeLargeWave(in: folder, services: 300)
        let fleet = folder.path + "/fleet"
        let outputPath = folder.path + "/github_output"
        let github = try StrataBinary.run(["-C", fleet, "matrix", "--format", "github"], environment: ["GITHUB_OUTPUT": outputPath])
        #expect(github.status == 0, "\(github.stderr)")
        let outputs = try Self.outputs(outputPath)
        #expect(outputs.keys.sorted() == ["count", "has_wave0", "has_wave1_0", "has_wave1_1", "wave0", "wave1_0", "wave1_1", "waves"])
        #expect(outputs["count"] == "301")
        #expect(try Self.nodes(outputs["wave0"]) == ["base"])
        let first = try Self.nodes(outputs["wave1_0"]), second = try Self.nodes(outputs["wave1_1"])
        #expect(first.count == 256 && second.count == 44)
        #expect(first.first == "svc000" && first.last == "svc255" && second.first == "svc256" && second.last == "svc299")
        #expect(outputs["has_wave1_1"] == "true")
        #expect(github.stderr.contains("wave1 has more nodes than the 256 jobs a GitHub matrix runs: split into wave1_0, wave1_1\n"))

        // One node of the large wave: its part's job builds it, the other part's is skipped.
        try "".write(toFile: outputPath, atomically: true, encoding: .utf8)
        let one = try StrataBinary.run(["-C", fleet, "matrix", "--format", "github", "svc042"], environment: ["GITHUB_OUTPUT": outputPath])
        #expect(one.status == 0, "\(one.stderr)")
        let oneOutputs = try Self.outputs(outputPath)
        #expect(try Self.nodes(oneOutputs["wave1_0"]) == ["svc042"])
        #expect(oneOutputs["has_wave1_1"] == "false")

        let json = try StrataBinary.run(["-C", fleet, "matrix"])
        #expect(json.status == 0, "\(json.stderr)")
        let document = try JSONDecoder().decode(Document.self, from: Data(json.stdout.utf8))
        #expect(document.waves.map(\.include.count) == [1, 300])
        #expect(json.stderr.contains("wave 1 has 300 nodes, more than the 256 jobs a GitHub matrix runs"))
    }

    /// `name=value` lines of a `$GITHUB_OUTPUT` file.
    static func outputs(_ path: String) throws -> [String: String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var outputs: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            outputs[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
        }
        return outputs
    }

    static func nodes(_ matrix: String?) throws -> [String] {
        let wave = try JSONDecoder().decode(Document.Wave.self, from: Data(try #require(matrix).utf8))
        return wave.include.map(\.node)
    }

    @Test func githubFormatNeedsTheOutputFile() throws {
        let (result, _) = try Self.matrix(["matrix", "--format", "github"], environment: ["GITHUB_OUTPUT": ""])
        #expect(result.status == 2)
        #expect(result.stderr.contains("$GITHUB_OUTPUT, which is not set"))
    }

    @Test func multilineValuesUseADelimiter() {
        #expect(GitHubFile.outputLine(name: "count", value: "3") == "count=3\n")
        let text = GitHubFile.outputLine(name: "notes", value: "one\ntwo")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("notes<<ghadelimiter_"))
        #expect(lines[1] == "one" && lines[2] == "two")
        #expect(lines[3] == lines[0].dropFirst("notes<<".count))
        #expect(lines[4].isEmpty)
    }

    @Test func platformsAndVariantsAreMatrixFields() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", """
            variants:
              machine:
                a: {}
                b: {}
            images:
              base:
                context: base
                platforms: [linux/amd64, linux/arm64]
              app:
                context: app
                variants: [machine]
                platforms: [linux/amd64, linux/arm64]
            """)
        try folder.write("base/Dockerfile", "FROM scratch\n")
        try folder.write("app/Dockerfile", "FROM base\n")
        let result = try StrataBinary.run(["-C", folder.path, "matrix"])
        #expect(result.status == 0, "\(result.stderr)")
        let matrix = try #require(try? JSONDecoder().decode(Document.self, from: Data(result.stdout.utf8)))
        #expect(matrix.count == 6)
        #expect(matrix.waves.map(\.include) == [
            [.init(node: "base/linux/amd64", image: "base", variant: nil, platform: "linux/amd64"),
             .init(node: "base/linux/arm64", image: "base", variant: nil, platform: "linux/arm64")],
            [.init(node: "app@a/linux/amd64", image: "app", variant: "a", platform: "linux/amd64"),
             .init(node: "app@a/linux/arm64", image: "app", variant: "a", platform: "linux/arm64"),
             .init(node: "app@b/linux/amd64", image: "app", variant: "b", platform: "linux/amd64"),
             .init(node: "app@b/linux/arm64", image: "app", variant: "b", platform: "linux/arm64")],
        ])
    }

    @Test func help() throws {
        let result = try StrataBinary.run(["matrix", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("""
            OVERVIEW: Print the build waves as GitHub Actions matrices, parents' waves
            first.

            Each wave is a matrix {"include":[{"node","image","variant","platform"}]} whose
            nodes can build in parallel once the waves before it are done. --format github
            appends count, waves, wave<i> and has_wave<i> (for every wave of the fleet,
            numbered as in the fleet) to the file named by $GITHUB_OUTPUT; a wave of the
            fleet with more than 256 nodes, more than a GitHub matrix runs, gets
            wave<i>_<p> and has_wave<i>_<p> for each part of at most 256 instead.

            USAGE: strata matrix [--file <file>] [-C <C>] [--registry <registry>] [--cache <cache>] [--insecure-registry <insecure-registry> ...] [<nodes> ...] [--changed] [--remote-cache] [--format <format>]
            """))
    }
}
