import ArgumentParser
import Foundation
import StrataBuild
import StrataCache
import StrataEngine
import StrataFleet
import StrataHTTP
import StrataImages
import StrataPlan

extension Strata {
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push built nodes to the registry: every tag, and strata-<key> for the remote cache.",
            discussion: "The registry is --registry, else STRATA_REGISTRY, else the manifest's registry:. "
                + "Exit status: 0 when every node was pushed, 1 otherwise.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Images or nodes to push (default: all). Each must be built (or in the registry).")
        var nodes: [String] = []

        @Option(name: .customLong("tag"), help: "An extra tag (repeatable); variant nodes get it with their -<variant> suffix.")
        var tags: [String] = []

        @Option(help: "Concurrent blob uploads per image.")
        var jobs: Int = 4

        @Option(help: "Summary format.")
        var format: PublishFormat = .text

        func validate() throws {
            if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        }

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            let requested = try select(nodes, in: fleet)
            let cache = try openCache(global.cachePath(for: fleet.manifest))
            let lock = try sharedLock(cache)
            defer { lock.release() }
            var publisher = global.publisher(fleet: fleet, cache: cache)
            publisher.jobs = jobs
            publisher.tagValues = try BuildTagValues.resolve(fleet: fleet, nodes: requested, requested: Set(requested),
                                                             extraTags: tags)
            let engine = try? await Engine.connect()
            let entries = try await global.plan(requested, fleet: fleet, cache: cache, publisher: publisher, remoteCache: false,
                                                engine: engine)
                .filter { requested.contains($0.index) }
            let (pushed, failures) = await publish(entries, publisher: publisher, engine: engine, extraTags: { _ in tags })
            PublishSummary.print(pushed, format: format)
            if !failures.isEmpty { throw ExitCode(1) }
        }
    }
}

enum PublishFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

extension GlobalOptions {
    /// The plan of `nodes`: keys against the local key index and, when the remote cache is on
    /// (`--remote-cache` or `remote_cache: true`), local misses looked up in the registry
    /// through `publisher`. The one place that decides whether the registry is asked.
    /// Nodes that name no platform are keyed for `engine`'s, else, with no engine to ask, for
    /// this machine's. External images are keyed by content (`BaseResolution`), once per
    /// reference; `refreshBases` asks their registries first and pulls what moved.
    func plan(_ nodes: [Int], fleet: Fleet, cache: CacheDirectory, publisher: Publisher,
              remoteCache flag: Bool, engine: Engine?, refreshBases: Bool = false) async throws -> [PlanEntry] {
        let remote = flag || fleet.manifest.remoteCache ? publisher : nil
        let platform = engine?.platform ?? BuildPlatform.host.description
        let wanted = fleet.graph.ancestorsIncluding(nodes).sorted().map { fleet.nodes[$0] }
        let bases = await resolveBases(of: wanted, fleet: fleet, engine: engine, access: publisher.access, refresh: refreshBases)
        let urls = await resolveURLs(of: wanted, fleet: fleet)
        let entries = try await Planner(fleet: fleet, cache: cache, defaultPlatform: platform, bases: bases, urls: urls)
            .plan(nodes, remote: remote)
        if remote != nil {
            for (host, cause) in publisher.access.unreachable {
                Console.error("warning: remote cache: \(host) unreachable (\(cause)); every miss is built")
            }
        }
        return entries
    }

    /// The external images of `nodes` and their ancestors, each resolved once: what the
    /// key says of each reference. One warning per reference that stays unresolved (it is
    /// keyed by its name), at the first place it is written; under `refresh`, a line per pull.
    private func resolveBases(of nodes: [BuildNode], fleet: Fleet, engine: Engine?, access: RegistryAccess,
                              refresh: Bool) async -> [String: String] {
        let firstUse = Self.firstUse(nodes.flatMap(\.externalBases))
        guard !firstUse.isEmpty else { return [:] }
        let resolved = await BaseResolution(engine: engine, access: access).resolve(Array(firstUse.keys), refresh: refresh)
        for (reference, result) in resolved.sorted(by: { $0.key < $1.key }) {
            let at = firstUse[reference].map { "\(fleet.displayPath($0.file)):\($0.line): " } ?? ""
            switch result.identity {
            case .unresolved(let reason):
                Console.error("warning: \(at)\(reference) is keyed by its name only, not by its content: \(reason)")
            case .digest(let digest) where result.pulled:
                Console.error("refreshed \(reference): \(result.pulledOver.map { "\($0.prefix(19))… → " } ?? "")\(digest.prefix(19))…")
            case .digest:
                break
            }
        }
        return resolved.mapValues(\.keyed)
    }

