import Foundation
import Testing
@testable import StrataFleet

@Suite struct GraphTests {
    static func fleet(_ images: [String: String], yaml extra: String = "", registry: String? = nil) throws -> (Fleet, TempTree) {
        var files: [String: String] = [:]
        var yaml = "registry: ghcr.io/acme\n" + extra + "images:\n"
        for (name, dockerfile) in images.sorted(by: { $0.key < $1.key }) {
            files["\(name)/Dockerfile"] = dockerfile
            yaml += "  \(name):\n    context: \(name)\n"
        }
        files["strata.yaml"] = yaml
        let tree = try TempTree(files)
        return (try Fleet.load(path: tree.path("strata.yaml"), registry: registry), tree)
    }

    @Test(arguments: [
        (["a": "FROM a\n"], "a -> a"),
        (["a": "FROM b\n", "b": "FROM a\n"], "a -> b -> a"),
        (["a": "FROM c\n", "b": "FROM a\n", "c": "FROM b\n"], "a -> c -> b -> a"),
    ])
    func cyclesPrintTheirWholePath(images: [String: String], cycle: String) throws {
        let (fleet, _) = try Self.fleet(images)
        let finding = try #require(fleet.findings.first { $0.rule == "cycle" })
        #expect(finding.message == "dependency cycle: \(cycle)")
        #expect(finding.file == "a/Dockerfile")
        #expect(finding.line == 1)
        #expect(fleet.waves.isEmpty)
    }

    @Test func parentsFromEveryKindOfReference() throws {
        let (fleet, _) = try Self.fleet([
            "base": "FROM strata-busybox:1\n",
            "utils": "ARG REGISTRY=ghcr.io/acme\nFROM ${REGISTRY}/base:3.11\n",
            "plain": "FROM base\n",
            "tagged": "FROM base:latest AS b\nFROM b\n",
            "multi": "FROM utils AS build\nRUN true\nFROM plain\nCOPY --from=build /x /x\nCOPY --from=tagged /y /y\n",
            "test-reg": "FROM 127.0.0.1:5000/base:1\n",
        ], registry: "127.0.0.1:5000")
        func parents(_ name: String) -> [String] { fleet.node(named: name)?.parentNames ?? ["<none>"] }
        #expect(parents("base") == [])
        #expect(fleet.node(named: "base")?.externalBases.map(\.reference) == ["strata-busybox:1"])
        #expect(parents("utils") == ["base"])
        #expect(parents("plain") == ["base"])
        #expect(parents("tagged") == ["base"])
        #expect(parents("multi") == ["utils", "plain", "tagged"])
        #expect(parents("test-reg") == ["base"])
        #expect(fleet.node(named: "multi")?.parents.map(\.kind) == [.from, .from, .copyFrom])
        let waves = Dictionary(uniqueKeysWithValues: zip(fleet.nodes.map(\.name), fleet.waves))
        #expect(waves == ["base": 0, "utils": 1, "plain": 1, "tagged": 1, "test-reg": 1, "multi": 2])
        #expect(fleet.findings.isEmpty)
    }

