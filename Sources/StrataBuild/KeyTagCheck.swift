import StrataCache
import StrataEngine
import StrataFleet

/// `cache verify` against the engine: a key's tag (`<repository>:strata-<key>`) is mutable,
/// and one that names an image other than the recorded one (and not labelled with the key)
/// would be a stale hit for any tool that trusts tags. strata itself never does
/// (`NodeBuilder.keyImage`); this says where the engine disagrees with the cache.
public enum KeyTagCheck {
    public struct Misplaced: Sendable, CustomStringConvertible {
        public var node: String
        public var reference: String
        public var recorded: String
        public var found: String

        public var description: String {
            "\(reference) (\(node)) names \(found), not the recorded image \(recorded)"
        }
    }

    /// The records of `fleet`'s nodes whose key tag in `engine` names another image.
    public static func misplaced(_ records: [KeyRecord], fleet: Fleet, engine: any ContainerEngine) async -> [Misplaced] {
        var found: [Misplaced] = []
        for record in records {
            guard let recorded = record.imageID, let node = fleet.node(named: record.node) else { continue }
            let reference = NodeBuilder.keyReference(fleet: fleet, node: node, key: record.key)
            guard let info = try? await engine.inspectImage(reference),
                  !NodeBuilder.isKeyImage(info, key: record.key, recorded: recorded) else { continue }
            found.append(Misplaced(node: record.node, reference: reference, recorded: recorded, found: info.id))
        }
        return found
    }
}
