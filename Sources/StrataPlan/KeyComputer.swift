import Foundation
import StrataCache
import StrataFleet
import StrataHash

/// Computes every node's input key (DESIGN.md "Input keys"), parents before children.
///
/// The canonical encoding, version `strata-key-v3`: the key is SHA-256 of the JSON of
/// `KeyInputs` written with sorted keys, no whitespace and unescaped slashes, where
/// - `dockerfile` is SHA-256 of the Dockerfile as BuildKit parses it (`Dockerfile.keyedLines`,
///   each a netstring: directives, logical lines, heredocs; comments and blank lines out),
///   before strata rewrites fleet FROM lines for the build (v2 hashed the bytes: a comment
///   edit rebuilt the node and its descendants);
/// - `context` is SHA-256 of one record per context entry the build can read (a folder only
///   when its own entry can reach the image, not when it merely lies above a source), sorted
///   by path (byte order): four fields, path, kind (`f`, `d` or `l`), mode in octal and the
///   content digest or link target, each written as `<byte count>:<bytes>,` (a netstring),
///   so no file name or link target, whatever bytes it holds, can encode like another
///   entry (v1 joined them with NUL and LF, and a link target holding LF could);
/// - `args` holds only the ARGs the Dockerfile declares in the stages the build runs (and
///   before the first FROM) that have a value from the manifest; `unsetArgs` the others
///   (their defaults are in the Dockerfile bytes);
/// - `platform` is the node's, else the engine's (`defaultPlatform`): an amd64 runner and
///   an arm64 laptop never share a key;
/// - `contextMtime` is `SOURCE_DATE_EPOCH`, the mtime every context entry is sent with,
///   absent when unset (entries then have mtime 0);
/// - `parents` lists each fleet parent's node and key, in the order the Dockerfile names them;
/// - `bases` each external image reference as expanded, with the content it names
///   (`reference@sha256:…`, see `BaseResolution`; v2 keyed the name alone, so a tag moved to
///   new content was a stale hit);
/// - `urls` each `ADD` URL without `--checksum` with what it serves now (`RemoteSources`),
///   absent when there is none (with `--checksum` the Dockerfile's text holds the digest).
public struct KeyComputer {
    public let fleet: Fleet
    /// Where the file-hash indexes live (`<cache>/files`).
    public let fileIndexDirectory: String
    /// strata's cache directory, never part of a context that contains it.
    public let cacheDirectory: String?
    /// The mtime of every context entry sent: `SOURCE_DATE_EPOCH` when set (else 0, nil here).
    public let contextMtime: Int64?
    /// The platform a node that names none is built for: the engine's (nil: unknown).
    public let defaultPlatform: String?
    /// Each external image reference → what its key says of it (`BaseResolution.Resolved.keyed`:
    /// `reference@sha256:…`); a reference missing here is keyed `reference (unresolved)`.
    public let bases: [String: String]
    /// Each `ADD` URL without `--checksum` → what its key says of it (`RemoteSources`:
    /// `url etag:"…"` or `url sha256:…`); a URL missing here is keyed `url (unresolved)`.
    public let urls: [String: String]

    public init(fleet: Fleet, fileIndexDirectory: String, cacheDirectory: String? = nil, defaultPlatform: String? = nil,
                bases: [String: String] = [:], urls: [String: String] = [:],
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.fleet = fleet
        self.fileIndexDirectory = fileIndexDirectory
        self.cacheDirectory = cacheDirectory
        self.defaultPlatform = defaultPlatform
        self.bases = bases
        self.urls = urls
        contextMtime = environment["SOURCE_DATE_EPOCH"].flatMap { Int64($0) }
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case context(node: String, message: String)
        case dockerfile(node: String, path: String)

        public var description: String {
            switch self {
            case let .context(node, message): return "\(node): cannot read its context: \(message)"
            case let .dockerfile(node, path): return "\(node): cannot read its Dockerfile \(path)"
            }
        }
    }

