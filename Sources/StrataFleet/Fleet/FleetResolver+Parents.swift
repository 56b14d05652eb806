import Foundation

/// Parent inference: which references of a node's Dockerfile name fleet images.
extension FleetResolver {
    /// BuildKit's automatic platform args, in scope in FROM lines without an ARG
    /// (moby/buildkit `frontend/dockerfile/dockerfile2llb/convert.go`, `buildArgsFromPlatform`).
    static func platformArgs(_ platform: String?) -> [String: String] {
        let target = platform.flatMap(BuildPlatform.init) ?? BuildPlatform(os: "linux", architecture: "amd64")
        return ["TARGETPLATFORM": target.description, "TARGETOS": target.os, "TARGETARCH": target.architecture,
                "TARGETVARIANT": target.variant ?? "",
                "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": ""]
    }

    /// Values of the global ARGs (before the first FROM) for a node: its build arg when the
    /// Dockerfile declares the ARG, else the declared default, expanded in order.
    static func globalScope(_ dockerfile: Dockerfile, args: [String: String], platform: String?) -> [String: String] {
        var scope = platformArgs(platform)
        let lexer = ShellLexer(escape: dockerfile.escape)
        for declaration in dockerfile.globalArgs {
            if let value = args[declaration.name] {
                scope[declaration.name] = value
            } else if let value = declaration.defaultValue {
                scope[declaration.name] = (try? lexer.expand(value) { scope[$0] }) ?? value
            }
        }
        return scope
    }

    /// The stages a build of `target` (or of the last stage) runs: BuildKit only builds the
    /// stages the target depends on, so a FROM in an unused stage is no edge.
    static func reachableStages(_ dockerfile: Dockerfile, target: String?, scope: [String: String]) -> [Int]? {
        guard !dockerfile.stages.isEmpty else { return [] }
        let lexer = ShellLexer(escape: dockerfile.escape)
        var names: [String: Int] = [:]
        for stage in dockerfile.stages { if let name = stage.name { names[name] = stage.index } }
        let start: Int
        if let target {
            guard let index = names[target.lowercased()] else { return nil }
            start = index
        } else {
            start = dockerfile.stages.count - 1
        }
        func stageIndex(_ reference: String, before limit: Int) -> Int? {
            let lowered = reference.lowercased()
            if let index = names[lowered], index < limit { return index }
            if let number = Int(reference), number >= 0, number < limit { return number }
            return nil
        }
        var seen: Set<Int> = [start]
        var stack = [start]
        while let index = stack.popLast() {
            let stage = dockerfile.stages[index]
            var references = [(try? lexer.expand(stage.baseReference) { scope[$0] }) ?? stage.baseReference]
            for instruction in stage.instructions { references += stageReferences(instruction) }
            for reference in references {
                if let dependency = stageIndex(reference, before: index), seen.insert(dependency).inserted {
                    stack.append(dependency)
                }
            }
        }
        return seen.sorted()
    }

    /// `COPY --from=x`, `ADD --from=x` and `RUN --mount=…,from=x` values, as written.
    static func stageReferences(_ instruction: Instruction) -> [String] {
        switch instruction.keyword {
        case "COPY", "ADD":
            return instruction.flag("from").map { [$0] } ?? []
        case "RUN":
            return instruction.flagValues("mount").compactMap { mountOption($0, "from") }
        default:
            return []
        }
    }

    /// The value of one `key=value` option of a `--mount` flag (CSV as BuildKit reads it).
    static func mountOption(_ mount: String, _ key: String) -> String? {
        for field in mount.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == key {
                return parts[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            }
        }
        return nil
    }

    /// The fleet image a reference names: its repository is the image's name, or
    /// `<registry>/<name>` for the manifest's registry or `--registry`, or the `image:` of a
    /// compose service.
    func fleetImage(for reference: String) -> String? {
        let parsed = ImageReference(parsing: reference)
        let repository = parsed.repository
        for image in manifest.images {
            if repository == image.name { return image.name }
            for registry in registries where repository == "\(registry)/\(image.name)" { return image.name }
            if let written = image.imageReference, ImageReference(parsing: written).repository == repository {
                return image.name
            }
        }
        return nil
    }

