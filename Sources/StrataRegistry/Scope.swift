/// A resource scope of the docker token authentication spec
/// ("Token Scope Documentation"): `repository:acme/web:pull,push`.
public struct Scope: Sendable, Hashable, CustomStringConvertible {
    /// `repository` (or `registry` for `registry:catalog:*`).
    public var resourceType: String
    /// The repository name, `acme/web`.
    public var name: String
    public var actions: Set<String>

    public init(resourceType: String = "repository", name: String, actions: Set<String>) {
        self.resourceType = resourceType
        self.name = name
        self.actions = actions
    }

    /// Read access to a repository.
    public static func pull(_ repository: String) -> Scope {
        Scope(name: repository, actions: ["pull"])
    }

    /// Write access to a repository (push implies pull: the HEAD before an upload).
    public static func push(_ repository: String) -> Scope {
        Scope(name: repository, actions: ["pull", "push"])
    }

    /// Parses `type:name:actions`; the name may itself hold colons
    /// (`repository:host:5000/x:pull` from some servers).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[0].isEmpty else { return nil }
        resourceType = String(parts[0])
        name = parts[1..<(parts.count - 1)].joined(separator: ":")
        actions = Set(parts[parts.count - 1].split(separator: ",").map(String.init))
        guard !name.isEmpty else { return nil }
    }

    /// Actions in a fixed order, so equal scopes print equal strings.
    public var description: String {
        "\(resourceType):\(name):\(actions.sorted().joined(separator: ","))"
    }

    /// Scopes merged per resource (the union of their actions), sorted: the set
    /// a single token is asked for when one request touches several
    /// repositories (a mount reads `from` and writes the target).
    public static func merged(_ scopes: some Sequence<Scope>) -> [Scope] {
        var byResource: [String: Scope] = [:]
        for scope in scopes {
            let key = scope.resourceType + ":" + scope.name
            byResource[key, default: Scope(resourceType: scope.resourceType, name: scope.name, actions: [])]
                .actions.formUnion(scope.actions)
        }
        return byResource.sorted { $0.key < $1.key }.map(\.value)
    }

    /// True when `granted` allows everything `requested` asks for.
    static func covers(_ granted: [Scope], _ requested: [Scope]) -> Bool {
        requested.allSatisfy { want in
            granted.contains { $0.resourceType == want.resourceType && $0.name == want.name && $0.actions.isSuperset(of: want.actions) }
        }
    }
}
