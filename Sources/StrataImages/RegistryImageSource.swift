import Foundation
import StrataCache
import StrataHash
import StrataRegistry

/// An image in a registry, pulled into the cache's OCI layout (from which
/// `restoreImage` loads it into the engine): the way a remote cache hit reaches
/// an engine that must build a child on it. Pulling by digest means the image is
/// exactly the one recorded for the key, whatever a tag says meanwhile.
public struct RegistryImageSource: Sendable {
    public let client: RegistryClient
    public let repository: String
    /// A digest (preferred) or a tag.
    public let reference: String

    public init(client: RegistryClient, repository: String, reference: String) {
        self.client = client
        self.repository = repository
        self.reference = reference
    }

    /// Downloads the manifest, the config and the layers the cache lacks (each
    /// verified against its digest as it arrives, and renamed into place), and
    /// lists the manifest in `index.json` with `annotations` (the key and ref
    /// name, so `restoreImage(cache:key:…)` finds it and `gc` drops it with the key).
    public func pull(into cache: CacheDirectory, annotations: [String: String]) async throws -> LayoutImageSource {
        let held = try await Blocking.run { try cache.lock(.shared, wait: true) }
        defer { held.release() }
        let response = try await imageManifest()
        let manifest = try response.decodeManifest()
        for layer in manifest.layers where OCIImageManifest.compression(of: layer.mediaType) == nil {
            throw ImageTransfer.Error.unsupportedLayer(mediaType: layer.mediaType)
        }
        let client = self.client, repository = self.repository
        _ = try await concurrentMap([manifest.config] + manifest.layers, limit: 4) { blob in
            guard !cache.hasBlob(blob.digest) else { return () }
            try await client.pullBlob(repository: repository, digest: blob.digest, size: blob.size, to: cache.blobPath(blob.digest))
        }
        if !cache.hasBlob(response.digest) { _ = try cache.writeBlob(response.bytes, expected: response.digest) }
        // A later export of the same layers reuses these blobs instead of compressing again.
        guard let config = try cache.readBlob(manifest.config.digest) else { throw ImageTransfer.Error.missingBlob(manifest.config.digest) }
        let (parsed, diffIDs) = try ImageConfig.diffIDs(config, digest: manifest.config.digest)
        let map = DiffIDMap(cache: cache)
        for (diffID, layer) in zip(diffIDs, manifest.layers) where OCIImageManifest.compression(of: layer.mediaType) == .gzip {
            try map.record(diffID, blob: layer.digest)
        }
        let descriptor = OCIDescriptor(mediaType: response.mediaType, digest: response.digest, size: Int64(response.bytes.count),
                                       annotations: annotations, platform: parsed.platform)
        try cache.addManifest(descriptor)
        return LayoutImageSource(cache: cache, manifest: descriptor)
    }

    /// The image manifest `reference` names; for an index, its linux entry for
    /// this machine's architecture (else the only entry).
    func imageManifest() async throws -> ManifestResponse {
        let response = try await client.manifest(repository: repository, reference: reference)
        guard response.isIndex else { return response }
        let index = try response.decodeIndex()
        let linux = index.manifests.filter { $0.platform?.os == "linux" }
        guard let entry = linux.first(where: { $0.platform?.architecture == Self.hostArchitecture })
            ?? (index.manifests.count == 1 ? index.manifests.first : nil) else {
            throw ImageTransfer.RegistryError.unsupportedManifest(
                reference: "\(client.host)/\(repository)@\(response.digest)",
                reason: "the index has no linux/\(Self.hostArchitecture) image")
        }
        return try await client.manifest(repository: repository, reference: entry.digest.description)
    }

    static var hostArchitecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "amd64"
        #endif
    }
}
