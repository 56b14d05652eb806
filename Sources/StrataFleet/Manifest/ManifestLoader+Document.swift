import Foundation

/// What loading a manifest and its includes accumulates.
struct LoadState {
    struct DiscoverRule {
        var glob: String
        var fileDirectory: String
        var template: ImageSpec
        var location: SourceLocation
    }

    let manifestDirectory: String
    var discoverRules: [DiscoverRule] = []
    /// Files being loaded (include chain), to refuse include cycles.
    var includeStack: [String] = []

    init(manifestDirectory: String) {
        self.manifestDirectory = manifestDirectory
    }

    static let rootKeys = ["registry", "cache", "remote_cache", "defaults", "variants", "images", "discover", "include"]
    static let includedKeys = ["variants", "images", "discover", "include"]
    static let imageKeys = ["context", "dockerfile", "target", "args", "tags", "variants", "from", "platforms",
                            "labels", "network"]
    static let discoverKeys = ["glob", "variants", "target", "args", "tags", "from", "platforms", "labels", "network"]
    static let settingsKeys = ["args", "labels", "platforms", "network"]

    mutating func loadDocument(_ root: YAMLValue, fileDirectory: String, isRoot: Bool,
                               into manifest: inout Manifest) throws(Manifest.Error) {
        let fields = try root.mapping(allowed: isRoot ? Self.rootKeys : Self.includedKeys)
        if let value = fields["registry"] { manifest.registry = try value.string() }
        if let value = fields["cache"] { manifest.cache = try value.string() }
        if let value = fields["remote_cache"] { manifest.remoteCache = try value.bool() }
        if let value = fields["defaults"] {
            manifest.defaults = try Self.settings(value, allowed: Self.settingsKeys)
        }
        if let value = fields["variants"] {
            for (name, dimension) in try value.mapping() {
                if manifest.dimension(name) != nil {
                    throw Manifest.Error(dimension.keyLocation, "\(dimension.keyPath): variant dimension defined twice")
                }
                var values: [VariantDimension.Value] = []
                for (valueName, settings) in try dimension.mapping() {
                    guard ImageSpec.isValidName(valueName) else {
                        throw Manifest.Error(settings.keyLocation, "\(settings.keyPath): invalid variant name",
                                             hint: "use [a-z0-9][a-z0-9._-]*")
                    }
                    let parsed = settings.isNull ? BuildSettings() : try Self.settings(settings, allowed: ["args", "labels"])
                    values.append(.init(name: valueName, settings: parsed, location: settings.keyLocation))
                }
                if values.isEmpty { throw dimension.error("a variant dimension needs at least one value") }
                manifest.variants.append(VariantDimension(name: name, values: values, location: dimension.keyLocation))
            }
        }
        if let value = fields["images"] {
            for (name, spec) in try value.mapping() {
                guard ImageSpec.isValidName(name) else {
                    throw Manifest.Error(spec.keyLocation, "\(spec.keyPath): invalid image name",
                                         hint: "an image name is [a-z0-9][a-z0-9._-]*")
                }
                if let existing = manifest.images.first(where: { $0.name == name }) {
                    throw Manifest.Error(spec.keyLocation, "\(spec.keyPath): image defined twice",
                                         hint: "first defined at \(existing.location)")
                }
                manifest.images.append(try image(name: name, spec, fileDirectory: fileDirectory))
            }
        }
        if let value = fields["discover"] {
            for rule in try value.list() {
                discoverRules.append(try discoverRule(rule, fileDirectory: fileDirectory))
            }
        }
        if let value = fields["include"] {
            for item in try value.list() {
                let written = try item.string()
                let absolute = ((fileDirectory as NSString).appendingPathComponent(written) as NSString).standardizingPath
                let display = relativePath(absolute, to: manifestDirectory)
                if includeStack.contains(absolute) {
                    throw item.error("include cycle: \((includeStack + [absolute]).map { relativePath($0, to: manifestDirectory) }.joined(separator: " -> "))")
                }
                guard FileManager.default.fileExists(atPath: absolute) else {
                    throw item.error("included file '\(written)' does not exist")
                }
                includeStack.append(absolute)
                let document = try ManifestLoader.readYAML(absolute, display: display)
                try loadDocument(document, fileDirectory: (absolute as NSString).deletingLastPathComponent,
                                 isRoot: false, into: &manifest)
                includeStack.removeLast()
            }
        }
    }

    static func settings(_ value: YAMLValue, allowed: [String]) throws(Manifest.Error) -> BuildSettings {
        let fields = try value.mapping(allowed: allowed)
        return try settings(fields)
    }

