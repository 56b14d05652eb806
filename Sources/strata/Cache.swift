import ArgumentParser
import Foundation
import StrataBuild
import StrataCache
import StrataEngine
import StrataFleet

extension Strata {
    struct Cache: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, verify and clean the cache directory.",
            discussion: "These commands read only the manifest's `cache:` setting, so they work on a fleet with errors, and without a manifest when --cache (or STRATA_CACHE) is given.",
            subcommands: [List.self, Verify.self, GC.self])

        // Global options written before `cache` land here (`strata --cache DIR cache ls` is
        // moved to `cache --cache DIR ls`); the subcommands' option group of the same type
        // receives them.
        @OptionGroup var global: GlobalOptions
    }
}

extension Strata.Cache {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the recorded keys: node, key, when, image size.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

        @OptionGroup var global: GlobalOptions

        @Option(help: "Output format.")
        var format: Format = .text

        func run() async throws {
            let path = try global.cacheDirectoryPath()
            var records: [KeyRecord] = []
            if let cache = try existingCache(path) {
                records = try Console.failingInOneLine { try cache.withSharedLock { try cache.list() } }
            }
            switch format {
            case .json:
                try Console.json(CacheListing(records: records))
            case .text:
                Console.output(CacheRendering.table(records))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every blob, key record and node pointer of the cache; change nothing.",
            discussion: "With the manifest and an engine at hand, also that each key's tag in the engine names the "
                + "recorded image. Prints each problem on its own line and exits 1 when there is one.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let path = try global.cacheDirectoryPath()
            guard let cache = try existingCache(path) else { return }
            let report = try Console.failingInOneLine { try cache.withSharedLock { cache.verify() } }
            let misplaced = await engineProblems(cache)
            if !report.leftovers.isEmpty {
                let count = report.leftovers.count
                Console.error("\(count) temporary file\(count == 1 ? "" : "s") left by interrupted writes (harmless; `strata cache gc` removes them after an hour)")
            }
            guard report.isClean && misplaced.isEmpty else {
                for problem in report.problems { Console.output(problem.description) }
                for problem in misplaced { Console.output("engine: \(problem)") }
                let count = report.problems.count + misplaced.count
                Console.error("\(count) problem\(count == 1 ? "" : "s") in the cache \(path)")
                throw ExitCode(1)
            }
            Console.output("cache OK: \(report.recordsChecked) record\(report.recordsChecked == 1 ? "" : "s"), \(report.blobsChecked) blob\(report.blobsChecked == 1 ? "" : "s")")
        }
    }
}

extension Strata.Cache.Verify {
    /// Key tags in the engine that name another image than the recorded one. Without a
    /// manifest that loads (the cache alone was named) there are no repositories to check;
    /// an engine that does not answer is said, and not checked.
    func engineProblems(_ cache: CacheDirectory) async -> [KeyTagCheck.Misplaced] {
        guard let path = try? global.manifestPath(),
              let fleet = try? Fleet.load(path: path, registry: global.effectiveRegistry) else { return [] }
        let engine: Engine
        do {
            engine = try await Engine.connect()
        } catch {
            Console.error("engine tags not checked: \(error)")
            return []
        }
        let records = (try? cache.withSharedLock { try cache.allRecords() }) ?? []
        return await KeyTagCheck.misplaced(records, fleet: fleet, engine: engine)
    }
}

extension Strata.Cache {
    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove old keys and what only they used, unreferenced blobs, and leftovers of interrupted writes.",
            discussion: "Fails at once when a build or plan holds the cache; without options only unreferenced files are removed.")

        @OptionGroup var global: GlobalOptions

        @Option(name: .customLong("max-age"), help: ArgumentHelp("Remove keys recorded more than DAYS days ago.", valueName: "DAYS"))
        var maxAge: Double?

        @Option(name: .customLong("max-size"), help: ArgumentHelp("Then remove the oldest keys until their images add up to at most SIZE (500M, 2G, 10GiB, bytes).", valueName: "SIZE"))
        var maxSize: String?

        func validate() throws {
            if let maxAge, !(maxAge >= 0) || !maxAge.isFinite {
                throw ValidationError("--max-age must be a number of days, 0 or more")
            }
            if let maxSize, ByteCount.parse(maxSize) == nil {
                throw ValidationError("--max-size '\(maxSize)' is not a size; write e.g. 500M, 2G, 10GiB or a number of bytes")
            }
        }

        func run() async throws {
            let path = try global.cacheDirectoryPath()
            guard let cache = try existingCache(path) else { return }
            let report = try Console.failingInOneLine {
                try cache.gc(maxAge: maxAge.map { $0 * 86_400 }, maxSize: maxSize.flatMap(ByteCount.parse), now: Date())
            }
            for line in CacheRendering.removals(report) { Console.output(line) }
            if let reason = report.blobsKeptBecause { Console.error("unreferenced blobs kept: \(reason)") }
            Console.output("freed \(ByteCount.format(report.bytesFreed))")
        }
    }
}