    /// The keys of `nodes` (indices into `fleet.nodes`) and of all their ancestors.
    public func keys(for nodes: [Int]) throws -> [String: NodeKey] {
        let wanted = fleet.graph.ancestorsIncluding(nodes)
        let order = (fleet.graph.topologicalOrder() ?? []).filter { wanted.contains($0) }
        let contexts = try readContexts(order)
        var keys: [String: NodeKey] = [:]
        var dockerfileDigests: [String: Digest] = [:]
        for index in order {
            let node = fleet.nodes[index]
            guard let dockerfile = fleet.dockerfiles[node.dockerfilePath] else {
                throw Error.dockerfile(node: node.name, path: fleet.displayPath(node.dockerfilePath))
            }
            let dockerfileDigest: Digest
            if let known = dockerfileDigests[node.dockerfilePath] {
                dockerfileDigest = known
            } else {
                dockerfileDigest = try Self.dockerfileDigest(dockerfile)
                dockerfileDigests[node.dockerfilePath] = dockerfileDigest
            }
            let selected = contexts.selected[index] ?? []
            let digests = contexts.digests[node.contextDirectory] ?? [:]
            let selection = contexts.selections[index] ?? .whole(reason: "no Dockerfile")
            let keyed = selected.filter { $0.kind != .directory || selection.copiesDirectory($0.path) }
            let (contextDigest, files) = try Self.contextDigest(keyed, digests: digests)
            let declared = Self.declaredArgs(dockerfile, node: node)
            var args: [String: String] = [:]
            var unset: [String] = []
            for name in declared.sorted() {
                if let value = node.args[name] { args[name] = value } else { unset.append(name) }
            }
            var contextMode = "whole"
            if case .sources = selection { contextMode = "precise" }
            let inputs = KeyInputs(
                version: KeyInputs.currentVersion,
                dockerfile: dockerfileDigest.description,
                context: contextDigest.description,
                contextMode: contextMode,
                contextMtime: contextMtime,
                args: args,
                unsetArgs: unset,
                target: node.target,
                platform: node.platform ?? defaultPlatform,
                labels: node.labels,
                parents: node.parents.map { ParentKey(node: $0.node, key: keys[$0.node]?.key ?? "") },
                bases: node.externalBases.map { bases[$0.reference] ?? "\($0.reference) (unresolved)" },
                urls: node.remoteSources.isEmpty ? nil
                    : node.remoteSources.map { urls[$0.reference] ?? "\($0.reference) (unresolved)" }
            )
            keys[node.name] = NodeKey(node: node.name, key: try inputs.key, inputs: inputs, files: files,
                                      contextFiles: selected, selection: selection,
                                      unselectedCount: contexts.unselectedCounts[index] ?? 0)
        }
        return keys
    }

    /// SHA-256 of the Dockerfile's keyed lines (`Dockerfile.keyedLines`), each a netstring.
    static func dockerfileDigest(_ dockerfile: Dockerfile) throws -> Digest {
        var hasher = try SHA256Hasher()
        var encoded: [UInt8] = []
        for line in dockerfile.keyedLines { appendNetstring(line, to: &encoded) }
        try hasher.update(encoded)
        return try hasher.finalize()
    }

    /// `<byte count>:<bytes>,`: a field no other field's bytes can run into.
    static func appendNetstring(_ field: String, to output: inout [UInt8]) {
        let bytes = Array(field.utf8)
        output += Array("\(bytes.count):".utf8)
        output += bytes
        output.append(UInt8(ascii: ","))
    }

    /// ARGs a build of `node` can see: before the first FROM, and in the stages it runs.
    static func declaredArgs(_ dockerfile: Dockerfile, node: BuildNode) -> Set<String> {
        var names = Set(dockerfile.globalArgs.map(\.name))
        for index in node.stages(in: dockerfile) {
            for instruction in dockerfile.stages[index].instructions where instruction.keyword == "ARG" {
                for declaration in instruction.argDeclarations { names.insert(declaration.name) }
            }
        }
        return names
    }

    /// The context digest over `entries` (see the type's documentation), and the per-path
    /// record `plan --explain` compares.
    static func contextDigest(_ entries: [ContextFile], digests: [String: Digest]) throws -> (Digest, [String: String]) {
        var hasher = try SHA256Hasher()
        var files: [String: String] = [:]
        files.reserveCapacity(entries.count)
        var line: [UInt8] = []
        for entry in entries {
            let kind: String
            let content: String
            switch entry.kind {
            case .file:
                kind = "f"
                content = digests[entry.path]?.description ?? ""
            case .directory:
                kind = "d"
                content = ""
            case .symlink:
                kind = "l"
                content = entry.linkTarget ?? ""
            case .other:
                continue
            }
            files[entry.path] = entry.kind == .directory ? "dir" : entry.kind == .symlink ? "link:\(content)" : content
            line.removeAll(keepingCapacity: true)
            for field in [entry.path, kind, String(entry.mode & 0o7777, radix: 8), content] {
                appendNetstring(field, to: &line)
            }
            try hasher.update(line)
        }
        return (try hasher.finalize(), files)
    }
}
