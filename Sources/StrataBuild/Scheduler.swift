import Foundation
import StrataCache
import StrataEngine
import StrataFleet
import StrataPlan

/// Options of one `strata build` run.
public struct SchedulerOptions: Sendable {
    /// Concurrent builds at most.
    public var jobs: Int
    /// Stop everything at the first failure (else other branches go on).
    public var failFast: Bool
    /// `--no-cache`: the requested nodes are built again, ignoring recorded keys and the
    /// engine's build cache; their parents are still reused.
    public var noCache: Bool
    /// `--network`, overriding the manifest's.
    public var network: String?
    /// `--no-deps`: only the requested nodes are built; their parents must be hits.
    public var noDeps: Bool
    /// Indices of the nodes asked for (the plan also holds their ancestors).
    public var requested: Set<Int>
    /// Extra `--tag`s for the requested nodes.
    public var extraTags: [String]
    /// Export each built image into the cache's OCI layout and record its manifest digest
    /// as the key record's `manifests["layout"]` (what a push reads). Off by default: it
    /// costs a `docker save` and the compression of every new layer.
    public var export: Bool
    /// Pulls remote hits (`PlanEntry.remote`) the build needs; without it they are rebuilt
    /// when their image is needed.
    public var publisher: Publisher?
    /// What tag templates (`{sha}`, `{branch}`…) in manifest tags and `extraTags` expand to.
    public var tagValues: TagValues
    /// Serve contexts over a build session when the engine can take one (else, and when
    /// false, each context is sent as a tar body).
    public var sessionContexts: Bool
    /// `--secret`s, served over the session to the builds that mount them.
    public var secrets: BuildSecrets

    public init(jobs: Int, failFast: Bool = false, noCache: Bool = false, network: String? = nil, noDeps: Bool = false,
                requested: Set<Int>, extraTags: [String] = [], export: Bool = false, publisher: Publisher? = nil,
                tagValues: TagValues = TagValues(), sessionContexts: Bool = true, secrets: BuildSecrets = BuildSecrets()) {
        self.jobs = max(1, jobs)
        self.failFast = failFast
        self.noCache = noCache
        self.network = network
        self.noDeps = noDeps
        self.requested = requested
        self.extraTags = extraTags
        self.export = export
        self.publisher = publisher
        self.tagValues = tagValues
        self.sessionContexts = sessionContexts
        self.secrets = secrets
    }
}

/// Runs a plan: a node starts when its parents are done, at most `jobs` at once; hits whose
/// image the engine has are not built; a failure skips the failed node's descendants and lets
/// other branches go on, or with `failFast` cancels everything.
public struct Scheduler: Sendable {
    public let fleet: Fleet
    public let entries: [PlanEntry]
    public let engine: any ContainerEngine
    public let cache: CacheDirectory
    public let options: SchedulerOptions
    public let reporter: any BuildReporter

    public init(fleet: Fleet, entries: [PlanEntry], engine: any ContainerEngine, cache: CacheDirectory,
                options: SchedulerOptions, reporter: any BuildReporter) {
        self.fleet = fleet
        self.entries = entries
        self.engine = engine
        self.cache = cache
        self.options = options
        self.reporter = reporter
    }

    /// The outcome of every planned node, in plan order.
    public func run() async -> [NodeOutcome] {
        let byIndex = Dictionary(uniqueKeysWithValues: entries.map { ($0.index, $0) })
        var outcomes: [Int: NodeOutcome] = [:]
        let priority = Self.priorities(fleet.graph, planned: Set(byIndex.keys))
        // Ready nodes take their place in line in priority order.
        var pending = entries.map(\.index).sorted { (priority[$0] ?? 0, -$0) > (priority[$1] ?? 0, -$1) }
        var stopped = false
        let permits = BuildPermits(options.jobs)

        // A task's outcome, or nil for a node cancelled before it got a permit (never started).
        await withTaskGroup(of: (index: Int, outcome: NodeOutcome?).self) { group in
            func startReady() async {
                var still: [Int] = []
                for index in pending {
                    guard let entry = byIndex[index] else { continue }
                    let parents = fleet.graph.parents[index].filter { byIndex[$0] != nil }
                    if stopped {
                        outcomes[index] = skipped(entry, Self.stoppedMessage)
                        reporter.finished(outcomes[index]!)
                        continue
                    }
                    if let bad = parents.first(where: { outcomes[$0].map { $0.status == .failed || $0.status == .skipped } ?? false }) {
                        outcomes[index] = skipped(entry, "parent \(fleet.nodes[bad].name) \(outcomes[bad]!.status.rawValue)")
                        reporter.finished(outcomes[index]!)
                        continue
                    }
                    guard parents.allSatisfy({ outcomes[$0] != nil }) else {
                        still.append(index)
                        continue
                    }
                    let exact = Dictionary(uniqueKeysWithValues: parents.map {
                        (fleet.nodes[$0].name, NodeBuilder.keyReference(fleet: fleet, node: fleet.nodes[$0], key: outcomes[$0]!.key))
                    })
                    let ticket = await permits.enqueue(priority: priority[index] ?? 0)
                    group.addTask {
                        // The tuple is built after the await (docs/release-miscompile.md).
                        let outcome = await self.process(entry, parentReferences: exact, permits: permits, ticket: ticket)
                        return (index, outcome)
                    }
                }
                pending = still
            }
            await startReady()
            while let (index, result) = await group.next() {
                guard let entry = byIndex[index] else { continue }
                let outcome = result ?? skipped(entry, stopped ? Self.stoppedMessage : Self.cancelledMessage)
                outcomes[index] = outcome
                reporter.finished(outcome)
                if outcome.status == .failed && options.failFast && !stopped {
                    stopped = true
                    group.cancelAll()
                }
                await startReady()
            }
            // Nodes whose parents never finished (only possible after a cancellation).
            for index in pending where outcomes[index] == nil {
                if let entry = byIndex[index] {
                    outcomes[index] = skipped(entry, Self.cancelledMessage)
                    reporter.finished(outcomes[index]!)
                }
            }
        }
        return entries.compactMap { outcomes[$0.index] }
    }