extension GlobalOptions {
    /// The cache directory, reading no more of the manifest than its `cache:` line: the cache
    /// commands must work on a fleet with errors, and with `--cache` given, without a manifest.
    func cacheDirectoryPath() throws -> String {
        let environment = ProcessInfo.processInfo.environment["STRATA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
        if cache ?? environment != nil {
            // An explicit cache path does not depend on the manifest.
            return cachePath(for: Manifest(path: "", directory: ""))
        }
        do {
            return cachePath(for: try ManifestLoader.load(path: try manifestPath()))
        } catch {
            Console.error("\(error)")
            Console.error("give the cache directory with --cache DIR to use it without the manifest")
            throw ExitCode(2)
        }
    }
}

/// The cache at `path`, or nil (said on stderr) when there is none: the cache commands
/// never create one.
private func existingCache(_ path: String) throws -> CacheDirectory? {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        Console.error("no cache at \(path) (nothing recorded yet)")
        return nil
    }
    guard isDirectory.boolValue else {
        Console.error("\(path) is not a cache directory: it is a file")
        throw ExitCode(1)
    }
    return try openCache(path)
}

/// `cache ls --format json`: `{"records":[{"node","image","variant","platform","key","created",
/// "size","image_id"}]}`, `created` in ISO 8601.
struct CacheListing: Encodable {
    struct Record: Encodable {
        var node: String
        var image: String
        @Nullable var variant: String?
        @Nullable var platform: String?
        var key: String
        var created: String
        @Nullable var size: Int64?
        @Nullable var imageID: String?

        enum CodingKeys: String, CodingKey { case node, image, variant, platform, key, created, size, imageID = "image_id" }
    }

    var records: [Record]

    init(records: [KeyRecord]) {
        let formatter = ISO8601DateFormatter()
        self.records = records.map {
            Record(node: $0.node, image: $0.image, variant: $0.variant, platform: $0.platform, key: $0.key,
                   created: formatter.string(from: $0.created), size: $0.size, imageID: $0.imageID)
        }
    }
}

enum CacheRendering {
    /// One row per record (node, key prefix, created, size) and a total.
    static func table(_ records: [KeyRecord]) -> String {
        let formatter = ISO8601DateFormatter()
        let rows = records.map { [$0.node, String($0.key.prefix(12)), formatter.string(from: $0.created),
                                  $0.size.map(ByteCount.format) ?? "-"] }
        let header = ["NODE", "KEY", "CREATED", "SIZE"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        let total = records.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
        let summary = "\(records.count) record\(records.count == 1 ? "" : "s"), \(ByteCount.format(total))"
        return ([line(header)] + rows.map(line) + [summary]).joined(separator: "\n")
    }

    /// One line per file `gc` removed.
    static func removals(_ report: GCReport) -> [String] {
        let formatter = ISO8601DateFormatter()
        var lines: [String] = []
        for record in report.removedRecords {
            lines.append("removed key \(record.key.prefix(12)) \(record.node) (recorded \(formatter.string(from: record.created)))")
        }
        lines += report.removedPointers.map { "removed last-key pointer of \($0)" }
        lines += report.removedManifests.map { "removed index.json entry \($0.digest)" }
        lines += report.removedBlobs.map { "removed blob \($0)" }
        lines += report.removedLayerEntries.map { "removed layer entry diffids/\($0) (its blob is gone)" }
        lines += report.removedLeftovers.map { "removed leftover \($0)" }
        return lines
    }
}