    @Test func addURLsWithoutAChecksumAreRemoteSourcesOfTheStagesTheBuildRuns() throws {
        let (fleet, _) = try Self.fleet([
            "svc": """
                ARG TOOL_URL=https://example.test/tool.tgz
                FROM strata-busybox:1 AS unused
                ADD https://example.test/unused.tgz /u/
                FROM strata-busybox:1
                ARG TOOL_URL
                ADD ${TOOL_URL} /opt/
                ADD --checksum=sha256:\(String(repeating: "0", count: 64)) https://example.test/pinned.tgz /p/
                ADD local.tgz https://example.test/second.tgz /opt/
                ADD git@github.com:acme/lib.git /lib/
                COPY https://example.test/not-fetched /c/

                """,
        ])
        let node = try #require(fleet.node(named: "svc"))
        #expect(node.remoteSources.map(\.reference)
            == ["https://example.test/tool.tgz", "https://example.test/second.tgz", "git@github.com:acme/lib.git"])
        #expect(node.remoteSources.map(\.location.line) == [6, 8, 9])
    }

    @Test func secretMountsOfTheStagesTheBuildRuns() throws {
        let (fleet, _) = try Self.fleet([
            "svc": """
                FROM strata-busybox:1 AS unused
                RUN --mount=type=secret,id=unused true
                FROM strata-busybox:1 AS build
                RUN --mount=type=secret,id=pip_token --mount=type=cache,target=/c true
                RUN --mount=type=secret,target=/run/secrets/hub_token,required=true true
                RUN --mount=type=secret,id=pip_token true
                FROM strata-busybox:1
                COPY --from=build /etc/passwd /p

                """,
        ])
        let node = try #require(fleet.node(named: "svc"))
        let dockerfile = try #require(fleet.dockerfiles[node.dockerfilePath])
        #expect(node.secretMounts(in: dockerfile) == [SecretMount(id: "pip_token", line: 4), SecretMount(id: "hub_token", line: 5)])
    }

    @Test func unusedStagesAreNoEdges() throws {
        let (fleet, _) = try Self.fleet([
            "base": "FROM scratch\n",
            "other": "FROM scratch\n",
            "svc": "FROM other AS unused\nFROM base AS runtime\nRUN true\n",
        ], yaml: "")
        #expect(fleet.node(named: "svc")?.parentNames == ["base"])
    }

    @Test func variantsDependOnTheSameVariant() throws {
        let tree = try TempTree([
            "strata.yaml": """
            variants:
              machine:
                mainpc: {args: {MACHINE: mainpc}}
                pc2: {args: {MACHINE: pc2}}
            images:
              base: {context: base}
              gpu: {context: gpu, variants: [machine]}
              svc: {context: svc, variants: [machine], tags: ["1"]}
              cpu: {context: cpu}
            """,
            "base/Dockerfile": "FROM scratch\n",
            "gpu/Dockerfile": "FROM base\n",
            "svc/Dockerfile": "FROM gpu\n",
            "cpu/Dockerfile": "FROM gpu\n",
        ])
        let fleet = try Fleet.load(path: tree.path("strata.yaml"))
        #expect(fleet.nodes.map(\.name) == ["base", "gpu@mainpc", "gpu@pc2", "svc@mainpc", "svc@pc2", "cpu"])
        #expect(fleet.node(named: "gpu@pc2")?.parentNames == ["base"])
        #expect(fleet.node(named: "svc@pc2")?.parentNames == ["gpu@pc2"])
        #expect(fleet.node(named: "svc@pc2")?.args == ["MACHINE": "pc2"])
        #expect(fleet.node(named: "svc@mainpc")?.tags == ["1-mainpc"])
        let mismatch = try #require(fleet.findings.first)
        #expect(mismatch.rule == "variant-mismatch")
        #expect(mismatch.file == "cpu/Dockerfile")
        #expect(mismatch.hint == "give 'cpu' variants: [machine]")
    }

    @Test func platformsMakeOneNodeEach() throws {
        let tree = try TempTree([
            "strata.yaml": "defaults: {platforms: [linux/amd64, linux/arm64]}\nimages:\n  a: {context: a}\n  b: {context: b}\n",
            "a/Dockerfile": "FROM scratch\n",
            "b/Dockerfile": "FROM a\n",
        ])
        let fleet = try Fleet.load(path: tree.path("strata.yaml"))
        #expect(fleet.nodes.map(\.name) == ["a/linux/amd64", "a/linux/arm64", "b/linux/amd64", "b/linux/arm64"])
        #expect(fleet.node(named: "b/linux/arm64")?.parentNames == ["a/linux/arm64"])
    }

    @Test func missingDockerfileSuggestsTheNearestPath() throws {
        let tree = try TempTree([
            "strata.yaml": "images:\n  svc:\n    context: services/model_ops\n    dockerfile: services/model_ops/Dockerfile.optimzed\n  web:\n    context: servces/web\n",
            "services/model_ops/Dockerfile.optimized": "FROM scratch\n",
            "services/web/Dockerfile": "FROM scratch\n",
        ])
        let fleet = try Fleet.load(path: tree.path("strata.yaml"))
        #expect(fleet.findings.map(\.rule) == ["missing-dockerfile", "missing-context"])
        #expect(fleet.findings[0].line == 4)
        #expect(fleet.findings[0].hint == "did you mean 'services/model_ops/Dockerfile.optimized'?")
        #expect(fleet.findings[1].line == 6)
        #expect(fleet.findings[1].hint == "did you mean 'services/web'?")
    }

    @Test func aDockerfileWhoseFolderMovedIsFoundByItsPath() throws {
        let tree = try TempTree([
            "docker-compose.yml": "services:\n  api:\n    build:\n      context: .\n      dockerfile: docker/api/Dockerfile\n",
            "dockerfiles/api/Dockerfile": "FROM scratch\n",
            "dockerfiles/web/Dockerfile": "FROM scratch\n",
            ".git/api/Dockerfile": "FROM scratch\n",
        ])
        let fleet = try Fleet.load(path: tree.path("docker-compose.yml"))
        #expect(fleet.findings.map(\.rule) == ["missing-dockerfile"])
        #expect(fleet.findings.first?.hint == "did you mean 'dockerfiles/api/Dockerfile'?")
    }

    @Test func theDemoFleetIsSoundAndClean() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("images/strata.yaml").path
        let fleet = try Fleet.load(path: path)
        #expect(fleet.findings.isEmpty)
        #expect(Checker.check(fleet).isEmpty, "\(Checker.check(fleet))")
        #expect(fleet.node(named: "base-utils")?.parentNames == ["base-python"])
        #expect(fleet.node(named: "family-llm@pc2")?.parentNames == ["family-torch@pc2"])
        #expect(fleet.node(named: "model-ops@mainpc")?.parentNames == ["family-llm@mainpc"])
        #expect(fleet.node(named: "web-api")?.parentNames == ["family-web"])
        #expect((fleet.waves.max() ?? 0) == 5)
    }
}
