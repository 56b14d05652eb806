import Foundation

extension BuildNode {
    /// Indices of the stages of `dockerfile` a build of this node runs: the target (or last)
    /// stage and the stages it reads from; every stage when the target is not in the file.
    public func stages(in dockerfile: Dockerfile) -> [Int] {
        let scope = FleetResolver.globalScope(dockerfile, args: args, platform: platform)
        return FleetResolver.reachableStages(dockerfile, target: target, scope: scope) ?? Array(dockerfile.stages.indices)
    }
}

/// A `RUN --mount=type=secret` of a stage a build runs: the secret's id (the mount's `id=`,
/// else the last component of its `target=`, as BuildKit has it) and the instruction's line.
public struct SecretMount: Sendable, Equatable {
    public var id: String
    public var line: Int

    public init(id: String, line: Int) {
        self.id = id
        self.line = line
    }
}

extension BuildNode {
    /// The secrets the stages this node's build runs mount, in order, each id once.
    public func secretMounts(in dockerfile: Dockerfile) -> [SecretMount] {
        var mounts: [SecretMount] = []
        for index in stages(in: dockerfile).sorted() {
            for instruction in dockerfile.stages[index].instructions where instruction.keyword == "RUN" {
                for mount in instruction.flagValues("mount") where FleetResolver.mountOption(mount, "type") == "secret" {
                    let target = FleetResolver.mountOption(mount, "target") ?? FleetResolver.mountOption(mount, "dst")
                        ?? FleetResolver.mountOption(mount, "destination")
                    guard let id = FleetResolver.mountOption(mount, "id") ?? target.map({ ($0 as NSString).lastPathComponent }),
                          !mounts.contains(where: { $0.id == id }) else { continue }
                    mounts.append(SecretMount(id: id, line: instruction.line))
                }
            }
        }
        return mounts
    }
}
