import Foundation
import StrataHash
import StrataRegistry

/// Copies a manifest (an image, or an index and its images) from one registry
/// repository to another without pulling the image into an engine: within a
/// registry the blobs are mounted (distribution spec "Mounting a blob from
/// another repository"), across registries each missing blob is streamed through
/// a temporary file. The manifest bytes are copied exactly, so the digest stays.
public struct RegistryCopy: Sendable {
    public let access: RegistryAccess
    /// Concurrent blob copies at most.
    public var jobs: Int

    public init(access: RegistryAccess, jobs: Int = 4) {
        self.access = access
        self.jobs = jobs
    }

    /// Copies `source` (with a tag or digest) to `destination` under each of `tags`.
    public func copy(_ source: RegistryReference, to destination: RegistryReference, tags: [String]) async throws -> RegistryPush {
        guard let reference = source.reference else {
            throw ImageTransfer.RegistryError.invalidReference(source.description, reason: "name the tag or digest to copy")
        }
        let from = try access.client(for: source.host)
        let to = try access.client(for: destination.host)
        let top = try await from.manifest(repository: source.repository, reference: reference)
        var report = RegistryPush(manifestDigest: top.digest.description, tags: tags)
        if top.isIndex {
            for entry in try top.decodeIndex().manifests {
                let child = try await from.manifest(repository: source.repository, reference: entry.digest.description)
                try await copyBlobs(of: child, from: (from, source.repository), to: (to, destination.repository), into: &report)
                try await to.putManifest(repository: destination.repository, reference: child.digest.description,
                                         bytes: child.bytes, mediaType: child.mediaType)
            }
        } else {
            try await copyBlobs(of: top, from: (from, source.repository), to: (to, destination.repository), into: &report)
        }
        for tag in tags {
            try await to.putManifest(repository: destination.repository, reference: tag, bytes: top.bytes, mediaType: top.mediaType)
        }
        return report
    }

    private func copyBlobs(
        of manifest: ManifestResponse, from source: (client: RegistryClient, repository: String),
        to destination: (client: RegistryClient, repository: String), into report: inout RegistryPush
    ) async throws {
        let image = try manifest.decodeManifest()
        var blobs: [Descriptor] = []
        for blob in [image.config] + image.layers where !blobs.contains(where: { $0.digest == blob.digest }) {
            blobs.append(blob)
        }
        let results = try await concurrentMap(blobs, limit: jobs) { blob in
            // The tuple is built after the await (docs/release-miscompile.md).
            let result = try await Self.copyBlob(blob, from: source, to: destination)
            return (result, blob.size)
        }
        for (result, size) in results { report.count(result, size: size) }
    }

    /// One blob: present → nothing; same registry → mount; else (or when the mount
    /// is refused) download to a temporary file, verified, then upload it.
    static func copyBlob(
        _ blob: Descriptor, from source: (client: RegistryClient, repository: String),
        to destination: (client: RegistryClient, repository: String)
    ) async throws -> BlobPushResult {
        let target = "\(destination.client.host)/\(destination.repository)"
        if try await destination.client.blobSize(repository: destination.repository, digest: blob.digest) != nil {
            return .alreadyPresent
        }
        let scratch = FileManager.default.temporaryDirectory.path + "/strata-blob-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if source.client.host == destination.client.host {
            // The file is only read if the registry answers the mount with an upload
            // session; it does not exist yet, so that attempt fails and the blob is
            // downloaded below. A registry mounts whatever the source repository links.
            if let mounted = try? await destination.client.pushBlob(
                repository: destination.repository, digest: blob.digest, size: blob.size, from: .file(scratch),
                mountFrom: [source.repository]) {
                return mounted
            }
        }
        do {
            try await source.client.pullBlob(repository: source.repository, digest: blob.digest, size: blob.size, to: scratch)
            _ = try await destination.client.pushBlob(repository: destination.repository, digest: blob.digest, size: blob.size,
                                                      from: .file(scratch))
            return .uploaded
        } catch {
            throw ImageTransfer.RegistryError.blobCopyFailed(digest: blob.digest.description, to: target, cause: error)
        }
    }
}
