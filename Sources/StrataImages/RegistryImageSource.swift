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
    /// An image whose config names another OS, architecture or variant than `platform`
    /// (`os/arch[/variant]`) is refused before it is listed.
    public func pull(into cache: CacheDirectory, annotations: [String: String], platform: String) async throws
        -> LayoutImageSource
    {
        let held = try await Blocking.run { try cache.lock(.shared, wait: true) }
        defer { held.release() }
        let wanted = Self.platform(platform)
        let response = try await imageManifest(for: wanted)
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
        guard let found = parsed.platform, Self.matches(found, wanted) else {
            let shown = parsed.platform.map { [$0.os, $0.architecture, $0.variant].compactMap { $0 }.joined(separator: "/") }
            throw ImageTransfer.RegistryError.wrongPlatform(reference: "\(client.host)/\(repository)@\(response.digest)",
                                                            found: shown ?? "platform-less", wanted: platform)
        }
        let map = DiffIDMap(cache: cache)
        for (diffID, layer) in zip(diffIDs, manifest.layers) where OCIImageManifest.compression(of: layer.mediaType) == .gzip {
            try map.record(diffID, blob: layer.digest)
        }
        let descriptor = OCIDescriptor(mediaType: response.mediaType, digest: response.digest, size: Int64(response.bytes.count),
                                       annotations: annotations, platform: parsed.platform)
        try cache.addManifest(descriptor)
        return LayoutImageSource(cache: cache, manifest: descriptor)
    }

    /// The image manifest `reference` names; for an index, its entry for `wanted`.
    func imageManifest(for wanted: OCIPlatform) async throws -> ManifestResponse {
        let response = try await client.manifest(repository: repository, reference: reference)
        guard response.isIndex else { return response }
        let index = try response.decodeIndex()
        guard let entry = index.manifests.first(where: { entry in
            entry.platform.map { Self.matches(OCIPlatform(architecture: $0.architecture, os: $0.os, variant: $0.variant), wanted) }
                ?? false
        }) else {
            throw ImageTransfer.RegistryError.unsupportedManifest(
                reference: "\(client.host)/\(repository)@\(response.digest)",
                reason: "the index has no \([wanted.os, wanted.architecture, wanted.variant].compactMap { $0 }.joined(separator: "/")) image")
        }
        return try await client.manifest(repository: repository, reference: entry.digest.description)
    }

    /// `os/arch[/variant]` as the OCI platform it names.
    static func platform(_ text: String) -> OCIPlatform {
        let parts = text.split(separator: "/").map(String.init)
        return OCIPlatform(architecture: parts.count > 1 ? parts[1] : "", os: parts.first ?? "",
                           variant: parts.count > 2 ? parts[2] : nil)
    }

    /// Same OS and architecture, and the same variant when `wanted` names one (arm64 without
    /// a variant is v8, as containerd's platform matcher has it).
    static func matches(_ found: OCIPlatform, _ wanted: OCIPlatform) -> Bool {
        guard found.os == wanted.os, found.architecture == wanted.architecture, let variant = wanted.variant else {
            return found.os == wanted.os && found.architecture == wanted.architecture
        }
        return (found.variant ?? (found.architecture == "arm64" ? "v8" : nil)) == variant
    }
}
