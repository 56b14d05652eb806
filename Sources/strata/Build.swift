import ArgumentParser
import Foundation
import StrataBuild
import StrataCache
import StrataEngine
import StrataFleet
import StrataPlan

extension Strata {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the nodes whose keys changed, parents first, in parallel.",
            discussion: "Exit status: 0 when every requested node is built or cached, 1 otherwise, 2 for bad usage or a bad manifest, "
                + "3 with --no-deps when nothing failed but a parent is not built (the requested nodes are skipped).")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Images or nodes to build (default: all); missing ancestors are built too.")
        var nodes: [String] = []

        @Flag(help: "Build only the named nodes; their parents must already be built.")
        var noDeps = false

        @Option(help: "Concurrent builds at most (default: the number of cores).")
        var jobs: Int?

        @Option(name: .customLong("tag"), help: "An extra tag for the requested nodes (repeatable).")
        var tags: [String] = []

        @Flag(help: "Build the requested nodes again, ignoring recorded keys and the engine's build cache (parents are reused).")
        var noCache = false

        @Flag(exclusivity: .exclusive, help: "On a failure: go on with other branches (default), or stop everything.")
        var failureMode: FailureMode = .keepGoing

        @Option(help: "Progress display.")
        var progress: ProgressMode = .auto

        @Option(help: "Network for RUN steps (e.g. host), overriding the manifest.")
        var network: String?

        @Option(help: ArgumentHelp("Build for this platform (os/arch[/variant]) only.",
                                   discussion: "An image with platforms: builds only its node for it; an image without is built for it."))
        var platform: String?

        @Option(help: "Final table format.")
        var format: Format = .text

        @Flag(help: "Push after the build: every built or cached node, with its tags and strata-<key>.")
        var push = false

        @Flag(help: "Look local misses up in the registry (strata-<key>); also on with remote_cache: true.")
        var remoteCache = false

        @Flag(help: ArgumentHelp("Send each context as a tar body instead of serving it over a build session.",
                                 discussion: "Sessions are used whenever the engine is reached without TLS."))
        var tarContext = false

        enum FailureMode: String, EnumerableFlag {
            case keepGoing, failFast
        }

        @Option(name: .customLong("secret"),
                help: ArgumentHelp("A build secret: id=ID,src=FILE or id=ID,env=VAR (repeatable).",
                                   discussion: "Served to RUN --mount=type=secret,id=ID over the build session; never keyed, stored or printed."))
        var secrets: [String] = []

        func validate() throws {
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            if let platform, BuildPlatform(platform) == nil {
                throw ValidationError("--platform \(platform): a platform is os/arch[/variant], e.g. linux/arm64")
            }
        }

        func run() async throws {
            let fleet = try global.loadSoundFleet(platform: platform)
            let requested = try selectForPlatform(nodes, in: fleet)
            let buildSecrets: BuildSecrets
            do { buildSecrets = try BuildSecrets(secrets) } catch {
                Console.error(error.description)
                throw ExitCode(2)
            }
            let cache = try openCache(global.cachePath(for: fleet.manifest))
            let lock = try sharedLock(cache)
            defer { lock.release() }
            var publisher = global.publisher(fleet: fleet, cache: cache)
            // The engine's platform keys the nodes that name none; a missing engine is said
            // after the plan, so that a bad manifest or tag is reported first.
            let connection: Result<Engine, any Error>
            do { connection = .success(try await Engine.connect()) } catch { connection = .failure(error) }
            let entries = try await global.plan(requested, fleet: fleet, cache: cache, publisher: publisher,
                                                remoteCache: remoteCache, engine: try? connection.get())
            let tagValues = try BuildTagValues.resolve(fleet: fleet, nodes: entries.map(\.index),
                                                       requested: Set(requested), extraTags: tags)
            publisher.tagValues = tagValues
            let engine = try Console.failingInOneLine { try connection.get() }
            let reporter = progress.reporter(total: entries.count)
            let options = SchedulerOptions(
                jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount,
                failFast: failureMode == .failFast,
                noCache: noCache,
                network: network,
                noDeps: noDeps,
                requested: Set(requested),
                extraTags: tags,
                publisher: publisher,
                tagValues: tagValues,
                sessionContexts: !tarContext,
                secrets: buildSecrets
            )
            let scheduler = Scheduler(fleet: fleet, entries: entries, engine: engine, cache: cache,
                                      options: options, reporter: reporter)
            let outcomes = await Interrupt.cancellingOnSIGINT { await scheduler.run() }
            reporter.finish()
            switch format {
            case .json: try Console.json(BuildDocument(outcomes))
            case .text: Console.output(BuildTable.render(outcomes))
            }
            GitHubStepSummary.append(outcomes)
            let requestedNames = Set(requested.map { fleet.nodes[$0].name })
            let ok = outcomes.filter { requestedNames.contains($0.node) }.allSatisfy { $0.status == .built || $0.status == .cached }
            if push {
                // Every node this run built or found, ancestors included, so that another
                // machine's plan finds them all in the registry; --tag only on the requested.
                let done = Set(outcomes.filter { $0.status == .built || $0.status == .cached }.map(\.index))
                let toPush = entries.filter { done.contains($0.index) }.map { entry in
                    var entry = entry
                    entry.status = .hit
                    return entry
                }
                let (pushed, failures) = await publish(toPush, publisher: publisher, engine: engine,
                                                       extraTags: { requested.contains($0.index) ? tags : [] })
                if format == .text { PublishSummary.print(pushed, format: .text) }
                if !failures.isEmpty { throw ExitCode(1) }
            }
            if !ok {
                // Under --no-deps the only nodes that are not requested are parents; one skipped
                // is one not built (not in the cache or the registry).
                let parentMissing = noDeps && !outcomes.contains { $0.status == .failed }
                    && outcomes.contains { $0.status == .skipped && !requested.contains($0.index) }
                throw ExitCode(parentMissing ? 3 : 1)
            }
        }
    }
}

