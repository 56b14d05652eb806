import Foundation

/// Turns a manifest into build nodes and edges; see `Fleet.load`.
struct FleetResolver {
    let manifest: Manifest
    let registries: [String]
    var dockerfiles: [String: Dockerfile] = [:]
    var findings: [Finding] = []

    init(manifest: Manifest, registryOverride: String?) {
        self.manifest = manifest
        findings = manifest.warnings
        registries = [registryOverride, manifest.registry].compactMap { $0 }.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    mutating func resolve() -> Fleet {
        var nodes: [BuildNode] = []
        for image in manifest.images {
            nodes += expand(image)
        }
        var nodesByImage: [String: [BuildNode]] = [:]
        for node in nodes { nodesByImage[node.image, default: []].append(node) }
        for index in nodes.indices {
            guard let image = manifest.images.first(where: { $0.name == nodes[index].image }) else { continue }
            resolveParents(&nodes[index], image: image, nodesByImage: nodesByImage)
        }
        let graph = Graph(nodes.map { ($0.name, $0.parentNames) })
        var waves: [Int] = []
        if let cycle = graph.cycle() {
            let first = nodes[graph.index[cycle[0]]!]
            let edge = first.parents.first { $0.node == cycle[1] }
            findings.append(Finding(.error, rule: "cycle", at: edge?.location ?? manifestLocation(first.image), node: first.name,
                                    message: "dependency cycle: \(cycle.joined(separator: " -> "))",
                                    hint: "an image cannot be built on itself or on its own descendants"))
        } else {
            waves = graph.waves() ?? []
        }
        return Fleet(manifest: manifest, registries: registries, nodes: nodes, dockerfiles: dockerfiles,
                     findings: findings, graph: graph, waves: waves)
    }

    func manifestLocation(_ image: String) -> SourceLocation {
        manifest.images.first { $0.name == image }?.location ?? SourceLocation(file: displayPath(manifest.path), line: 0)
    }

    func displayPath(_ absolute: String) -> String {
        relativePath(absolute, to: manifest.directory)
    }

    func absolute(_ relative: String) -> String {
        relative == "." ? manifest.directory : ((manifest.directory as NSString).appendingPathComponent(relative) as NSString).standardizingPath
    }

    // MARK: Nodes

    /// One node per combination of the image's variant values and per platform.
    mutating func expand(_ image: ImageSpec) -> [BuildNode] {
        var dimensions: [VariantDimension] = []
        for name in image.variants {
            if let dimension = manifest.dimension(name) {
                dimensions.append(dimension)
            } else {
                findings.append(Finding(.error, rule: "unknown-variant", at: image.location(of: "variants"), node: image.name,
                                        message: "image '\(image.name)' uses variant dimension '\(name)', which is not defined",
                                        hint: nearest(name, in: manifest.variants.map(\.name)).map { "did you mean '\($0)'?" }
                                            ?? "define it under variants:"))
            }
        }
        let contextDirectory = absolute(image.context)
        let dockerfilePath = absolute(image.dockerfile)
        readDockerfile(image, contextDirectory: contextDirectory, dockerfilePath: dockerfilePath)

        var combinations: [[VariantDimension.Value]] = [[]]
        for dimension in dimensions {
            combinations = combinations.flatMap { prefix in dimension.values.map { prefix + [$0] } }
        }
        let platforms = image.settings.platforms ?? manifest.defaults.platforms ?? []
        var nodes: [BuildNode] = []
        for combination in combinations {
            var settings = manifest.defaults
            for value in combination { settings = settings.merged(with: value.settings) }
            settings = settings.merged(with: image.settings)
            let variant = combination.isEmpty ? nil : combination.map(\.name).joined(separator: "-")
            var values: [String: String] = [:]
            for (dimension, value) in zip(dimensions, combination) { values[dimension.name] = value.name }
            let baseName = variant.map { "\(image.name)@\($0)" } ?? image.name
            // A tag template that places {variant} itself gets no `-<variant>` suffix; the
            // other placeholders are expanded at build time (TagTemplate).
            let tags = (image.tags.isEmpty ? ["latest"] : image.tags).map { tag in
                guard let variant else { return tag }
                return tag.contains("{variant}") ? tag.replacingOccurrences(of: "{variant}", with: variant) : "\(tag)-\(variant)"
            }
            for platform in platforms.isEmpty ? [nil] : platforms.map(Optional.some) {
                let name = platforms.count > 1 ? "\(baseName)/\(platform!)" : baseName
                nodes.append(BuildNode(name: name, image: image.name, variant: variant, variantValues: values,
                                       platform: platform, args: settings.args, labels: settings.labels,
                                       network: settings.network, target: image.target,
                                       contextDirectory: contextDirectory, dockerfilePath: dockerfilePath,
                                       tags: tags, parents: [], fleetReferences: [], externalBases: []))
            }
        }
        return nodes
    }

    /// Reads and parses an image's Dockerfile once; a missing context or Dockerfile, or a
    /// syntax error, becomes a finding.
    mutating func readDockerfile(_ image: ImageSpec, contextDirectory: String, dockerfilePath: String) {
        if dockerfiles[dockerfilePath] != nil { return }
        if !isDirectory(contextDirectory) {
            findings.append(Finding(.error, rule: "missing-context", at: image.location(of: "context"), node: image.name,
                                    message: "context folder '\(image.context)' of image '\(image.name)' does not exist",
                                    hint: suggestion(for: contextDirectory)))
            return
        }
        guard let data = FileManager.default.contents(atPath: dockerfilePath) else {
            findings.append(Finding(.error, rule: "missing-dockerfile", at: image.location(of: "dockerfile"), node: image.name,
                                    message: "Dockerfile '\(image.dockerfile)' of image '\(image.name)' does not exist",
                                    hint: suggestion(for: dockerfilePath)))
            return
        }
        let display = displayPath(dockerfilePath)
        do {
            dockerfiles[dockerfilePath] = try Dockerfile.parse(String(decoding: data, as: UTF8.self), path: display)
        } catch {
            findings.append(Finding(.error, rule: "dockerfile-syntax", at: SourceLocation(file: display, line: error.line),
                                    node: image.name, message: error.message))
        }
    }

    /// "did you mean …" for a missing path: the nearest existing name at the first component
    /// that does not exist.
    func suggestion(for missing: String) -> String? {
        if let fixed = componentFix(for: missing) { return "did you mean '\(fixed)'?" }
        return similarPath(to: missing).map { "did you mean '\($0)'?" }
    }

    /// `missing` with its first absent component replaced by the nearest name in its folder
    /// (a typo: `servces/web` → `services/web`).
    private func componentFix(for missing: String) -> String? {
        var existing = manifest.directory
        let components = displayPath(missing).split(separator: "/").map(String.init)
        for (position, component) in components.enumerated() {
            let candidate = existing + "/" + component
            if FileManager.default.fileExists(atPath: candidate) {
                existing = candidate
                continue
            }
            let names = listDirectory(existing).map(\.name)
            guard let close = nearest(component, in: names) ?? names.first(where: { $0.lowercased() == component.lowercased() }) else {
                return nil
            }
            return (components[..<position] + [close] + components[(position + 1)...]).joined(separator: "/")
        }
        return nil
    }

    /// The entry of the manifest's folder tree with the same name as `missing`'s last
    /// component (a file for a file, a folder for a folder) whose path is most like it: the
    /// most trailing components in common, then the smallest edit distance. A folder that
    /// moved (`docker/api/Dockerfile` → `dockerfiles/api/Dockerfile`) is found this way.
    /// Hidden folders are not searched; at most 20,000 entries are looked at.
    private func similarPath(to missing: String) -> String? {
        let relative = displayPath(missing)
        let wanted = relative.split(separator: "/").map(String.init)
        guard let name = wanted.last, let walker = FileManager.default.enumerator(atPath: manifest.directory) else { return nil }
        var best: (path: String, trailing: Int, distance: Int)?
        var seen = 0
        while let path = walker.nextObject() as? String, seen < 20_000 {
            seen += 1
            let components = path.split(separator: "/").map(String.init)
            guard let last = components.last else { continue }
            if last.hasPrefix(".") {
                if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { walker.skipDescendants() }
                continue
            }
            guard last == name, path != relative else { continue }
            let trailing = zip(components.reversed(), wanted.reversed()).prefix { $0 == $1 }.count
            let distance = editDistance(path, relative)
            if best.map({ (trailing, -distance) > ($0.trailing, -$0.distance) }) ?? true {
                best = (path, trailing, distance)
            }
        }
        guard let best, best.trailing >= 2 || best.distance <= max(3, relative.count / 3) else { return nil }
        return best.path
    }
}
