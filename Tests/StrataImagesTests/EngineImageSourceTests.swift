import Foundation
import StrataArchive
import StrataCache
import StrataHash
@testable import StrataImages
import Testing

/// `docker save` archives of both formats, made in the test, read by `EngineImageSource`.
struct EngineImageSourceTests {
    enum Format: String, CaseIterable, CustomTestStringConvertible {
        case legacy, oci, ociWithoutManifestJSON, ociGzipLayers
        var testDescription: String { rawValue }
    }

    func archive(_ image: FixtureImage, _ format: Format, in workspace: Workspace) throws -> String {
        let path = workspace.path + "/\(format.rawValue).tar"
        switch format {
        case .legacy: try image.legacyArchive(at: path, repoTags: ["app:1"])
        case .oci: try image.ociArchive(at: path, repoTags: ["app:1"], manifestJSON: true)
        case .ociWithoutManifestJSON: try image.ociArchive(at: path, repoTags: ["app:1"], manifestJSON: false)
        case .ociGzipLayers: try image.ociArchive(at: path, repoTags: ["app:1"], manifestJSON: true, gzipped: [0])
        }
        return path
    }

    @Test(arguments: Format.allCases)
    func readsTheConfigTheLayersAndTheTags(_ format: Format) throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("base", "base\n"), ("app", "app\n"), ("base", "base\n")])
        #expect(image.diffIDs[0] == image.diffIDs[2])
        let source = try EngineImageSource(archive: try archive(image, format, in: workspace))
        let described = try source.image()
        #expect(described.config == image.config)
        #expect(described.configDigest == image.configDigest)
        #expect(described.layers.map(\.diffID) == image.diffIDs)
        #expect(described.layers.allSatisfy { $0.blob == nil })
        #expect(described.repoTags == ["app:1"])

        // Each stored layer once, uncompressed, hashing to its diff_id.
        var read: [Digest: [UInt8]] = [:]
        try source.forEachLayer { content in
            #expect(content.blob == nil && content.file == nil)
            var bytes: [UInt8] = []
            try content.read { bytes += $0 }
            #expect(read[content.diffID] == nil)
            read[content.diffID] = bytes
        }
        #expect(Set(read.keys) == Set(image.diffIDs))
        for (diffID, bytes) in read { #expect(try sha(bytes) == diffID) }
    }

    @Test func aLayerLeftUnreadCostsNothingAndTheNextOneIsIntact() throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("one", String(repeating: "1", count: 3 << 20)), ("two", "two\n")])
        let source = try EngineImageSource(archive: try archive(image, .legacy, in: workspace))
        var seen: [Digest] = []
        try source.forEachLayer { content in
            seen.append(content.diffID)
            guard content.diffID == image.diffIDs[1] else { return }
            var bytes: [UInt8] = []
            try content.read { bytes += $0 }
            #expect(bytes == image.layers[1])
        }
        #expect(Set(seen) == Set(image.diffIDs))
    }

    @Test func anArchiveWithoutAnImageIsAClearError() throws {
        let workspace = try Workspace()
        let path = workspace.path + "/empty.tar"
        try writeTar([.file("repositories", contents: Array("{}".utf8))], to: path)
        #expect {
            try EngineImageSource(archive: path)
        } throws: { error in
            "\(error)".contains("neither manifest.json nor index.json")
        }
    }

    @Test func aLayerTheManifestNamesButTheArchiveLacksIsNamed() throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("one", "1\n")])
        let item = DockerArchiveManifest(Config: image.configDigest.hex + ".json", RepoTags: nil, Layers: ["gone/layer.tar"])
        let path = workspace.path + "/broken.tar"
        try writeTar([.file(image.configDigest.hex + ".json", contents: image.config),
                      .file("manifest.json", contents: Array(try JSONEncoder().encode([item])))], to: path)
        #expect {
            try EngineImageSource(archive: path)
        } throws: { error in
            "\(error)".contains("no entry gone/layer.tar")
        }
    }

    @Test func savingRemovesTheTemporaryArchiveWithTheSource() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("one", "1\n")])
        let engine = FakeTransferEngine()
        try image.legacyArchive(at: workspace.path + "/saved.tar", repoTags: ["app:1"])
        engine.add(image, archive: workspace.path + "/saved.tar", tags: ["app:1"])
        var source: EngineImageSource? = try await EngineImageSource.save(engine: engine, reference: "app:1", directory: workspace.cache.path)
        let archive = try #require(source?.archive)
        #expect(FileManager.default.fileExists(atPath: archive))
        #expect(try source?.image().configDigest == image.configDigest)
        source = nil
        #expect(!FileManager.default.fileExists(atPath: archive))
    }
}