extension Strata.Build {
    /// The requested nodes; with `--platform`, only those built for it. A name none of whose
    /// nodes is built for the platform is an error that lists the platforms it has.
    func selectForPlatform(_ names: [String], in fleet: Fleet) throws -> [Int] {
        guard let platform else { return try select(names, in: fleet) }
        var requested: [Int] = []
        for name in names.isEmpty ? [nil] : names.map(Optional.some) {
            let nodes = try select(name.map { [$0] } ?? [], in: fleet)
            let matching = nodes.filter { fleet.nodes[$0].platform == platform }
            if matching.isEmpty {
                let others = Set(nodes.compactMap { fleet.nodes[$0].platform }).sorted().joined(separator: ", ")
                Console.error("\(name ?? "the fleet") is not built for \(platform)\(others.isEmpty ? "" : " (its platforms: \(others))")")
                throw ExitCode(2)
            }
            requested += matching.filter { !requested.contains($0) }
        }
        return requested
    }
}

/// `build --format json`: `{"nodes":[{"node","status","seconds","key","image_id","size"}]}`.
struct BuildDocument: Encodable {
    struct Node: Encodable {
        var node: String
        var status: String
        var seconds: Double
        var key: String
        @Nullable var imageID: String?
        @Nullable var size: Int64?
        var message: String?

        enum CodingKeys: String, CodingKey { case node, status, seconds, key, imageID = "image_id", size, message }
    }

    var nodes: [Node]

    init(_ outcomes: [NodeOutcome]) {
        nodes = outcomes.map {
            Node(node: $0.node, status: $0.status.rawValue, seconds: ($0.seconds * 100).rounded() / 100, key: $0.key,
                 imageID: $0.imageID,
                 size: $0.size, message: $0.message)
        }
    }
}

/// The final table: node, built/cached/failed/skipped, seconds, size.
enum BuildTable {
    static func render(_ outcomes: [NodeOutcome]) -> String {
        let width = max(4, outcomes.map(\.node.count).max() ?? 4)
        func row(_ columns: [String]) -> String {
            columns[0].padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + columns[1].padding(toLength: 7, withPad: " ", startingAt: 0) + "  "
                + String(repeating: " ", count: max(0, 7 - columns[2].count)) + columns[2] + "  "
                + String(repeating: " ", count: max(0, 10 - columns[3].count)) + columns[3]
        }
        var lines = [row(["NODE", "STATUS", "SECONDS", "SIZE"])]
        for outcome in outcomes {
            lines.append(row([outcome.node, outcome.status.rawValue, String(format: "%.1f", outcome.seconds),
                              outcome.size.map(ByteCount.format) ?? "-"]))
        }
        var counts: [NodeOutcome.Status: Int] = [:]
        for outcome in outcomes { counts[outcome.status, default: 0] += 1 }
        lines.append("\(outcomes.count) nodes: \(counts[.built] ?? 0) built, \(counts[.cached] ?? 0) cached, \(counts[.failed] ?? 0) failed, \(counts[.skipped] ?? 0) skipped")
        return lines.joined(separator: "\n")
    }
}

/// Ctrl-C cancels the running work (in-flight builds are aborted, their keys never recorded,
/// so the cache stays consistent) instead of killing the process mid-write.
enum Interrupt {
    static func cancellingOnSIGINT<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
        let task = Task { await work() }
        // A parent may have blocked SIGINT (test runners do); a build must still stop on Ctrl-C.
        var interrupt = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &interrupt, nil)
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            ProgressOutput.write("\nstrata: interrupted; cancelling running builds\n")
            task.cancel()
        }
        source.resume()
        let value = await task.value
        source.cancel()
        signal(SIGINT, SIG_DFL)
        return value
    }
}
