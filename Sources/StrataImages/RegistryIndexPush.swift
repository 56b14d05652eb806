import StrataFleet
import StrataHash
import StrataRegistry

/// One image built for several platforms, published as a registry expects it: each
/// platform's manifest is already in the repository (under its `strata-<key>` tag), and
/// one OCI image index lists them, each with its platform, under the image's tags. A pull
/// of such a tag picks the manifest of its own platform.
public enum RegistryIndexPush {
    /// One platform's manifest, by digest, and the platform it was built for
    /// (`os/architecture[/variant]`, as the manifest's `platforms:` spells it).
    public struct Member: Sendable {
        public var manifestDigest: String
        public var platform: String

        public init(manifestDigest: String, platform: String) {
            self.manifestDigest = manifestDigest
            self.platform = platform
        }
    }

    /// Puts an index of `members` (in platform order, so the same members give the same
    /// digest) under each of `tags` in `repository`. Each member's descriptor (media type,
    /// size) is the registry's own answer to a `HEAD` by digest; a member the repository
    /// lacks is an error and nothing is written.
    public static func push(_ members: [Member], to repository: RegistryReference, tags: [String],
                            access: RegistryAccess) async throws -> RegistryPush {
        let client = try access.client(for: repository.host)
        var manifests: [Descriptor] = []
        for member in members.sorted(by: { $0.platform < $1.platform }) {
            guard var descriptor = try await client.manifestDescriptor(repository: repository.repository,
                                                                       reference: member.manifestDigest)
            else {
                throw ImageTransfer.RegistryError.missingManifest(reference: "\(repository.name)@\(member.manifestDigest)")
            }
            descriptor.platform = try platform(member.platform, of: repository.name)
            manifests.append(descriptor)
        }
        let index = ImageIndex(manifests: manifests)
        for tag in tags {
            _ = try await client.putIndex(repository: repository.repository, reference: tag, index: index)
        }
        return RegistryPush(manifestDigest: try SHA256.hash(CanonicalJSON.encode(index)).description, tags: tags)
    }

    /// `os/architecture[/variant]` as an index entry's platform.
    static func platform(_ text: String, of reference: String) throws -> Platform {
        guard let parsed = BuildPlatform(text) else {
            throw ImageTransfer.RegistryError.unsupportedManifest(
                reference: reference, reason: "platform '\(text)' is not os/architecture[/variant]")
        }
        return Platform(architecture: parsed.architecture, os: parsed.os, variant: parsed.variant)
    }
}
