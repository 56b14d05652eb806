import Foundation

/// The rules that warn: services running as root or without HEALTHCHECK, unpinned bases,
/// secrets in ENV or ARG.
extension CheckContext {
    /// Services (leaf images) whose final stage runs as root or has no HEALTHCHECK. Bases are
    /// not warned about: their children set USER and HEALTHCHECK. Both are inherited, from an
    /// earlier stage the final one is built on or from a fleet parent image, so the search
    /// follows that chain.
    func leafWarnings() -> [Finding] {
        var findings: [Finding] = []
        for (image, dockerfile, node) in parsedImages where leafImages.contains(image.name) {
            guard let stage = Self.finalStage(dockerfile, target: node.target) else { continue }
            let user = inherited("USER", node: node, dockerfile: dockerfile, stage: stage)
            let name = user?.arguments.first.map { String($0.prefix { $0 != ":" }) }
            if user == nil || name == "root" || name == "0" {
                let line = user.flatMap { found in stage.instructions.contains(found) ? found.line : nil } ?? stage.from.line
                findings.append(Finding(.warning, rule: "root-user", at: SourceLocation(file: dockerfile.path, line: line),
                                        node: image.name,
                                        message: "service '\(image.name)' runs as root",
                                        hint: "add a user and USER it in the final stage"))
            }
            let healthcheck = inherited("HEALTHCHECK", node: node, dockerfile: dockerfile, stage: stage)
            if healthcheck == nil || healthcheck?.arguments.first?.uppercased() == "NONE" {
                findings.append(Finding(.warning, rule: "no-healthcheck", at: SourceLocation(file: dockerfile.path, line: stage.from.line),
                                        node: image.name,
                                        message: "service '\(image.name)' has no HEALTHCHECK",
                                        hint: "add HEALTHCHECK CMD … so orchestrators can tell when it is ready"))
            }
        }
        return findings
    }

    /// The last `keyword` instruction in effect in `stage`: its own, else the one of the stage
    /// or fleet image it is built on (external bases are unknown: nil).
    func inherited(_ keyword: String, node: BuildNode, dockerfile: Dockerfile, stage: Stage, depth: Int = 0) -> Instruction? {
        if let own = stage.instructions.last(where: { $0.keyword == keyword }) { return own }
        guard depth < 64 else { return nil }
        let lexer = ShellLexer(escape: dockerfile.escape)
        let scope = FleetResolver.globalScope(dockerfile, args: node.args, platform: node.platform)
        let base = ((try? lexer.expand(stage.baseReference) { scope[$0] }) ?? stage.baseReference).lowercased()
        if let earlier = dockerfile.stages[..<stage.index].last(where: { $0.name == base }) {
            return inherited(keyword, node: node, dockerfile: dockerfile, stage: earlier, depth: depth + 1)
        }
        guard let edge = node.fleetReferences.first(where: { $0.kind == .from && $0.location.line == stage.from.line }),
              let parent = fleet.node(named: edge.node),
              let parentDockerfile = fleet.dockerfiles[parent.dockerfilePath],
              let parentStage = Self.finalStage(parentDockerfile, target: parent.target) else { return nil }
        return inherited(keyword, node: parent, dockerfile: parentDockerfile, stage: parentStage, depth: depth + 1)
    }

    /// External bases without a pinned tag: no tag, or `:latest`, and no digest.
    func baseWarnings() -> [Finding] {
        var findings: [Finding] = []
        for node in fleet.nodes {
            for base in node.externalBases {
                let reference = ImageReference(parsing: base.reference)
                guard reference.digest == nil, reference.tag == nil || reference.tag == "latest" else { continue }
                findings.append(Finding(.warning, rule: "latest-base", at: base.location, node: node.image,
                                        message: "base '\(base.reference)' is not pinned: it changes under you",
                                        hint: "pin a version tag or a digest (\(reference.repository):1.2.3 or @sha256:…)"))
            }
        }
        return findings
    }

    /// `ADD <url>` without `--checksum`: what the URL serves is not part of the key (the
    /// checksum, in the Dockerfile's bytes, is), so new content behind the same URL would be
    /// a stale hit until something else changes the key.
    func urlWarnings() -> [Finding] {
        var findings: [Finding] = []
        for (image, dockerfile, _) in parsedImages {
            for instruction in dockerfile.stages.flatMap(\.instructions) where instruction.keyword == "ADD" {
                guard instruction.flag("checksum") == nil else { continue }
                for url in instruction.arguments.dropLast() where ["http://", "https://"].contains(where: url.lowercased().hasPrefix) {
                    findings.append(Finding(.warning, rule: "unpinned-url", at: SourceLocation(file: dockerfile.path, line: instruction.line),
                                            node: image.name,
                                            message: "ADD \(url) has no --checksum: the build fetches whatever it serves then (strata keys what it served at plan time)",
                                            hint: "add --checksum=sha256:… (Dockerfile syntax 1.6 or later), or download it in a RUN step of a pinned base"))
                }
            }
        }
        return findings
    }

    /// ENV or ARG names that look like secrets: their values end up in the image's history.
    /// The same patterns as BuildKit's `SecretsUsedInArgOrEnv` lint rule.
    func secretWarnings() -> [Finding] {
        var findings: [Finding] = []
        for (image, dockerfile, _) in parsedImages {
            let declarations = dockerfile.globalArgs.map { ($0.name, $0.line, "ARG") }
                + dockerfile.stages.flatMap { stage in
                    stage.instructions.flatMap { instruction -> [(String, Int, String)] in
                        switch instruction.keyword {
                        case "ARG": return instruction.argDeclarations.map { ($0.name, $0.line, "ARG") }
                        case "ENV": return instruction.envPairs.map { ($0.key, instruction.line, "ENV") }
                        default: return []
                        }
                    }
                }
            for (name, line, keyword) in declarations where Self.looksSecret(name) {
                findings.append(Finding(.warning, rule: "secret-in-env", at: SourceLocation(file: dockerfile.path, line: line),
                                        node: image.name,
                                        message: "\(keyword) \(name) looks like a secret: it is stored in the image",
                                        hint: "use RUN --mount=type=secret,id=\(name.lowercased()) and strata build --secret id=\(name.lowercased()),env=\(name)"))
            }
        }
        return findings
    }

    /// `(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pass|pword|passwd|secret|token)(?:_|$)`,
    /// unless a `public` word is there too (moby/buildkit `linter/ruleset.go`).
    static func looksSecret(_ name: String) -> Bool {
        let words = Set(name.lowercased().split(separator: "_").map(String.init))
        let secretWords: Set<String> = ["apikey", "auth", "credential", "credentials", "key", "password", "pass",
                                        "pword", "passwd", "secret", "token"]
        return !words.isDisjoint(with: secretWords) && !words.contains("public")
    }
}
