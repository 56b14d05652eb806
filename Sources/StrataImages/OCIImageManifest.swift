import Foundation
import StrataCache
import StrataHash

/// An OCI image manifest (OCI image spec, "Image Manifest"), as the layout stores
/// it: schema 2, a config and gzip layers, encoded with `CanonicalJSON` so the same
/// image always gives the same manifest digest.
public struct OCIImageManifest: Codable, Sendable, Equatable {
    public static let configMediaType = "application/vnd.oci.image.config.v1+json"
    public static let gzipLayerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let tarLayerMediaType = "application/vnd.oci.image.layer.v1.tar"
    /// Docker's schema 2 media types, which `docker save` (Docker 25+) and registries also use.
    public static let dockerConfigMediaType = "application/vnd.docker.container.image.v1+json"
    public static let dockerGzipLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerTarLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar"

    public var schemaVersion: Int
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]

    public init(config: OCIDescriptor, layers: [OCIDescriptor]) {
        schemaVersion = 2
        mediaType = OCIMediaType.imageManifest
        self.config = config
        self.layers = layers
    }

    /// The canonical bytes (sorted keys, no whitespace).
    public func encoded() throws -> [UInt8] {
        try CanonicalJSON.encode(self)
    }

    /// Parses a manifest blob; the error names `digest`.
    static func decode(_ bytes: [UInt8], digest: String) throws -> OCIImageManifest {
        do {
            return try JSONDecoder().decode(OCIImageManifest.self, from: Data(bytes))
        } catch {
            throw ImageTransfer.Error.unreadableManifest(digest: digest, reason: "\(error)")
        }
    }

    /// Whether a layer of this media type is gzip, uncompressed, or neither.
    static func compression(of mediaType: String) -> LayerCompression? {
        switch mediaType {
        case gzipLayerMediaType, dockerGzipLayerMediaType: .gzip
        case tarLayerMediaType, dockerTarLayerMediaType: LayerCompression.none
        default: nil
        }
    }
}

enum LayerCompression {
    case none, gzip
}

/// The parts of an image config strata reads (OCI image spec, "Image
/// Configuration"): the layers' diff_ids and the platform.
struct ImageConfig: Decodable {
    struct RootFS: Decodable {
        var diff_ids: [String]?
    }

    var architecture: String?
    var os: String?
    var variant: String?
    var rootfs: RootFS?

    /// Parses `bytes` and returns the diff_ids, bottom first.
    static func diffIDs(_ bytes: [UInt8], digest: Digest) throws -> (config: ImageConfig, diffIDs: [Digest]) {
        let config: ImageConfig
        do {
            config = try JSONDecoder().decode(ImageConfig.self, from: Data(bytes))
        } catch {
            throw ImageTransfer.Error.unreadableManifest(digest: digest.description, reason: "config: \(error)")
        }
        var digests: [Digest] = []
        for text in config.rootfs?.diff_ids ?? [] {
            guard text.hasPrefix("sha256:"), let diffID = Digest(parsing: text) else {
                throw ImageTransfer.Error.unreadableManifest(digest: digest.description, reason: "config: diff_id \(text) is not sha256")
            }
            digests.append(diffID)
        }
        return (config, digests)
    }

    var platform: OCIPlatform? {
        guard let architecture, let os else { return nil }
        return OCIPlatform(architecture: architecture, os: os, variant: variant)
    }
}

/// One entry of `manifest.json` in a `docker save` archive (both formats) and of
/// the one `docker load` reads (moby `image/tarexport`, `manifestItem`).
struct DockerArchiveManifest: Codable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}

/// `index.json` of an OCI layout, as far as finding an image goes.
struct OCIIndex: Decodable {
    var manifests: [OCIDescriptor]
}
