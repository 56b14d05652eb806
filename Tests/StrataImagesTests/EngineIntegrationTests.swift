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
/// of the legacy format only; Docker 28.4: `docker save` as an OCI layout, and with the
/// containerd image store image IDs that are manifest digests), with skopeo as an independent
/// reader of the layout. An image is the same image when its config is: on the containerd
/// store, a restore from the layout is a new manifest of it, with an ID of its own.
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

    @Test func exportsRemovesAndRestoresTheSameImage() async throws {
        let engine = try await Bench.engine()
        let workspace = try Workspace()
        let reference = Bench.reference("export")
        let id = try await buildImage(engine, reference: reference)
        let configDigest = try await Bench.configDigest(engine, id)
        let refName = "strata-images-test"

        let exported = try await exportImage(engine: engine, reference: reference, cache: workspace.cache, key: key, refName: refName)
        #expect(exported.configDigest.description == configDigest)
        #expect(exported.layerDigests.count == 3)
        let report = workspace.cache.verify()
        #expect(report.isClean, "\(report.problems)")
        #expect(report.leftovers.isEmpty)

        // skopeo reads the layout: the manifest is ours, byte for byte, and so is the config.
        let manifest = try #require(try workspace.cache.readBlob(exported.manifestDigest))
        #expect(try Skopeo.run(["inspect", "--raw", "oci:\(workspace.cache.path):\(refName)"]) == manifest)
        let config = try Skopeo.run(["inspect", "--config", "--raw", "oci:\(workspace.cache.path):\(refName)"])
        #expect(try sha(config).description == configDigest)

        // Another cache: the same digests (deterministic compression).
        let again = try await exportImage(engine: engine, reference: reference, cache: try workspace.otherCache("again"),
                                          key: key, refName: refName)
        #expect(again.manifestDigest == exported.manifestDigest)

        let tags = [reference, Bench.reference("restored")]
        try await engine.removeImage(reference)
        #expect(try await engine.inspectImage(id) == nil)
        let restored = try #require(try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: tags))
        #expect(try await Bench.configDigest(engine, restored) == configDigest)
        let info = try #require(try await engine.inspectImage(restored))
        #expect(Set(info.repoTags) == Set(tags))
        if info.store != .containerd { #expect(restored == id) }
        #expect(workspace.cache.verify().leftovers.isEmpty)
        for tag in tags { try await engine.removeImage(tag) }
    }

    @Test func theBaseImageRoundTripsThroughTheLayoutToo() async throws {
        let engine = try await Bench.engine()
        let workspace = try Workspace()
        let base = try #require(try await engine.inspectImage(Bench.base))
        let configDigest = try await Bench.configDigest(engine, base.id)
        let exported = try await exportImage(engine: engine, reference: Bench.base, cache: workspace.cache, key: key, refName: "base")
        #expect(exported.configDigest.description == configDigest)
        // The classic store still has it by its config digest: restoring only tags. The containerd
        // store finds no image by a config digest, and loads the layout's manifest of it.
        let tag = Bench.reference("base-restored")
        let restored = try #require(try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: [tag]))
        if base.store != .containerd { #expect(restored == base.id) }
        #expect(try await Bench.configDigest(engine, restored) == configDigest)
        #expect(try await engine.inspectImage(tag)?.id == restored)
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

    /// The digest of the config of the engine's image `id`, read without strata's archive
    /// reader: the ID itself on the classic store; on the containerd store, where the ID is
    /// the manifest's digest, that manifest's `config.digest`, out of the engine's `docker save`.
    static func configDigest(_ engine: Engine, _ id: String) async throws -> String {
        let info = try #require(try await engine.inspectImage(id), "the engine has no image \(id)")
        guard info.store == .containerd else { return info.id }
        let archive = FileManager.default.temporaryDirectory.appendingPathComponent("save-\(UUID().uuidString).tar").path
        defer { try? FileManager.default.removeItem(atPath: archive) }
        try await engine.saveImages([id], to: archive)
        let read = try ChildProcess.run("/bin/tar", ["-xOf", archive, "blobs/sha256/" + id.dropFirst("sha256:".count)],
                                        timeout: .seconds(60))
        try #require(read.succeeded, "tar: \(read.errorOutput)")
        struct Manifest: Decodable { struct Config: Decodable { var digest: String }; var config: Config }
        return try JSONDecoder().decode(Manifest.self, from: Data(read.stdout)).config.digest
    }
}