    mutating func resolveParents(_ node: inout BuildNode, image: ImageSpec, nodesByImage: [String: [BuildNode]]) {
        var references: [(reference: String, kind: ParentEdge.Kind, location: SourceLocation)] = []
        if let dockerfile = dockerfiles[node.dockerfilePath] {
            let scope = Self.globalScope(dockerfile, args: node.args, platform: node.platform)
            let lexer = ShellLexer(escape: dockerfile.escape)
            guard let reachable = Self.reachableStages(dockerfile, target: node.target, scope: scope) else {
                if !findings.contains(where: { $0.rule == "unknown-target" && $0.node == image.name }) {
                    let stages = dockerfile.stages.compactMap(\.name)
                    findings.append(Finding(.error, rule: "unknown-target", at: image.location(of: "target"), node: image.name,
                                            message: "target stage '\(node.target ?? "")' is not in \(dockerfile.path)",
                                            hint: stages.isEmpty ? "the Dockerfile names no stage (FROM … AS name)"
                                                : "stages: \(stages.joined(separator: ", "))"))
                }
                return
            }
            let stageNames = Set(dockerfile.stages.compactMap(\.name))
            for index in reachable {
                let stage = dockerfile.stages[index]
                let at = SourceLocation(file: dockerfile.path, line: stage.from.line)
                let base = (try? lexer.expand(stage.baseReference) { scope[$0] }) ?? stage.baseReference
                let earlier = dockerfile.stages[..<index].contains { $0.name == base.lowercased() }
                if !earlier && base.lowercased() != "scratch" { references.append((base, .from, at)) }
                for instruction in stage.instructions {
                    for source in Self.uncheckedAddSources(instruction) {
                        let value = (try? lexer.expand(source) { node.args[$0] ?? scope[$0] }) ?? source
                        guard Self.isRemote(value), !node.remoteSources.contains(where: { $0.reference == value }) else { continue }
                        node.remoteSources.append(ExternalBase(reference: value,
                                                               location: SourceLocation(file: dockerfile.path, line: instruction.line)))
                    }
                    let kind: ParentEdge.Kind = instruction.keyword == "RUN" ? .mountFrom : .copyFrom
                    for written in Self.stageReferences(instruction) {
                        let value = (try? lexer.expand(written) { node.args[$0] ?? scope[$0] }) ?? written
                        if stageNames.contains(value.lowercased()) || Int(value) != nil { continue }
                        references.append((value, kind, SourceLocation(file: dockerfile.path, line: instruction.line)))
                    }
                }
            }
        }
        for name in image.from {
            references.append((name, .explicit, image.location(of: "from")))
        }
        for (reference, kind, location) in references {
            guard let parentImage = kind == .explicit ? (nodesByImage[reference] != nil ? reference : nil)
                                                      : fleetImage(for: reference) else {
                if kind == .explicit {
                    findings.append(Finding(.error, rule: "unknown-parent", at: location, node: node.name,
                                            message: "from: names '\(reference)', which is not an image of the fleet",
                                            hint: nearest(reference, in: manifest.images.map(\.name)).map { "did you mean '\($0)'?" }))
                } else if kind == .from || !node.externalBases.contains(where: { $0.reference == reference }) {
                    node.externalBases.append(ExternalBase(reference: reference, location: location))
                }
                continue
            }
            guard let parent = matchParent(of: node, image: parentImage, candidates: nodesByImage[parentImage] ?? [],
                                           location: location) else { continue }
            let edge = ParentEdge(node: parent, reference: reference, kind: kind, location: location)
            if kind != .explicit { node.fleetReferences.append(edge) }
            if node.parents.contains(where: { $0.node == parent }) { continue }
            node.parents.append(edge)
        }
    }

    /// The sources of an `ADD` without `--checksum`, as written.
    static func uncheckedAddSources(_ instruction: Instruction) -> [String] {
        guard instruction.keyword == "ADD", instruction.flag("checksum") == nil else { return [] }
        return Array(instruction.arguments.dropLast())
    }

    /// A source BuildKit fetches from the network: an `http(s)://` URL or a git repository
    /// (`git@…`, `git://…`).
    static func isRemote(_ source: String) -> Bool {
        ["http://", "https://", "git@", "git://"].contains { source.lowercased().hasPrefix($0) }
    }

    /// The parent node a node depends on: the parent's single node, or the one with the same
    /// variant values (and platform) as the child.
    mutating func matchParent(of node: BuildNode, image parentImage: String, candidates: [BuildNode],
                              location: SourceLocation) -> String? {
        if candidates.count == 1 { return candidates[0].name }
        let matching = candidates.filter { candidate in
            candidate.variantValues.allSatisfy { node.variantValues[$0.key] == $0.value }
                && (candidate.platform == nil || node.platform == nil || candidate.platform == node.platform)
        }
        if matching.count == 1 { return matching[0].name }
        let missing = Set(candidates.flatMap(\.variantValues.keys)).subtracting(node.variantValues.keys).sorted()
        let rule = "variant-mismatch"
        if !findings.contains(where: { $0.rule == rule && $0.node == node.image && $0.line == location.line }) {
            findings.append(Finding(.error, rule: rule, at: location, node: node.image,
                                    message: "'\(node.image)' is built on '\(parentImage)', which has \(candidates.count) builds, and strata cannot tell which one",
                                    hint: missing.isEmpty ? "give both images the same platforms"
                                        : "give '\(node.image)' variants: [\(missing.joined(separator: ", "))]"))
        }
        return nil
    }
}
