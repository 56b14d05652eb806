import StrataHash

/// An OCI content descriptor (OCI image spec, "Descriptors"): what `index.json`
/// lists for each image in the layout.
public struct OCIDescriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    /// `sha256:…` of the described blob.
    public var digest: String
    public var size: Int64
    public var annotations: [String: String]?
    /// For entries of an index (OCI image spec, "Image Index", `manifests[].platform`).
    public var platform: OCIPlatform?

    /// The tag-like name of an image in a layout (OCI image spec, "Pre-Defined
    /// Annotation Keys").
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// The strata key that produced the image; `gc` drops the entry with its record.
    public static let keyAnnotation = "dev.strata.key"

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: OCIPlatform? = nil) {
        self.mediaType = mediaType
        self.digest = digest.description
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

/// The platform of an index entry.
public struct OCIPlatform: Codable, Sendable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }
}

/// Media types of the manifests the layout stores.
public enum OCIMediaType {
    public static let imageIndex = "application/vnd.oci.image.index.v1+json"
    public static let imageManifest = "application/vnd.oci.image.manifest.v1+json"
    /// Docker's schema 2 manifest, which `docker save` still writes.
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// `index.json` (OCI image-layout spec, "index.json file": an image index with
/// `schemaVersion` 2).
struct ImageIndex: Codable, Equatable {
    var schemaVersion = 2
    var mediaType: String? = OCIMediaType.imageIndex
    var manifests: [OCIDescriptor] = []
    var annotations: [String: String]?

    func encoded() throws(CacheDirectory.Error) -> [UInt8] {
        try CanonicalJSON.encode(self)
    }
}

/// The digests a manifest or index blob refers to: `config` and `layers[]` of an
/// image manifest (OCI or Docker schema 2), `manifests[]` of an index or
/// manifest list. Other fields are ignored; `subject` in particular may name a
/// manifest that is legitimately elsewhere (OCI image spec, "subject").
struct ManifestReferences: Decodable {
    struct Reference: Decodable {
        var digest: String
    }

    var config: Reference?
    var layers: [Reference]?
    var manifests: [Reference]?
}
