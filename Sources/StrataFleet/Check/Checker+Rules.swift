import Foundation

/// The rules about args, parents, tags and ports (errors).
extension CheckContext {
    /// Args BuildKit defines without an ARG default (moby/buildkit `dockerfile2llb`: proxy args
    /// and the platform args), so a bare `ARG TARGETARCH` has a value.
    static let predefinedArgs: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
        "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
        "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
        "SOURCE_DATE_EPOCH",
    ]

    /// An ARG used (in FROM, RUN or any expanded instruction) that has no value: no default
    /// and no build arg from the manifest for some build of the image. A variable in a FROM
    /// line that no global ARG declares is an error too (BuildKit expands it to nothing).
    func undefinedArgs() -> [Finding] {
        var findings: [Finding] = []
        for (image, dockerfile, _) in parsedImages {
            let lexer = ShellLexer(escape: dockerfile.escape)
            let nodes = nodesByImage[image.name] ?? []
            let globalDefaults = Dictionary(dockerfile.globalArgs.map { ($0.name, $0.defaultValue) }, uniquingKeysWith: { $1 })
            /// The nodes (variants) for which `name` has no value.
            func unset(_ name: String, defaulted: Bool) -> [BuildNode] {
                if defaulted || Self.predefinedArgs.contains(name) { return [] }
                return nodes.filter { $0.args[name] == nil }
            }
            func report(_ name: String, line: Int, missingFor: [BuildNode], declaredAt: Int?) {
                let which = missingFor.count == nodes.count || nodes.count == 1 ? ""
                    : " for \(missingFor.map(\.name).joined(separator: ", "))"
                let declared = declaredAt.map { " (declared on line \($0) without a default)" } ?? ""
                findings.append(Finding(.error, rule: "undefined-arg", at: SourceLocation(file: dockerfile.path, line: line),
                                        node: image.name,
                                        message: "ARG \(name) is used but has no value\(which)\(declared)",
                                        hint: "give it a default (ARG \(name)=…) or set args: {\(name): …} in \(fleet.displayPath(fleet.manifest.path))"))
            }
            let usedStages = Set(nodes.flatMap { Self.stages(dockerfile, node: $0).map(\.index) })
            for stage in dockerfile.stages where usedStages.contains(stage.index) {
                for reference in lexer.references(in: stage.baseReference) where !reference.hasFallback {
                    guard let declared = dockerfile.globalArgs.last(where: { $0.name == reference.name }) else {
                        if Self.predefinedArgs.contains(reference.name) { continue }
                        findings.append(Finding(.error, rule: "undefined-arg", at: SourceLocation(file: dockerfile.path, line: stage.from.line),
                                                node: image.name,
                                                message: "FROM uses $\(reference.name), which no ARG before the first FROM declares",
                                                hint: "add ARG \(reference.name)=… before the first FROM"))
                        continue
                    }
                    let missing = unset(reference.name, defaulted: declared.defaultValue != nil)
                    if !missing.isEmpty { report(reference.name, line: stage.from.line, missingFor: missing, declaredAt: declared.line) }
                }
                // ARGs in scope in this stage so far, and whether each has a default.
                var scope: [String: (defaulted: Bool, line: Int)] = [:]
                for instruction in stage.instructions {
                    if instruction.keyword == "ARG" {
                        for declaration in instruction.argDeclarations {
                            // A stage ARG without a default takes the global ARG's default.
                            let inherited = globalDefaults[declaration.name].map { $0 != nil } ?? false
                            scope[declaration.name] = (declaration.defaultValue != nil || inherited, declaration.line)
                        }
                        continue
                    }
                    var texts = [instruction.rest] + instruction.flags.compactMap(\.value)
                    texts += instruction.heredocs.filter(\.expand).map(\.content)
                    for text in texts {
                        for reference in lexer.references(in: text) where !reference.hasFallback {
                            guard let declared = scope[reference.name] else { continue }
                            let missing = unset(reference.name, defaulted: declared.defaulted)
                            if !missing.isEmpty {
                                report(reference.name, line: instruction.line, missingFor: missing, declaredAt: declared.line)
                            }
                        }
                    }
                }
            }
        }
        return findings
    }

    /// `from:` in the manifest that disagrees with what the Dockerfile builds on.
    func explicitParents() -> [Finding] {
        var findings: [Finding] = []
        for image in fleet.manifest.images where !image.from.isEmpty {
            guard let node = firstNode[image.name], fleet.dockerfiles[node.dockerfilePath] != nil else { continue }
            let inferred = Set(node.parents.filter { $0.kind != .explicit }.compactMap { fleet.node(named: $0.node)?.image })
            let declared = Set(image.from)
            let notUsed = declared.subtracting(inferred).filter { fleet.image(named: $0) != nil }.sorted()
            let undeclared = inferred.subtracting(declared).sorted()
            guard !notUsed.isEmpty || !undeclared.isEmpty else { continue }
            var parts: [String] = []
            if !notUsed.isEmpty { parts.append("from: names \(notUsed.joined(separator: ", ")) but the Dockerfile does not build on it") }
            if !undeclared.isEmpty { parts.append("the Dockerfile builds on \(undeclared.joined(separator: ", ")), which from: leaves out") }
            findings.append(Finding(.error, rule: "from-mismatch", at: image.location(of: "from"), node: image.name,
                                    message: "image '\(image.name)': " + parts.joined(separator: "; "),
                                    hint: "make from: [\(inferred.sorted().joined(separator: ", "))] or change the FROM line"))
        }
        return findings
    }

    /// Two builds that would push the same `repository:tag`.
    func duplicateTags() -> [Finding] {
        var owners: [String: BuildNode] = [:]
        var findings: [Finding] = []
        let registry = fleet.registries.first
        for node in fleet.nodes {
            guard let image = fleet.image(named: node.image) else { continue }
            let repository = image.imageReference.map { ImageReference(parsing: $0).repository }
                ?? registry.map { "\($0)/\(node.image)" } ?? node.image
            var own = Set<String>()
            for tag in node.tags {
                let reference = "\(repository):\(tag)"
                // Platforms of one node share its tags through an image index.
                let platformless = node.platform == nil ? node.name : String(node.name.prefix { $0 != "/" })
                if !own.insert(reference).inserted {
                    findings.append(Finding(.error, rule: "duplicate-tag", at: image.location(of: "tags"), node: node.name,
                                            message: "tag '\(tag)' is listed twice for '\(node.name)'"))
                } else if let other = owners[reference], String(other.name.prefix { $0 != "/" }) != platformless {
                    findings.append(Finding(.error, rule: "duplicate-tag", at: image.location(of: "tags"), node: node.name,
                                            message: "'\(node.name)' and '\(other.name)' would both push \(reference)",
                                            hint: "give one of them another tag or image name"))
                } else {
                    owners[reference] = node
                }
            }
        }
        return findings
    }

    /// Two services that EXPOSE the same port and would run side by side: within one variant
    /// (one machine profile), counting images without variants on every machine.
    func portCollisions() -> [Finding] {
        var exposed: [(node: BuildNode, port: String, line: Int, file: String)] = []
        for (image, dockerfile, _) in parsedImages where leafImages.contains(image.name) {
            let lexer = ShellLexer(escape: dockerfile.escape)
            for node in nodesByImage[image.name] ?? [] {
                guard let stage = Self.finalStage(dockerfile, target: node.target) else { continue }
                // Values in scope as the build sees them: build args, else ARG defaults.
                var scope = FleetResolver.globalScope(dockerfile, args: node.args, platform: node.platform)
                for instruction in stage.instructions {
                    if instruction.keyword == "ARG" {
                        for declaration in instruction.argDeclarations {
                            let fallback = declaration.defaultValue.map { (try? lexer.expand($0) { scope[$0] }) ?? $0 }
                            scope[declaration.name] = node.args[declaration.name] ?? fallback ?? scope[declaration.name]
                        }
                        continue
                    }
                    guard instruction.keyword == "EXPOSE" else { continue }
                    for word in instruction.arguments {
                        let value = (try? lexer.expand(word) { scope[$0] }) ?? word
                        let port = value.lowercased().hasSuffix("/tcp") ? String(value.dropLast(4)) : value.lowercased()
                        // A port that expands to nothing is the undefined-arg rule's business.
                        if port.isEmpty { continue }
                        exposed.append((node, port, instruction.line, dockerfile.path))
                    }
                }
            }
        }
        var findings: [Finding] = []
        var reported = Set<String>()
        for (position, first) in exposed.enumerated() {
            for second in exposed[(position + 1)...] where second.port == first.port && second.node.image != first.node.image {
                let together = first.node.variant == nil || second.node.variant == nil || first.node.variant == second.node.variant
                guard together, first.node.platform == second.node.platform || first.node.platform == nil || second.node.platform == nil else { continue }
                let key = [first.node.name, second.node.name].sorted().joined(separator: "|") + second.port
                guard reported.insert(key).inserted else { continue }
                findings.append(Finding(.error, rule: "port-collision", at: SourceLocation(file: second.file, line: second.line),
                                        node: second.node.name,
                                        message: "port \(second.port) is exposed by both '\(second.node.name)' and '\(first.node.name)' (\(first.file):\(first.line))",
                                        hint: "services of one machine need distinct ports"))
            }
        }
        return findings
    }
}
