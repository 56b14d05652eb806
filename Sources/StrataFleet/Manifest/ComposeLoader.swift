import Foundation

/// Reads the images of a `docker-compose.yml`: every service with a `build:` section
/// (compose-spec `build.md`). Services without `build:` (databases, pulled images) are not
/// part of the fleet. Keys strata does not use are left alone: a compose file has many.
enum ComposeLoader {
    static func images(from root: YAMLValue, manifestDirectory: String) throws(Manifest.Error) -> [ImageSpec] {
        var images: [ImageSpec] = []
        let top = try root.mapping()
        guard let services = top.first(where: { $0.key == "services" })?.value else {
            throw root.error("a compose file needs a 'services:' mapping")
        }
        for (name, service) in try services.mapping() {
            let fields = Dictionary(try service.mapping(), uniquingKeysWith: { first, _ in first })
            guard let build = fields["build"] else { continue }
            guard ImageSpec.isValidName(name) else {
                throw Manifest.Error(service.keyLocation, "\(service.keyPath): '\(name)' is not a valid image name",
                                     hint: "strata image names are [a-z0-9][a-z0-9._-]*")
            }
            var image = try self.image(name: name, build: build, manifestDirectory: manifestDirectory)
            image.location = service.keyLocation
            if let reference = fields["image"] {
                let written = try reference.string()
                image.imageReference = written
                image.tags = [ImageReference(parsing: written).tag ?? "latest"]
                image.fieldLocations["tags"] = reference.keyLocation
            }
            if let platform = fields["platform"] {
                let written = try platform.string()
                try LoadState.checkPlatform(written, in: platform)
                image.settings.platforms = [written]
            }
            images.append(image)
        }
        return images
    }

    private static func image(name: String, build: YAMLValue, manifestDirectory: String) throws(Manifest.Error) -> ImageSpec {
        if case .scalar = build.node {
            let context = manifestRelative(try build.string(), fileDirectory: manifestDirectory,
                                           manifestDirectory: manifestDirectory)
            return ImageSpec(name: name, context: context, dockerfile: LoadState.join(context, "Dockerfile"),
                             location: build.keyLocation,
                             fieldLocations: ["context": build.keyLocation, "dockerfile": build.keyLocation])
        }
        let fields = Dictionary(try build.mapping(), uniquingKeysWith: { first, _ in first })
        let context = manifestRelative(try fields["context"]?.string() ?? ".", fileDirectory: manifestDirectory,
                                       manifestDirectory: manifestDirectory)
        // Compose resolves `dockerfile` against the context, not the compose file.
        let contextDirectory = context == "." ? manifestDirectory : manifestDirectory + "/" + context
        let dockerfile = manifestRelative(try fields["dockerfile"]?.string() ?? "Dockerfile",
                                          fileDirectory: contextDirectory, manifestDirectory: manifestDirectory)
        var image = ImageSpec(name: name, context: context, dockerfile: dockerfile, location: build.keyLocation)
        for (key, value) in fields { image.fieldLocations[key] = value.keyLocation }
        image.fieldLocations["context"] = fields["context"]?.keyLocation ?? build.keyLocation
        image.fieldLocations["dockerfile"] = fields["dockerfile"]?.keyLocation ?? build.keyLocation
        if let target = fields["target"] { image.target = try target.string() }
        if let args = fields["args"] { image.settings.args = try keyValues(args) }
        if let labels = fields["labels"] { image.settings.labels = try keyValues(labels) }
        if let network = fields["network"] { image.settings.network = try network.string() }
        if let platforms = fields["platforms"] { image.settings.platforms = try platforms.stringList() }
        return image
    }

    /// Compose writes args and labels as a mapping or as a list of `KEY=value`; a bare `KEY`
    /// takes its value from the environment, as compose does.
    private static func keyValues(_ value: YAMLValue) throws(Manifest.Error) -> [String: String] {
        if case .mapping = value.node { return try value.stringMap() }
        var result: [String: String] = [:]
        for item in try value.list() {
            let entry = try item.string()
            if let equals = entry.firstIndex(of: "=") {
                result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            } else if let fromEnvironment = ProcessInfo.processInfo.environment[entry] {
                result[entry] = fromEnvironment
            }
        }
        return result
    }
}