    /// The `ADD` URLs (without `--checksum`) of `nodes`, each asked once what it serves; one
    /// warning per URL that stays unresolved (keyed by the URL alone).
    private func resolveURLs(of nodes: [BuildNode], fleet: Fleet) async -> [String: String] {
        let firstUse = Self.firstUse(nodes.flatMap(\.remoteSources))
        guard !firstUse.isEmpty else { return [:] }
        let transport = CurlTransport(configuration: CurlTransport.Configuration(timeouts: timeouts))
        let resolved = await RemoteSources(transport: transport).resolve(Array(firstUse.keys))
        for (url, identity) in resolved.sorted(by: { $0.key < $1.key }) {
            guard case .unresolved(let reason) = identity else { continue }
            let at = firstUse[url].map { "\(fleet.displayPath($0.file)):\($0.line): " } ?? ""
            Console.error("warning: \(at)ADD \(url) is keyed by its URL only, not by what it serves: \(reason)")
        }
        return Dictionary(uniqueKeysWithValues: resolved.map { ($0.key, RemoteSources.keyed($0.key, $0.value)) })
    }

    /// Each reference → where it is first written.
    private static func firstUse(_ uses: [ExternalBase]) -> [String: SourceLocation] {
        var first: [String: SourceLocation] = [:]
        for use in uses where first[use.reference] == nil { first[use.reference] = use.location }
        return first
    }

    /// One client per registry host for this command, under its time limits.
    var registryAccess: RegistryAccess {
        RegistryAccess(insecureHosts: Set(insecureRegistries), timeouts: timeouts)
    }

    /// Registry access for this run: the push prefix `--registry ?? STRATA_REGISTRY`
    /// (else the manifest's `registry:`), credentials from the environment.
    func publisher(fleet: Fleet, cache: CacheDirectory) -> Publisher {
        Publisher(fleet: fleet, registry: effectiveRegistry, access: registryAccess, cache: cache)
    }
}

/// Holds the cache lock shared for a command, as one clear line when it cannot.
func sharedLock(_ cache: CacheDirectory) throws -> CacheLock {
    try Console.failingInOneLine { try cache.lock(.shared, wait: true) }
}

