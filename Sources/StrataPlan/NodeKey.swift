import StrataCache
import StrataFleet

/// The input key of one build node and what went into it.
public struct NodeKey: Sendable {
    public var node: String
    /// 64 hex characters: SHA-256 of the canonical JSON of `inputs`.
    public var key: String
    public var inputs: KeyInputs
    /// Context path → `sha256:…`, `link:<target>` or `dir`: the files the key covers, which
    /// `plan --explain` compares against the last recorded key.
    public var files: [String: String]
    /// The context entries a build sends (after `.dockerignore` and precision), sorted by path.
    public var contextFiles: [ContextFile]
    /// What the build can read of the context.
    public var selection: ContextSelection
    /// Entries left after `.dockerignore` that precision left out.
    public var unselectedCount: Int
}
