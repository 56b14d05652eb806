import Foundation
import Testing

/// `strata build` of the demo fleet against the real engine (BuildKit).
@Suite(.serialized) struct BuildIntegrationTests {
    @Test func theDemoFleetBuildsThenRebuildsExactlyWhatChanged() throws {
        try Bench.requireEngine()
        let fleet = try Bench.demoFleetCopy()
        defer { try? FileManager.default.removeItem(atPath: fleet) }
        let registry = Bench.scratchRegistry("build")
        defer { Bench.removeImages(under: registry) }
        let cache = fleet + "/.it-cache"
        let build = ["-C", fleet, "--cache", cache, "--registry", registry, "build", "--progress", "plain", "--format", "json"]

        let cold = try Bench.strata(build)
        #expect(cold.status == 0, "\(cold.stderr)")
        let coldStatuses = try Bench.statuses(cold.stdout)
        #expect(coldStatuses.count == 18)
        #expect(coldStatuses.values.allSatisfy { $0 == "built" })

        let again = try Bench.strata(build)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Bench.statuses(again.stdout).values.allSatisfy { $0 == "cached" })

        // One service file: that node alone.
        try Data("def hello(): return 'changed'\n".utf8).write(to: URL(fileURLWithPath: fleet + "/services/web/web-api/app/main.py"))
        let oneFile = try Bench.statuses(try Bench.strata(build).stdout)
        #expect(oneFile.filter { $0.value == "built" }.keys.sorted() == ["web-api"])

        // A base: the whole branch below it, nothing else.
        try Data("print('sitecustomize v2')\n".utf8).write(to: URL(fileURLWithPath: fleet + "/base/base-python/sitecustomize.py"))
        let base = try Bench.statuses(try Bench.strata(build).stdout)
        #expect(base.values.allSatisfy { $0 == "built" }, "base-python is below everything: \(base)")
        try Data("FROM base-utils\nARG MACHINE\nARG TORCH_CUDA_ARCH_LIST\nRUN echo \"gpu2 machine=${MACHINE} cuda=${TORCH_CUDA_ARCH_LIST}\" > /etc/strata-gpu\n".utf8)
            .write(to: URL(fileURLWithPath: fleet + "/base/base-gpu/Dockerfile"))
        let gpuRun = try Bench.strata(build)
        let gpu = try Bench.statuses(gpuRun.stdout)
        #expect(gpu.filter { $0.value == "built" }.keys.sorted() == [
            "base-gpu@mainpc", "base-gpu@pc2", "chat@mainpc", "chat@pc2", "embedder@mainpc", "embedder@pc2",
            "family-llm@mainpc", "family-llm@pc2", "family-torch@mainpc", "family-torch@pc2",
            "model-ops@mainpc", "model-ops@pc2",
        ])

        // The service runs, built on the base this run built (not a stale copy).
        let embedderKey = try #require(try Bench.keys(gpuRun.stdout)["embedder@pc2"])
        let run = try Bench.docker(["run", "--rm", "--network", "host", "\(registry)/embedder:strata-\(embedderKey)",
                                    "sh", "-c", "cat /srv/MACHINE /etc/strata-gpu /opt/python/lib/sitecustomize.py"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "embedder for pc2\ngpu2 machine=pc2 cuda=8.6\nprint('sitecustomize v2')\n")
    }

    @Test func aFailingStepFailsItsNodeSkipsItsDescendantsAndBuildsTheRest() throws {
        try Bench.requireEngine()
        let fleet = try Bench.demoFleetCopy()
        defer { try? FileManager.default.removeItem(atPath: fleet) }
        let registry = Bench.scratchRegistry("failing")
        defer { Bench.removeImages(under: registry) }
        try Data("FROM family-torch\nRUN echo 'about to fail' && echo 'really failing' >&2 && exit 3\n".utf8)
            .write(to: URL(fileURLWithPath: fleet + "/families/llm/Dockerfile"))
        let result = try Bench.strata(["-C", fleet, "--cache", fleet + "/.it-cache", "--registry", registry, "build",
                                       "--progress", "plain", "--format", "json"])
        #expect(result.status == 1)
        let statuses = try Bench.statuses(result.stdout)
        #expect(statuses["family-llm@mainpc"] == "failed")
        #expect(statuses["chat@pc2"] == "skipped")
        #expect(statuses["model-ops@mainpc"] == "skipped")
        #expect(statuses["embedder@pc2"] == "built")
        #expect(statuses["web-api"] == "built")
        #expect(result.stderr.contains("✗ family-llm@mainpc failed"))
        #expect(result.stderr.contains("| really failing"))
    }
}
