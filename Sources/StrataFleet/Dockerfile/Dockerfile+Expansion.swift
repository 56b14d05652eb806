extension Dockerfile {
    /// BuildKit's automatic platform args: in scope in FROM lines without an `ARG`
    /// (dockerfile2llb `defaultArgs`). They take the value given in `buildArgs`, if any.
    public static let automaticPlatformArgs: Set<String> = [
        "BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
        "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
    ]

    /// The values of the global ARGs (those before the first FROM) as BuildKit computes them
    /// for FROM lines (dockerfile2llb `toDispatchState`): in order, a build arg overrides the
    /// default, a default is expanded with the global args declared before it, and an ARG
    /// with neither stays unset. Build args that no global ARG declares are not in scope,
    /// except the automatic platform args.
    public func globalArgValues(buildArgs: [String: String]) throws(ShellLexer.Error) -> [String: String] {
        var scope = buildArgs.filter { Self.automaticPlatformArgs.contains($0.key) }
        let lexer = ShellLexer(escape: escape)
        for declaration in globalArgs {
            if let given = buildArgs[declaration.name] {
                scope[declaration.name] = given
            } else if let defaultValue = declaration.defaultValue {
                scope[declaration.name] = try lexer.expand(defaultValue) { scope[$0] }
            }
        }
        return scope
    }

    /// The base reference of `stage` after ARG expansion, e.g. `ghcr.io/acme/base:3.11` for
    /// `FROM ${REGISTRY}/base:${VERSION}`. Only global ARGs are in scope, as in BuildKit; an
    /// undefined variable expands to nothing, so the result may be empty (BuildKit then
    /// fails the build with "base name should not be blank").
    public func stageBaseReference(_ stage: Stage, buildArgs: [String: String]) throws(ShellLexer.Error) -> String {
        let scope = try globalArgValues(buildArgs: buildArgs)
        return try ShellLexer(escape: escape).expand(stage.baseReference) { scope[$0] }
    }

    /// The `--platform` of `stage` after ARG expansion (same scope as the reference).
    public func stagePlatform(_ stage: Stage, buildArgs: [String: String]) throws(ShellLexer.Error) -> String? {
        guard let platform = stage.platform else { return nil }
        let scope = try globalArgValues(buildArgs: buildArgs)
        return try ShellLexer(escape: escape).expand(platform) { scope[$0] }
    }
}