    /// Refuses `text`, read from `value`, unless it is a platform (`BuildPlatform`).
    static func checkPlatform(_ text: String, in value: YAMLValue) throws(Manifest.Error) {
        guard BuildPlatform(text) != nil else { throw value.error("'\(text)' is not a platform", hint: BuildPlatform.hint) }
    }

    static func settings(_ fields: [String: YAMLValue]) throws(Manifest.Error) -> BuildSettings {
        var settings = BuildSettings()
        if let args = fields["args"] { settings.args = try args.stringMap() }
        if let labels = fields["labels"] { settings.labels = try labels.stringMap() }
        if let platforms = fields["platforms"] {
            let list = try platforms.stringOrList()
            for platform in list { try Self.checkPlatform(platform, in: platforms) }
            settings.platforms = list
        }
        if let network = fields["network"] { settings.network = try network.string() }
        return settings
    }

    func image(name: String, _ spec: YAMLValue, fileDirectory: String) throws(Manifest.Error) -> ImageSpec {
        let fields = try spec.mapping(allowed: Self.imageKeys)
        guard let contextValue = fields["context"] else {
            throw Manifest.Error(spec.keyLocation, "\(spec.keyPath): missing required key 'context'")
        }
        let context = manifestRelative(try contextValue.string(), fileDirectory: fileDirectory,
                                       manifestDirectory: manifestDirectory)
        var image = ImageSpec(name: name, context: context, dockerfile: Self.join(context, "Dockerfile"),
                              location: spec.keyLocation)
        image.fieldLocations["context"] = contextValue.keyLocation
        try Self.fill(&image, fields, fileDirectory: fileDirectory, manifestDirectory: manifestDirectory)
        return image
    }

    /// Fields shared by `images:` entries and `discover:` rules.
    static func fill(_ image: inout ImageSpec, _ fields: [String: YAMLValue], fileDirectory: String,
                     manifestDirectory: String) throws(Manifest.Error) {
        if let value = fields["dockerfile"] {
            image.dockerfile = manifestRelative(try value.string(), fileDirectory: fileDirectory,
                                                manifestDirectory: manifestDirectory)
        }
        if let value = fields["target"] { image.target = try value.string() }
        if let value = fields["tags"] { image.tags = try value.stringOrList() }
        if let value = fields["variants"] { image.variants = try value.stringOrList() }
        if let value = fields["from"] { image.from = try value.stringOrList() }
        image.settings = try settings(fields)
        for (key, value) in fields { image.fieldLocations[key] = value.keyLocation }
    }

    func discoverRule(_ rule: YAMLValue, fileDirectory: String) throws(Manifest.Error) -> DiscoverRule {
        let fields = try rule.mapping(allowed: Self.discoverKeys)
        guard let glob = fields["glob"] else {
            throw rule.error("missing required key 'glob'", hint: "e.g. glob: services/*/Dockerfile")
        }
        var template = ImageSpec(name: "", context: "", dockerfile: "", location: rule.location, discovered: true)
        try Self.fill(&template, fields, fileDirectory: fileDirectory, manifestDirectory: manifestDirectory)
        return DiscoverRule(glob: try glob.string(), fileDirectory: fileDirectory, template: template,
                            location: glob.keyLocation)
    }

    /// Each file a `discover:` glob matches becomes an image named after its folder, unless an
    /// image of that name is written explicitly (the explicit one wins: that is how one
    /// discovered service gets its own settings).
    func resolveDiscovered(into manifest: inout Manifest) throws(Manifest.Error) {
        var discovered: [String: ImageSpec] = [:]
        for rule in discoverRules {
            let matches = globFiles(rule.glob, in: rule.fileDirectory)
            for match in matches {
                let dockerfile = relativePath(match, to: manifestDirectory)
                let folder = (match as NSString).deletingLastPathComponent
                let name = (folder as NSString).lastPathComponent
                if manifest.images.contains(where: { $0.name == name }) { continue }
                guard ImageSpec.isValidName(name) else {
                    throw Manifest.Error(rule.location, "discover: folder '\(relativePath(folder, to: manifestDirectory))' is not a valid image name",
                                         hint: "rename it to [a-z0-9][a-z0-9._-]* or declare it under images:")
                }
                if let other = discovered[name], other.dockerfile != dockerfile {
                    throw Manifest.Error(rule.location, "discover: two folders named '\(name)': \(other.dockerfile) and \(dockerfile)",
                                         hint: "declare one of them under images: with another name")
                }
                var image = rule.template
                image.name = name
                image.context = relativePath(folder, to: manifestDirectory)
                image.dockerfile = dockerfile
                image.location = rule.location
                discovered[name] = image
            }
        }
        manifest.images += discovered.values.sorted { $0.name < $1.name }
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory == "." ? name : "\(directory)/\(name)"
    }
}
