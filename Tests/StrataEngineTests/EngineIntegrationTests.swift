import Foundation
import StrataArchive
import StrataHTTP
@testable import StrataEngine
import Testing

/// Against the bench's real engine (docker.io 20.10, API 1.41, or Docker 28.4, API 1.51, with
/// either image store: `scripts/test` runs these on all three; no bridge: RUN needs
/// `networkmode=host`). Serialized: two cores, and the cancellation test times itself.
@Suite(.serialized) struct EngineIntegrationTests {
    @Test func connectsAndPings() async throws {
        let engine = try await Bench.engine()
        try await engine.ping()
        #expect(APIVersion(engine.apiVersion)! >= APIVersion(Engine.minimumAPIVersion)!)
        #expect(APIVersion(engine.apiVersion)! <= APIVersion(Engine.maximumAPIVersion)!)
    }

    @Test func buildsInspectsTagsAndRemoves() async throws {
        let engine = try await Bench.engine()
        let reference = Bench.reference("1")
        let log = EventLog()
        let context = contextBody([
            "Dockerfile": "FROM \(Bench.base)\nRUN echo hi > /hi && echo said hi\nCOPY a.txt /a.txt\n",
            "a.txt": "a\n",
        ])
        let result = try await engine.build(
            context: context,
            options: BuildOptions(tags: [reference], dockerfile: "Dockerfile", labels: ["dev.strata.test": "engine"],
                                  networkMode: "host", noCache: true),
            events: log.record)
        #expect(result.imageID.hasPrefix("sha256:") && result.imageID.count == 71)

        let steps = log.steps
        let run = try #require(steps.last { $0.name.contains("RUN echo hi > /hi") })
        #expect(run.started && run.completed && !run.cached && run.error == nil)
        #expect(run.name.hasPrefix("[2/3] "))
        #expect(log.lines(of: run.id).contains("said hi"))
        #expect(steps.contains { $0.name.hasPrefix("[3/3] COPY a.txt /a.txt") && $0.completed })

        let image = try #require(try await engine.inspectImage(result.imageID))
        #expect(image.id == result.imageID)
        #expect(image.repoTags.contains(reference))
        #expect(image.labels["dev.strata.test"] == "engine")
        #expect(image.size > 0)

        let other = Bench.reference("extra")
        try await engine.tagImage(result.imageID, as: other)
        #expect(try await engine.inspectImage(other)?.id == result.imageID)

        try await engine.removeImage(other)
        try await engine.removeImage(reference)
        #expect(try await engine.inspectImage(reference) == nil)
        #expect(try await engine.inspectImage(result.imageID) == nil)
        // Missing is not an error.
        try await engine.removeImage(reference)
    }

