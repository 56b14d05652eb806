import Foundation
import StrataArchive
import StrataCache
import StrataHash
@testable import StrataImages
import Testing

/// Export into the layout and restore from it, against a fake engine that hands out
/// archives made in the test and reads what strata loads the way Docker 20.10 does.
struct ExportRestoreTests {
    let key = String(repeating: "ab", count: 32)
    let otherKey = String(repeating: "cd", count: 32)

    /// An engine holding `image` as `app:1`, saved in the legacy format.
    func engine(with images: [(FixtureImage, String)], in workspace: Workspace) throws -> FakeTransferEngine {
        let engine = FakeTransferEngine()
        for (image, tag) in images {
            let archive = workspace.path + "/\(image.configDigest.hex).tar"
            try image.legacyArchive(at: archive, repoTags: [tag])
            engine.add(image, archive: archive, tags: [tag])
        }
        return engine
    }

    @Test func exportStoresAnOCIImageTheLayoutListsWithItsKey() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("base", "base\n"), ("app", "app\n")])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        let exported = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")

        #expect(exported.configDigest == image.configDigest)
        #expect(exported.layerDigests.count == 2)
        #expect(exported.layersWritten == image.diffIDs)
        // Each layer blob is the gzip of the layer as the engine saved it.
        for (blob, layer) in zip(exported.layerDigests, image.layers) {
            #expect(try gunzip(try #require(try workspace.cache.readBlob(blob))) == layer)
        }
        #expect(try workspace.cache.readBlob(exported.configDigest) == image.config)

        let manifestBytes = try #require(try workspace.cache.readBlob(exported.manifestDigest))
        let text = String(decoding: manifestBytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"config":{"digest":"\#(image.configDigest)","mediaType":"application/vnd.oci.image.config.v1+json""#))
        #expect(text.contains(#""mediaType":"application/vnd.oci.image.layer.v1.tar+gzip""#))
        #expect(text.hasSuffix(#""mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#))
        let sizes = try ([exported.manifestDigest, exported.configDigest] + exported.layerDigests).map { try #require(try workspace.cache.blobSize($0)) }
        #expect(exported.size == sizes.reduce(0, +))

        let entry = try #require(try workspace.cache.manifests().last)
        #expect(entry.digest == exported.manifestDigest.description)
        #expect(entry.mediaType == OCIMediaType.imageManifest)
        #expect(entry.annotations == [OCIDescriptor.refNameAnnotation: "app-1", OCIDescriptor.keyAnnotation: key])
        #expect(entry.platform == OCIPlatform(architecture: "amd64", os: "linux"))
        #expect(workspace.cache.verify().isClean)
        // The temporary save is gone.
        #expect(workspace.cache.verify().leftovers.isEmpty)
    }

    @Test func exportingTwiceGivesTheSameDigestsAndWritesNoNewBlob() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("base", "base\n"), ("app", "app\n")])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        let first = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        let blobs = try workspace.blobs(workspace.cache)
        let second = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        #expect(second == ExportedImage(manifestDigest: first.manifestDigest, configDigest: first.configDigest,
                                        layerDigests: first.layerDigests, size: first.size, layersWritten: []))
        #expect(try workspace.blobs(workspace.cache) == blobs)
        // An image exported before is not even saved again.
        #expect(engine.saves == 1)
        #expect(try workspace.cache.manifests().count == 1)

        // Another cache, another run: the same bytes.
        let elsewhere = try workspace.otherCache("elsewhere")
        let third = try await exportImage(engine: engine, reference: "app:1", cache: elsewhere, key: key, refName: "app-1")
        #expect(third.manifestDigest == first.manifestDigest && third.layerDigests == first.layerDigests)
        #expect(try workspace.blobs(elsewhere) == blobs)
    }

    @Test func aLayerTheCacheHoldsIsNotCompressedAgain() async throws {
        let workspace = try Workspace()
        let base = try FixtureImage([("base", "base\n")], label: "base")
        let app = try FixtureImage([("base", "base\n"), ("app", "app\n")], label: "app")
        let engine = try engine(with: [(base, "base:1"), (app, "app:1")], in: workspace)
        let first = try await exportImage(engine: engine, reference: "base:1", cache: workspace.cache, key: key, refName: "base-1")
        let second = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: otherKey, refName: "app-1")
        #expect(second.layersWritten == [app.diffIDs[1]])
        #expect(second.layerDigests[0] == first.layerDigests[0])
        // The diff_id map names the blob.
        let mapped = try String(contentsOfFile: workspace.cache.path + "/diffids/" + base.diffIDs[0].hex, encoding: .utf8)
        #expect(mapped == first.layerDigests[0].description)

        // Writing the saved image again through the destination (no shortcut): nothing is compressed.
        let source = try EngineImageSource(archive: workspace.path + "/\(app.configDigest.hex).tar")
        let again = try await LayoutImageDestination(cache: workspace.cache, annotations: nil).write(from: source)
        #expect(again.layersWritten.isEmpty)
        #expect(again.manifest?.digest == second.manifestDigest.description)
    }

    @Test func aLayerWhoseBlobWasCollectedIsCompressedAgainToTheSameDigest() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("base", "base\n"), ("app", "app\n")])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        let first = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        try FileManager.default.removeItem(atPath: workspace.cache.blobPath(first.layerDigests[1]))
        let second = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        #expect(second.layersWritten == [image.diffIDs[1]])
        #expect(second.layerDigests == first.layerDigests && second.manifestDigest == first.manifestDigest)
        #expect(workspace.cache.verify().isClean)
    }

    @Test func aLayerThatDoesNotHashToItsDiffIDIsRefusedAndNothingIsListed() async throws {
        let workspace = try Workspace()
        var image = try FixtureImage([("app", "app\n")])
        image.layers[0] = try tarBytes([.file("other", contents: Array("other\n".utf8))])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        await #expect {
            try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        } throws: { error in
            guard case ImageTransfer.Error.diffIDMismatch(let expected, _) = error else { return false }
            return expected == image.diffIDs[0]
        }
        #expect(try workspace.cache.manifests().isEmpty)
        #expect(workspace.cache.verify().isClean)
        #expect(!FileManager.default.fileExists(atPath: workspace.cache.path + "/diffids/" + image.diffIDs[0].hex))
    }

    @Test func restoreLoadsALegacyArchiveOfTheLayoutBlobsAndTags() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("base", "base\n"), ("app", "app\n"), ("base", "base\n")])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        let exported = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        engine.remove(image.id)

        let id = try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: ["app:1", "app:strata-\(key)"])
        #expect(id == image.id)
        #expect(try await engine.inspectImage("app:strata-\(key)")?.id == image.id)
        let load = try #require(engine.loads.first)
        let layerFolders = Set(exported.layerDigests.map(\.hex))
        let layerEntries: [String] = layerFolders.flatMap { [$0 + "/", $0 + "/layer.tar"] }
        let expected: [String] = [image.configDigest.hex + ".json", "manifest.json"] + layerEntries
        #expect(load.entries == expected.sorted())
        #expect(load.repoTags == ["app:1", "app:strata-\(key)"])
        // The layer files are the layout's gzip blobs, byte for byte.
        #expect(Set(load.layerBlobs) == Set(exported.layerDigests))
        #expect(workspace.cache.verify().leftovers.isEmpty)

        // The engine has it now: a second restore only tags.
        #expect(try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: ["app:2"]) == image.id)
        #expect(engine.loads.count == 1)
        #expect(try await engine.inspectImage("app:2")?.id == image.id)
    }

    @Test func restoreOfAKeyTheLayoutLacksIsNil() async throws {
        let workspace = try Workspace()
        let engine = FakeTransferEngine()
        #expect(try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: []) == nil)
        #expect(engine.loads.isEmpty)
    }

    @Test func restoreFindsTheManifestAKeyRecordNames() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("app", "app\n")])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        // Stored but not listed in index.json, as a push might leave it.
        let source = try EngineImageSource(archive: workspace.path + "/\(image.configDigest.hex).tar")
        let written = try await LayoutImageDestination(cache: workspace.cache, annotations: nil).write(from: source)
        #expect(try workspace.cache.manifests().isEmpty)
        let inputs = KeyInputs(dockerfile: image.id, context: image.id, contextMode: "precise")
        try workspace.cache.record(KeyRecord(key: try inputs.key, node: "app", image: "app", created: Date(), imageID: image.id,
                                             manifests: [LayoutImageSource.layoutManifestKey: try #require(written.manifest?.digest)],
                                             inputs: inputs))
        engine.remove(image.id)
        #expect(try await restoreImage(cache: workspace.cache, key: try inputs.key, engine: engine, tags: ["app:9"]) == image.id)
        #expect(try await engine.inspectImage("app:9")?.id == image.id)
    }

    @Test func restoreOfADamagedLayoutFailsAndLeavesNoTemporaryFile() async throws {
        let workspace = try Workspace()
        let image = try FixtureImage([("app", "app\n")])
        let engine = try engine(with: [(image, "app:1")], in: workspace)
        let exported = try await exportImage(engine: engine, reference: "app:1", cache: workspace.cache, key: key, refName: "app-1")
        engine.remove(image.id)
        try FileManager.default.removeItem(atPath: workspace.cache.blobPath(exported.layerDigests[0]))
        await #expect(throws: ImageTransfer.Error.self) {
            try await restoreImage(cache: workspace.cache, key: key, engine: engine, tags: ["app:1"])
        }
        #expect(workspace.cache.verify().leftovers.isEmpty)
    }
}
