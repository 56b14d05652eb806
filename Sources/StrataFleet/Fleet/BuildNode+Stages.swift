extension BuildNode {
    /// Indices of the stages of `dockerfile` a build of this node runs: the target (or last)
    /// stage and the stages it reads from; every stage when the target is not in the file.
    public func stages(in dockerfile: Dockerfile) -> [Int] {
        let scope = FleetResolver.globalScope(dockerfile, args: args, platform: platform)
        return FleetResolver.reachableStages(dockerfile, target: target, scope: scope) ?? Array(dockerfile.stages.indices)
    }
}
