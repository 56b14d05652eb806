import StrataFleet

extension KeyComputer {
    /// What `node`'s build can read of its context (one rule for keys, builds and
    /// `strata context`): the Dockerfile's COPY/ADD sources when they are known statically,
    /// else the whole context. A fleet parent with ONBUILD instructions makes them run in
    /// this build, against this context, with sources this Dockerfile does not show: the
    /// whole context then.
    /// `defaultPlatform` (the engine's) sets `TARGETARCH` and the other automatic platform
    /// ARGs for a node that names no platform.
    public static func selection(fleet: Fleet, node: BuildNode, defaultPlatform: String? = nil) -> ContextSelection {
        guard let dockerfile = fleet.dockerfiles[node.dockerfilePath] else { return .whole(reason: "no Dockerfile") }
        for parent in node.parents {
            guard let parentNode = fleet.node(named: parent.node),
                  let parentDockerfile = fleet.dockerfiles[parentNode.dockerfilePath] else { continue }
            let triggers = parentDockerfile.stages.flatMap(\.instructions).filter { $0.keyword == "ONBUILD" }
            if let first = triggers.first {
                return .whole(reason: "parent \(parent.node) has ONBUILD (\(fleet.displayPath(parentNode.dockerfilePath)):"
                              + "\(first.line)), which runs here")
            }
        }
        return ContextSelection.of(dockerfile, target: node.target, args: node.args, platform: node.platform ?? defaultPlatform)
    }

    /// The entries of `context` that `selection` keeps, and what the symlinks among them
    /// point to inside the context: BuildKit follows a symlink named as a COPY source (and
    /// one on the way to it), so its target must be sent and keyed with it.
    public static func selected(_ context: [ContextFile], by selection: ContextSelection) -> [ContextFile] {
        var kept = Set<String>()
        var links: [ContextFile] = []
        for file in context where selection.includes(file.path, isDirectory: file.kind == .directory) {
            kept.insert(file.path)
            if file.kind == .symlink { links.append(file) }
        }
        guard !links.isEmpty else { return context.filter { kept.contains($0.path) } }
        let byPath = Dictionary(context.map { ($0.path, $0) }) { first, _ in first }
        while let link = links.popLast() {
            let target = ContextFile.contextPath(ofLinkTarget: link.linkTarget ?? "", from: link.path)
            guard target != "." else { return context }
            for file in context where file.path == target || file.path.hasPrefix(target + "/") {
                if kept.insert(file.path).inserted, file.kind == .symlink { links.append(file) }
            }
            // The folders above the target, so the tar and the session carry it where it is.
            var parent = Substring(target)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                if byPath[String(parent)] != nil { kept.insert(String(parent)) }
            }
        }
        return context.filter { kept.contains($0.path) }
    }
}
