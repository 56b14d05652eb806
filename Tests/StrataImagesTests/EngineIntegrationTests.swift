import Foundation
import StrataProcess
import StrataArchive
import StrataCache
import StrataEngine
import StrataHash
import StrataHTTP
@testable import StrataImages
import Testing

/// Against the bench's real engine (docker.io 20.10: legacy `docker save`, `docker load`
/// of the legacy format only), with skopeo as an independent reader of the layout.
@Suite(.serialized) struct EngineIntegrationTests {
    let key = String(repeating: "e1", count: 32)

    /// Builds a small image of three layers on the bench's base, tagged `reference`.
    func buildImage(_ engine: Engine, reference: String) async throws -> String {
        let files = [
            "Dockerfile": "FROM \(Bench.base)\nRUN echo built > /built && mkdir -p /data\nCOPY a.txt /data/a.txt\n",
            "a.txt": "export me \(UUID().uuidString)\n",
        ]
        let entries = files.sorted { $0.key < $1.key }.map { TarEntry.file($0.key, contents: Array($0.value.utf8)) }
        let context = BuildContext.tar(.stream(length: nil) { TarBody(try TarStream(entries: entries)) })
        return try await engine.build(
            context: context,
            options: BuildOptions(tags: [reference], dockerfile: "Dockerfile", networkMode: "host"),
            events: { _ in }).imageID
    }

    @Test func exportsRemovesAndRestoresWithTheSameImageID() async throws {
        let engine = try await Bench.engine()
        let workspace = try Workspace()
        let reference = Bench.reference("export")
        let id = try await buildImage(engine, reference: reference)
        let refName = "strata-images-test"

        let exported = try await exportImage(engine: engine, reference: reference, cache: workspace.cache, key: key, refName: refName)
        #expect(exported.configDigest.description == id)
        #expect(exported.layerDigests.count == 3)
        let report = workspace.cache.verify()
        #expect(report.isClean, "\(report.problems)")
        #expect(report.leftovers.isEmpty)

        // skopeo reads the layout: the manifest is ours, byte for byte, and so is the config.
        let manifest = try #require(try workspace.cache.readBlob(exported.manifestDigest))
        #expect(try Skopeo.run(["inspect", "--raw", "oci:\(workspace.cache.path):\(refName)"]) == manifest)
        let config = try Skopeo.run(["inspect", "--config", "--raw", "oci:\(workspace.cache.path):\(refName)"])
        #expect(try sha(config).description == id)

        // Another cache: the same digests (deterministic compression).
        let again = try await exportImage(engine: engine, reference: reference, cache: try workspace.otherCache("again"),
                                          key: key, refName: refName)
        #expect(again.manifestDigest == exported.manifestDigest)

        let tags = [reference, Bench.reference("restored")]
        try await engine.removeImage(reference)
        #expect(try await engine.inspectImage(id) == nil)
        let restored = try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: tags)
        #expect(restored == id)
        let info = try #require(try await engine.inspectImage(id))
        #expect(Set(info.repoTags) == Set(tags))
        #expect(workspace.cache.verify().leftovers.isEmpty)
        for tag in tags { try await engine.removeImage(tag) }
    }

    @Test func theBaseImageRoundTripsThroughTheLayoutToo() async throws {
        let engine = try await Bench.engine()
        let workspace = try Workspace()
        let base = try #require(try await engine.inspectImage(Bench.base))
        let exported = try await exportImage(engine: engine, reference: Bench.base, cache: workspace.cache, key: key, refName: "base")
        #expect(exported.configDigest.description == base.id)
        // The engine still has it: restoring only tags.
        let tag = Bench.reference("base-restored")
        #expect(try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: [tag]) == base.id)
        #expect(try await engine.inspectImage(tag)?.id == base.id)
        try await engine.removeImage(tag)
    }
}

final class TarBody: HTTPBodyStream {
    let stream: TarStream

    init(_ stream: TarStream) {
        self.stream = stream
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try stream.read(into: buffer)
    }
}

/// skopeo (Debian's), run with its output captured.
enum Skopeo {
    static let path = "/usr/bin/skopeo"

    static func run(_ arguments: [String]) throws -> [UInt8] {
        let result = try ChildProcess.run(path, arguments, timeout: .seconds(600))
        guard result.succeeded else {
            throw Bench.BenchError(message: "skopeo \(arguments.joined(separator: " ")): \(result.errorOutput)")
        }
        return result.stdout
    }
}

/// The bench's engine: DOCKER_HOST, else the socket `scripts/lib/services.sh` starts.
/// No engine is a failure, never a skip: `scripts/test` always starts one.
enum Bench {
    static let socket = "/tmp/strata-bench/engine/docker.sock"
    static let base = "strata-busybox:1"

    static func engine() async throws -> Engine {
        var environment = ProcessInfo.processInfo.environment
        if (environment["DOCKER_HOST"] ?? "").isEmpty, FileManager.default.fileExists(atPath: socket) {
            environment["DOCKER_HOST"] = "unix://\(socket)"
        }
        let engine: Engine
        do {
            engine = try await Engine.connect(environment: environment)
        } catch {
            Issue.record("""
                the integration tests need a Docker engine (scripts/test starts one; by hand: \
                bash -c '. scripts/lib/services.sh; start_engine; import_busybox_base'): \(error)
                """)
            throw error
        }
        guard try await engine.inspectImage(base) != nil else {
            let message = "the engine at \(engine.endpoint) has no \(base): run "
                + "bash -c '. scripts/lib/services.sh; start_engine; import_busybox_base'"
            Issue.record(Comment(rawValue: message))
            throw BenchError(message: message)
        }
        return engine
    }

    struct BenchError: Error, CustomStringConvertible {
        var description: String { message }
        let message: String
    }

    /// A reference no other test run uses.
    static func reference(_ tag: String) -> String {
        "strata-images-test-\(UUID().uuidString.prefix(8).lowercased()):\(tag)"
    }
}
