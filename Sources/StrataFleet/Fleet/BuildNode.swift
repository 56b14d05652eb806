/// One build of one image: the image for one combination of variant values and one platform.
public struct BuildNode: Sendable, Equatable {
    /// `image`, `image@variant`, and with several platforms `image@variant/os/arch`.
    public var name: String
    public var image: String
    /// The variant values joined with `-` (`mainpc`), nil for an image without variants.
    public var variant: String?
    /// Dimension → value for this node.
    public var variantValues: [String: String]
    /// The platform when the image is built for several (or one was set), else nil.
    public var platform: String?
    /// Build args after merging defaults < variant < image (most specific wins).
    public var args: [String: String]
    public var labels: [String: String]
    public var network: String?
    public var target: String?
    /// Absolute paths.
    public var contextDirectory: String
    public var dockerfilePath: String
    /// Tags with the variant suffix applied (`3.11-mainpc`).
    public var tags: [String]
    /// Fleet parents, in the order their references appear.
    public var parents: [ParentEdge]
    /// Every place the Dockerfile names a fleet image (a parent may be named on several lines):
    /// what a build rewrites to the exact image it built.
    public var fleetReferences: [ParentEdge]
    /// Bases that are not fleet images (`python:3.11-slim`), expanded, in order.
    public var externalBases: [ExternalBase]
    /// `ADD` sources fetched from a URL without `--checksum` (`https://…`, a git URL), expanded,
    /// in the stages the build runs: keyed by what they serve (see `RemoteSources`).
    public var remoteSources: [ExternalBase] = []

    /// Names of the parent nodes.
    public var parentNames: [String] { parents.map(\.node) }

    /// The name without the platform: `image` or `image@variant`, shared by the nodes of
    /// one image built for several platforms.
    public var imageNodeName: String { variant.map { "\(image)@\($0)" } ?? image }
}

/// A dependency on another node of the fleet, and where it was written.
public struct ParentEdge: Sendable, Equatable {
    /// The parent node's name.
    public var node: String
    /// The reference as expanded (`ghcr.io/acme/base-python:3.11`), or the image name for `from:`.
    public var reference: String
    /// How the dependency is written: a FROM line, `COPY --from`, `RUN --mount=from=`, or `from:`.
    public var kind: Kind
    /// The Dockerfile line (or manifest line for `from:`).
    public var location: SourceLocation

    public enum Kind: String, Sendable, Equatable {
        case from, copyFrom = "copy-from", mountFrom = "mount-from", explicit
    }

    public init(node: String, reference: String, kind: Kind, location: SourceLocation) {
        self.node = node
        self.reference = reference
        self.kind = kind
        self.location = location
    }
}

/// A base image outside the fleet.
public struct ExternalBase: Sendable, Equatable {
    public var reference: String
    public var location: SourceLocation

    public init(reference: String, location: SourceLocation) {
        self.reference = reference
        self.location = location
    }
}