/// Pushes `entries`, several nodes at once (`nodesAtOnce`), each once its parents among them
/// are pushed, so a child's shared layers are mounted from its parent's repository. A miss
/// is not pushed: it names the build to run. An image built for several platforms gets one
/// image index under its tags once all its platforms are pushed. Failures are printed on
/// stderr as they happen; the results come in plan order.
func publish(_ entries: [PlanEntry], publisher: Publisher, engine: (any ContainerEngine)?, extraTags: (PlanEntry) -> [String],
             nodesAtOnce: Int = 4) async -> (pushed: [PublishedNode], failures: [String])
{
    var failures: [String] = []
    let pushing = Set(entries.map(\.index))
    var results: [Int: PublishedNode] = [:]
    var finished = Set<Int>()
    var work: [(entry: PlanEntry, extra: [String])] = []
    for entry in entries {
        if entry.status == .hit {
            work.append((entry, extraTags(entry)))
        } else {
            failures.append(entry.node.name)
            finished.insert(entry.index)
            Console.error("\(entry.node.name) is not built for key \(entry.key.key.prefix(12)) (\(entry.reason)); run `strata build \(entry.node.name)` first")
        }
    }
    let graph = publisher.fleet.graph
    await withTaskGroup(of: (entry: PlanEntry, result: Result<PublishedNode, any Error>).self) { group in
        var waiting = work
        var running = 0
        while true {
            // Start what is ready: its parents among these entries are pushed (or failed).
            var still: [(entry: PlanEntry, extra: [String])] = []
            for item in waiting {
                let ready = graph.parents[item.entry.index].allSatisfy { !pushing.contains($0) || finished.contains($0) }
                guard running < nodesAtOnce, ready else {
                    still.append(item)
                    continue
                }
                running += 1
                group.addTask {
                    // The tuple is built after the await (docs/release-miscompile.md).
                    let result: Result<PublishedNode, any Error>
                    do { result = .success(try await publisher.push(item.entry, engine: engine, extraTags: item.extra)) } catch {
                        result = .failure(error)
                    }
                    return (item.entry, result)
                }
            }
            waiting = still
            guard let (entry, result) = await group.next() else { break }
            running -= 1
            finished.insert(entry.index)
            switch result {
            case .success(let pushed):
                ProgressOutput.write("pushed \(pushed.node) to \(pushed.repository)@\(pushed.push.manifestDigest)\n")
                results[entry.index] = pushed
            case .failure(let error):
                failures.append(entry.node.name)
                Console.error("cannot push \(entry.node.name): \(error)")
            }
        }
    }
    var pushed = entries.compactMap { results[$0.index] }

    // Pushed platform images by their image node name; a platform that failed or was not
    // asked for leaves its image short of members, and its tags unmoved.
    var platforms: [String: [(entry: PlanEntry, pushed: PublishedNode)]] = [:]
    for entry in entries where publisher.platformSiblings(of: entry.node) != nil {
        if let result = results[entry.index] { platforms[entry.node.imageNodeName, default: []].append((entry, result)) }
    }
    for (group, members) in platforms.sorted(by: { $0.key < $1.key }) {
        let expected = publisher.platformSiblings(of: members[0].entry.node)?.count ?? 0
        guard members.count == expected else {
            failures.append(group)
            Console.error("\(group): its tags were not moved: \(members.count) of its \(expected) platforms were pushed; "
                + "push them all together (`strata push \(members[0].entry.node.image)`)")
            continue
        }
        do {
            let index = try await publisher.pushIndex(members, extraTags: extraTags(members[0].entry))
            ProgressOutput.write("pushed \(index.node) to \(index.repository)@\(index.push.manifestDigest) (an index of \(expected) platforms)\n")
            pushed.append(index)
        } catch {
            failures.append(group)
            Console.error("cannot push the image index of \(group): \(error)")
        }
    }
    return (pushed, failures)
}

/// The push summary: node, repository, digest, blobs uploaded / mounted / skipped.
enum PublishSummary {
    struct Document: Encodable {
        struct Node: Encodable {
            var node, repository, digest: String
            var tags: [String]
            var uploaded, mounted, skipped: Int
            var bytesUploaded: Int64
            enum CodingKeys: String, CodingKey { case node, repository, digest, tags, uploaded, mounted, skipped, bytesUploaded = "bytes_uploaded" }
        }
        var pushes: [Node]
    }

    static func print(_ pushed: [PublishedNode], format: PublishFormat) {
        switch format {
        case .json:
            try? Console.json(Document(pushes: pushed.map {
                Document.Node(node: $0.node, repository: $0.repository, digest: $0.push.manifestDigest, tags: $0.push.tags,
                              uploaded: $0.push.uploaded, mounted: $0.push.mounted, skipped: $0.push.skipped,
                              bytesUploaded: $0.push.bytesUploaded)
            }))
        case .text:
            Console.output(Table.render(
                ["NODE", "REPOSITORY", "DIGEST", "UPLOADED", "MOUNTED", "SKIPPED"],
                pushed.map { [$0.node, $0.repository, $0.push.manifestDigest, "\($0.push.uploaded)", "\($0.push.mounted)", "\($0.push.skipped)"] })
                + "\n\(pushed.count) pushed: \(pushed.reduce(0) { $0 + $1.push.uploaded }) blobs uploaded ("
                + ByteCount.format(pushed.reduce(0) { $0 + $1.push.bytesUploaded }) + "), "
                + "\(pushed.reduce(0) { $0 + $1.push.mounted }) mounted, \(pushed.reduce(0) { $0 + $1.push.skipped }) already there")
        }
    }
}

/// Left-aligned columns, two spaces apart.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
