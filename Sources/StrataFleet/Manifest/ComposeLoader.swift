import Foundation

/// Reads the images of a `docker-compose.yml`: every service with a `build:` section
/// (compose-spec `build.md`). Services without `build:` (databases, pulled images) are not
/// part of the fleet, and the keys of a service that only say how it runs are left alone.
/// Every string strata reads is interpolated (`ComposeInterpolation`), and every `build:` key
/// strata does not honour is a warning with its line: nothing is dropped silently.
struct ComposeLoader {
    let manifestDirectory: String
    let interpolation: ComposeInterpolation
    /// Warnings with file and line: unset variables, `build:` keys not honoured.
    private(set) var warnings: [Finding] = []

    init(manifestDirectory: String, environment: [String: String]) {
        self.manifestDirectory = manifestDirectory
        let dotEnv = ComposeInterpolation.readDotEnv(manifestDirectory + "/.env") ?? [:]
        interpolation = ComposeInterpolation(environment: environment, dotEnv: dotEnv)
    }

    /// `build:` keys strata honours.
    static let honoured = ["context", "dockerfile", "args", "target", "labels", "network", "platforms"]
    /// `build:` keys of the compose specification that strata does not honour (yet), with why
    /// it matters.
    static let notHonoured: [String: String] = [
        "dockerfile_inline": "write the Dockerfile to a file and name it with dockerfile:",
        "ssh": "SSH agent forwarding is not supported yet",
        "secrets": "give them to strata build --secret id=ID,src=FILE (or ,env=VAR)",
        "cache_from": "external cache sources are not used; strata's own key cache decides what is built",
        "cache_to": "cache exports are not written; strata's cache directory and registry tags are its cache",
        "additional_contexts": "named contexts are not sent",
        "tags": "extra tags come from image: and strata's --tag",
        "no_cache": "use strata build --no-cache",
        "pull": "strata never pulls a base during a build; use strata plan --refresh-bases",
        "entitlements": "builds run without extra entitlements",
        "extra_hosts": "builds run without extra host entries",
        "isolation": "builds use the engine's default isolation",
        "privileged": "builds run unprivileged",
        "shm_size": "builds use the engine's default /dev/shm size",
        "ulimits": "builds use the engine's default ulimits",
    ]

    mutating func images(from root: YAMLValue) throws(Manifest.Error) -> [ImageSpec] {
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
            var image = try self.image(name: name, build: build)
            image.location = service.keyLocation
            if let reference = fields["image"] {
                let written = try text(reference)
                image.imageReference = written
                image.tags = [ImageReference(parsing: written).tag ?? "latest"]
                image.fieldLocations["tags"] = reference.keyLocation
            }
            if let platform = fields["platform"] {
                let written = try text(platform)
                try LoadState.checkPlatform(written, in: platform)
                image.settings.platforms = [written]
            }
            images.append(image)
        }
        return images
    }

    private mutating func image(name: String, build: YAMLValue) throws(Manifest.Error) -> ImageSpec {
        if case .scalar = build.node {
            let context = manifestRelative(try text(build), fileDirectory: manifestDirectory, manifestDirectory: manifestDirectory)
            return ImageSpec(name: name, context: context, dockerfile: LoadState.join(context, "Dockerfile"),
                             location: build.keyLocation,
                             fieldLocations: ["context": build.keyLocation, "dockerfile": build.keyLocation])
        }
        let fields = Dictionary(try build.mapping(), uniquingKeysWith: { first, _ in first })
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !Self.honoured.contains(key) && !key.hasPrefix("x-") {
            if let why = Self.notHonoured[key] {
                warn(value, rule: "compose-unsupported", "\(value.keyPath) is not honoured by strata: \(why)")
            } else {
                warn(value, rule: "compose-unknown-key", "\(value.keyPath) is not a compose build key; strata ignores it",
                     hint: nearest(key, in: Self.honoured + Self.notHonoured.keys.sorted()).map { "did you mean '\($0)'?" })
            }
        }
        var writtenContext = "."
        if let value = fields["context"] { writtenContext = try text(value) }
        let context = manifestRelative(writtenContext, fileDirectory: manifestDirectory, manifestDirectory: manifestDirectory)
        // Compose resolves `dockerfile` against the context, not the compose file.
        let contextDirectory = context == "." ? manifestDirectory : manifestDirectory + "/" + context
        var writtenDockerfile = "Dockerfile"
        if let value = fields["dockerfile"] { writtenDockerfile = try text(value) }
        let dockerfile = manifestRelative(writtenDockerfile, fileDirectory: contextDirectory, manifestDirectory: manifestDirectory)
        var image = ImageSpec(name: name, context: context, dockerfile: dockerfile, location: build.keyLocation)
        for (key, value) in fields { image.fieldLocations[key] = value.keyLocation }
        image.fieldLocations["context"] = fields["context"]?.keyLocation ?? build.keyLocation
        image.fieldLocations["dockerfile"] = fields["dockerfile"]?.keyLocation ?? build.keyLocation
        if let target = fields["target"] { image.target = try text(target) }
        if let args = fields["args"] { image.settings.args = try keyValues(args) }
        if let labels = fields["labels"] { image.settings.labels = try keyValues(labels) }
        if let network = fields["network"] { image.settings.network = try text(network) }
        if let platforms = fields["platforms"] {
            var list: [String] = []
            for item in try platforms.list() { list.append(try text(item)) }
            image.settings.platforms = list
        }
        return image
    }

    /// Compose writes args and labels as a mapping or as a list of `KEY=value`; a bare `KEY`
    /// (or a key with no value) takes its value from the environment, as compose does, and
    /// is left out when the environment has none.
    private mutating func keyValues(_ value: YAMLValue) throws(Manifest.Error) -> [String: String] {
        var result: [String: String] = [:]
        if case .mapping = value.node {
            for (key, item) in try value.mapping() {
                if item.isNull {
                    if let fromEnvironment = interpolation.variables[key] { result[key] = fromEnvironment }
                } else {
                    result[key] = try text(item)
                }
            }
            return result
        }
        for item in try value.list() {
            let entry = try text(item)
            if let equals = entry.firstIndex(of: "=") {
                result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            } else if let fromEnvironment = interpolation.variables[entry] {
                result[entry] = fromEnvironment
            }
        }
        return result
    }

    /// A string value, interpolated; a variable without a value is a warning, a required one
    /// (`${VAR:?why}`) or a malformed `${` an error, each at the value's line.
    private mutating func text(_ value: YAMLValue) throws(Manifest.Error) -> String {
        let written = try value.string()
        var unset: [String] = []
        let result: String
        do {
            result = try interpolation.interpolate(written, unset: &unset)
        } catch {
            throw Manifest.Error(value.keyLocation, "\(value.keyPath): \(error.message)",
                                 hint: "set it in the environment or in .env next to the compose file")
        }
        for name in Set(unset).sorted() {
            warn(value, rule: "compose-variable", "\(value.keyPath): the \(name) variable is not set; it is an empty string here",
                 hint: "set it in the environment or in .env, or write ${\(name):-default}")
        }
        return result
    }

    private mutating func warn(_ value: YAMLValue, rule: String, _ message: String, hint: String? = nil) {
        warnings.append(Finding(.warning, rule: rule, at: value.keyLocation, message: message, hint: hint))
    }
}
