/// Where something was written: a file (relative to the manifest's folder when it is inside it)
/// and a 1-based line. Every finding and every manifest error names one.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`, or `file` alone for something about the whole file (line 0).
    public var description: String { line > 0 ? "\(file):\(line)" : file }
}

/// The fleet as written in `strata.yaml` (or a `docker-compose.yml`), includes merged and
/// `discover:` globs resolved, before any Dockerfile is read.
public struct Manifest: Sendable {
    /// Absolute path of the manifest file.
    public var path: String
    /// Absolute path of the folder holding the manifest: every relative path is relative to it.
    public var directory: String
    /// Repository prefix for pushes (`ghcr.io/acme`).
    public var registry: String?
    /// Cache directory as written, relative to `directory`.
    public var cache: String?
    /// Record and look up keys in the registry.
    public var remoteCache: Bool
    /// Settings every image starts from.
    public var defaults: BuildSettings
    /// Matrix dimensions (`machine` → `mainpc`, `pc2`), in the order written.
    public var variants: [VariantDimension]
    /// The images, explicit ones first (in the order written), then discovered ones (sorted by name).
    public var images: [ImageSpec]
    /// What loading found worth saying but not fatal (a compose key strata does not honour, a
    /// variable without a value): warnings with file and line, part of the fleet's findings.
    public var warnings: [Finding] = []

    public init(path: String, directory: String, registry: String? = nil, cache: String? = nil,
                remoteCache: Bool = false, defaults: BuildSettings = BuildSettings(),
                variants: [VariantDimension] = [], images: [ImageSpec] = []) {
        self.path = path
        self.directory = directory
        self.registry = registry
        self.cache = cache
        self.remoteCache = remoteCache
        self.defaults = defaults
        self.variants = variants
        self.images = images
    }

    /// The dimension with this name.
    public func dimension(_ name: String) -> VariantDimension? {
        variants.first { $0.name == name }
    }
}

/// Settings that defaults, variants and images can each set; later layers override earlier ones
/// key by key (args, labels) or as a whole (platforms, network).
public struct BuildSettings: Sendable, Equatable {
    public var args: [String: String]
    public var labels: [String: String]
    public var platforms: [String]?
    public var network: String?

    public init(args: [String: String] = [:], labels: [String: String] = [:],
                platforms: [String]? = nil, network: String? = nil) {
        self.args = args
        self.labels = labels
        self.platforms = platforms
        self.network = network
    }

    /// `self` overridden by `other`.
    public func merged(with other: BuildSettings) -> BuildSettings {
        BuildSettings(
            args: args.merging(other.args) { _, new in new },
            labels: labels.merging(other.labels) { _, new in new },
            platforms: other.platforms ?? platforms,
            network: other.network ?? network
        )
    }
}

/// One matrix dimension: a name and its values in the order written.
public struct VariantDimension: Sendable, Equatable {
    public struct Value: Sendable, Equatable {
        public var name: String
        public var settings: BuildSettings
        public var location: SourceLocation

        public init(name: String, settings: BuildSettings, location: SourceLocation) {
            self.name = name
            self.settings = settings
            self.location = location
        }
    }

    public var name: String
    public var values: [Value]
    public var location: SourceLocation

    public init(name: String, values: [Value], location: SourceLocation) {
        self.name = name
        self.values = values
        self.location = location
    }
}

/// One image of the fleet as written.
public struct ImageSpec: Sendable, Equatable {
    /// `[a-z0-9][a-z0-9._-]*`
    public var name: String
    /// Context folder, relative to the manifest's folder.
    public var context: String
    /// Dockerfile, relative to the manifest's folder (defaults to `<context>/Dockerfile`).
    public var dockerfile: String
    public var target: String?
    public var tags: [String]
    /// Variant dimensions this image is built for (one node per combination of values).
    public var variants: [String]
    /// Explicit parents (`from:`), image names.
    public var from: [String]
    /// Image-level settings (override defaults and variants).
    public var settings: BuildSettings
    /// Full image reference given by a compose `image:` key, if any.
    public var imageReference: String?
    /// Where the image is declared.
    public var location: SourceLocation
    /// Where individual fields are declared (`context`, `dockerfile`, `from`, `tags`…), for findings.
    public var fieldLocations: [String: SourceLocation]
    /// True when the image came from a `discover:` glob.
    public var discovered: Bool

    public init(name: String, context: String, dockerfile: String, target: String? = nil,
                tags: [String] = [], variants: [String] = [], from: [String] = [],
                settings: BuildSettings = BuildSettings(), imageReference: String? = nil,
                location: SourceLocation, fieldLocations: [String: SourceLocation] = [:],
                discovered: Bool = false) {
        self.name = name
        self.context = context
        self.dockerfile = dockerfile
        self.target = target
        self.tags = tags
        self.variants = variants
        self.from = from
        self.settings = settings
        self.imageReference = imageReference
        self.location = location
        self.fieldLocations = fieldLocations
        self.discovered = discovered
    }

    /// The location of a field, or of the image when the field was not written.
    public func location(of field: String) -> SourceLocation {
        fieldLocations[field] ?? location
    }

    /// True when `name` is a valid image name.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLowerAlnum(first) else { return false }
        return name.utf8.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }
}