    @Test func buildsWithTheContextServedOverASession() async throws {
        let engine = try await Bench.engine()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("session-build-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("run.sh").path
        try Data("#!/bin/sh\necho ran\n".utf8).write(to: URL(fileURLWithPath: script))
        let big = directory.appendingPathComponent("big.bin").path
        // Past the 64 KiB windows: the transfer needs the engine's WINDOW_UPDATEs.
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: big))
        let dockerfile = """
            FROM \(Bench.base)
            COPY app /app
            COPY bin/run.sh /run.sh
            COPY link /link
            COPY data/big.bin /big.bin
            RUN cat /app/a.txt /link && stat -c %a /run.sh && /run.sh && wc -c < /big.bin && test ! -e /app/unused

            """
        let files = [
            SessionFile(path: "app", kind: .directory, mode: 0o755, mtime: 0),
            SessionFile(path: "app/a.txt", kind: .file, mode: 0o644, size: 10, mtime: 0, contents: .bytes(Array("a content\n".utf8))),
            SessionFile(path: "bin/run.sh", kind: .file, mode: 0o755, size: 20, mtime: 0, contents: .path(script)),
            SessionFile(path: "data/big.bin", kind: .file, mode: 0o644, size: 300_000, mtime: 0, contents: .path(big)),
            SessionFile(path: "link", kind: .symlink, mode: 0o777, size: 9, mtime: 0, linkTarget: "app/a.txt"),
        ]
        let requests = RequestLog()
        let context = sessionContext(files, dockerfile: dockerfile, log: requests)
        let reference = Bench.reference("session")
        let log = EventLog()
        let result = try await engine.build(
            context: .session(context),
            options: BuildOptions(tags: [reference], dockerfile: "ignored: the session names its own", networkMode: "host",
                                  noCache: true),
            events: log.record)
        defer { Task { try? await engine.removeImage(reference) } }
        let run = try #require(log.steps.last { $0.name.contains("RUN cat /app/a.txt") })
        #expect(log.lines(of: run.id) == ["a content", "a content", "755", "ran", "300000"])
        #expect(try await engine.inspectImage(result.imageID)?.repoTags.contains(reference) == true)
        // BuildKit asked for both directories (the Dockerfile, then the context).
        #expect(Set(requests.all.map(\.name)) == ["dockerfile", "context"])
        #expect(requests.all.first { $0.name == "dockerfile" }?.followPaths.contains("Dockerfile") == true)
    }

    @Test func aContextFileThatCannotBeReadFailsTheSessionBuildWithItsPath() async throws {
        let engine = try await Bench.engine()
        let missing = "/nonexistent/strata-\(UUID().uuidString)/a.txt"
        let context = sessionContext(
            [SessionFile(path: "a.txt", kind: .file, mode: 0o644, size: 1, mtime: 0, contents: .path(missing))],
            dockerfile: "FROM \(Bench.base)\nCOPY a.txt /a.txt\n")
        await #expect {
            try await engine.build(context: .session(context),
                                   options: BuildOptions(tags: [Bench.reference("unreadable")], dockerfile: "Dockerfile",
                                                         noCache: true),
                                   events: { _ in })
        } throws: { error in
            "\(error)".contains(missing)
        }
    }

    @Test func aFailingRunIsABuildFailureWithTheStepAndItsOutput() async throws {
        let engine = try await Bench.engine()
        let log = EventLog()
        let context = contextBody(["Dockerfile": "FROM \(Bench.base)\nRUN echo about to fail && exit 3\n"])
        await #expect {
            try await engine.build(context: context,
                                   options: BuildOptions(tags: [Bench.reference("failed")], dockerfile: "Dockerfile",
                                                         networkMode: "host", noCache: true),
                                   events: log.record)
        } throws: { error in
            guard let failure = error as? BuildFailure else { return false }
            return failure.step == "[2/2] RUN echo about to fail && exit 3"
                && failure.message.contains("exit code: 3")
                && failure.logs == ["about to fail"]
        }
        #expect(log.steps.contains { $0.name.contains("RUN echo about to fail && exit 3") && $0.error != nil })
    }

    @Test(arguments: [false, true]) func cancellingTheTaskAbortsTheBuildPromptly(session: Bool) async throws {
        let engine = try await Bench.engine()
        let files = ["Dockerfile": "FROM \(Bench.base)\nRUN sleep 30\n"]
        let context = session ? sessionContext(files) : contextBody(files)
        let log = EventLog()
        let build = Task {
            try await engine.build(context: context,
                                   options: BuildOptions(tags: [Bench.reference("cancelled")], dockerfile: "Dockerfile",
                                                         networkMode: "host", noCache: true),
                                   events: log.record)
        }
        // Cancel once the silent step runs: the request then waits on the engine, not on us.
        let deadline = ContinuousClock.now + .seconds(20)
        while !log.steps.contains(where: { $0.name.contains("RUN sleep 30") && $0.started }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(1))
        #expect(log.steps.contains { $0.name.contains("RUN sleep 30") && $0.started && !$0.completed })
        let clock = ContinuousClock()
        let start = clock.now
        build.cancel()
        let outcome = await build.result
        let elapsed = clock.now - start
        #expect(elapsed < .seconds(20), "the build went on for \(elapsed) after cancellation (the step sleeps 30 s)")
        #expect(throws: CancellationError.self) { try outcome.get() }
    }

    @Test func savesRemovesAndLoadsAgain() async throws {
        let engine = try await Bench.engine()
        let reference = Bench.reference("saved")
        try await engine.tagImage(Bench.base, as: reference)
        let directory = try TemporaryDirectory()
        let archive = "\(directory.path)/images.tar"
        try await engine.saveImages([reference], to: archive)
        // Docker 20.10 writes the legacy layout; Docker 25 and later an OCI layout with index.json.
        let reader = try TarReader(path: archive)
        var names: [String] = []
        while let entry = try reader.next() { names.append(entry.path) }
        #expect(names.contains("manifest.json"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["images.tar"])

        try await engine.removeImage(reference)
        #expect(try await engine.inspectImage(reference) == nil)
        #expect(try await engine.loadImages(from: archive) == [reference])
        #expect(try await engine.inspectImage(reference)?.id == (try await engine.inspectImage(Bench.base))?.id)
        try await engine.removeImage(reference)
    }

    @Test func savingAMissingImageLeavesNoFile() async throws {
        let engine = try await Bench.engine()
        let directory = try TemporaryDirectory()
        await #expect(throws: Engine.Error.self) {
            try await engine.saveImages([Bench.reference("never-built")], to: "\(directory.path)/images.tar")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func importsARootFileSystem() async throws {
        let engine = try await Bench.engine()
        let directory = try TemporaryDirectory()
        let tarball = "\(directory.path)/rootfs.tar"
        let stream = try TarStream(entries: [.directory("etc"), .file("etc/strata", contents: Array("imported\n".utf8))])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while case let count = try buffer.withUnsafeMutableBytes({ try stream.read(into: $0) }), count > 0 {
            bytes += buffer[..<count]
        }
        try Data(bytes).write(to: URL(fileURLWithPath: tarball))
        let reference = Bench.reference("imported")
        let id = try await engine.importImage(tarballPath: tarball, reference: reference)
        #expect(id.hasPrefix("sha256:"))
        #expect(try await engine.inspectImage(reference)?.id == id)
        try await engine.removeImage(reference)
    }
}
