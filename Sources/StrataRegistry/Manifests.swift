import Foundation
import StrataHash

/// Media types of the manifests and blobs this client reads and writes
/// (OCI image spec "Media Types"; Docker image manifest v2 schema 2).
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    /// Every manifest type, for `Accept` when fetching by tag.
    public static let manifests = [ociIndex, ociManifest, dockerManifestList, dockerManifest]
    /// The types that list other manifests.
    public static let indexes: Set<String> = [ociIndex, dockerManifestList]
}

/// A content descriptor (OCI image spec "Descriptors"). The registry's own
/// type: the cache has its own, the two are converted where they meet.
public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    /// For entries of an index.
    public var platform: Platform?
    public var artifactType: String?

    public init(
        mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil,
        platform: Platform? = nil, artifactType: String? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
        self.artifactType = artifactType
    }

    private enum CodingKeys: String, CodingKey {
        case mediaType, digest, size, annotations, platform, artifactType
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try container.decode(String.self, forKey: .mediaType)
        let text = try container.decode(String.self, forKey: .digest)
        // Only sha256 is produced or accepted by strata.
        guard let digest = Digest(parsing: text), text.hasPrefix("sha256:") else {
            throw DecodingError.dataCorruptedError(forKey: .digest, in: container, debugDescription: "not a sha256 digest: \(text)")
        }
        self.digest = digest
        size = try container.decode(Int64.self, forKey: .size)
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations)
        platform = try container.decodeIfPresent(Platform.self, forKey: .platform)
        artifactType = try container.decodeIfPresent(String.self, forKey: .artifactType)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mediaType, forKey: .mediaType)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(size, forKey: .size)
        try container.encodeIfPresent(annotations, forKey: .annotations)
        try container.encodeIfPresent(platform, forKey: .platform)
        try container.encodeIfPresent(artifactType, forKey: .artifactType)
    }
}

/// The platform of an index entry (OCI image spec "Image Index").
public struct Platform: Codable, Sendable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?

    public init(architecture: String, os: String, variant: String? = nil, osVersion: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
        self.osVersion = osVersion
    }

    private enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
    }
}

/// An image manifest: OCI, or Docker schema 2 (the same fields).
public struct ImageManifest: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(
        mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor],
        subject: Descriptor? = nil, annotations: [String: String]? = nil
    ) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }
}

/// An image index: OCI, or a Docker manifest list (the same fields).
public struct ImageIndex: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor], annotations: [String: String]? = nil) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
        self.annotations = annotations
    }
}

/// One encoder for everything pushed: sorted keys and unescaped slashes, so
/// the same manifest is the same bytes (and the same digest) everywhere.
public enum CanonicalJSON {
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}