    /// Which waiting node gets a free permit first (higher first): the one with the longest
    /// chain of planned nodes below it, as they all wait for it, then the one with the most
    /// planned descendants. On a fleet whose manifest lists leaf services before a base, the
    /// base still starts first instead of after every leaf.
    static func priorities(_ graph: Graph, planned: Set<Int>) -> [Int: Int] {
        var children: [Int: [Int]] = [:]
        for node in planned {
            for parent in Set(graph.parents[node]) where planned.contains(parent) { children[parent, default: []].append(node) }
        }
        var height: [Int: Int] = [:]
        var below: [Int: Set<Int>] = [:]
        for node in (graph.topologicalOrder() ?? []).reversed() where planned.contains(node) {
            let kids = children[node] ?? []
            height[node] = kids.map { height[$0, default: 0] + 1 }.max() ?? 0
            below[node] = kids.reduce(into: Set(kids)) { $0.formUnion(below[$1] ?? []) }
        }
        return height.reduce(into: [:]) { result, entry in
            result[entry.key] = entry.value * (planned.count + 1) + (below[entry.key]?.count ?? 0)
        }
    }

    static let stoppedMessage = "not started: the build stopped at the first failure (--fail-fast)"
    static let cancelledMessage = "not started: the build was cancelled"

    private func skipped(_ entry: PlanEntry, _ message: String) -> NodeOutcome {
        NodeOutcome(node: entry.node.name, index: entry.index, status: .skipped, seconds: 0, key: entry.key.key, message: message)
    }

    /// One node, once it holds one of the `--jobs` permits: reuse a hit whose image the engine
    /// has, refuse a missing parent under `--no-deps`, else build. nil for a node cancelled
    /// while it waited for a permit: it never started.
    func process(_ entry: PlanEntry, parentReferences: [String: String], permits: BuildPermits,
                 ticket: BuildPermits.Ticket) async -> NodeOutcome? {
        guard let permit = try? await permits.acquire(ticket) else { return nil }
        let outcome = await process(entry, parentReferences: parentReferences, permit: permit)
        await permit.release()
        return outcome
    }

    func process(_ entry: PlanEntry, parentReferences: [String: String], permit: Permit) async -> NodeOutcome {
        let started = ContinuousClock.now
        func elapsed() -> Double {
            let duration = ContinuousClock.now - started
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let builder = NodeBuilder(fleet: fleet, engine: engine, cache: cache, options: options, reporter: reporter)
        let requested = options.requested.contains(entry.index)
        let reusable = !(options.noCache && requested)
        var reason = entry.reason
        if let hit = entry.remote, entry.record == nil, reusable {
            // A remote hit is never rebuilt; its image is pulled only when this run needs it.
            let needed = requested || entries.contains { $0.status == .miss && fleet.graph.parents[$0.index].contains(entry.index) }
            switch await builder.reuseRemote(entry, hit: hit, needed: needed, requested: requested) {
            case .reused(var outcome):
                outcome.seconds = elapsed()
                return outcome
            case .rebuild(let because):
                reason = because
            }
        } else if entry.status == .hit && reusable {
            switch await builder.reuse(entry, requested: requested) {
            case .reused(var outcome):
                outcome.seconds = elapsed()
                return outcome
            case .rebuild(let because):
                reason = because
            }
        }
        if options.noDeps && !requested {
            // Not a failure of this run: in a CI matrix the parent's own job failed or has
            // not pushed, and that job reports it; its dependents here are skipped.
            return NodeOutcome(node: entry.node.name, index: entry.index, status: .skipped, seconds: elapsed(), key: entry.key.key,
                               message: "parent \(entry.node.name) (wave \(entry.wave)) is not built for key "
                                   + "\(entry.key.key.prefix(12)) (\(reason)); build it first or drop --no-deps")
        }
        reporter.started(node: entry.node.name, reason: reason)
        var outcome = await builder.build(entry, parentReferences: parentReferences, requested: requested, permit: permit)
        outcome.seconds = elapsed()
        return outcome
    }
}
