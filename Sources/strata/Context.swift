import ArgumentParser
import Foundation
import StrataEngine
import StrataFleet
import StrataPlan

extension Strata {
    struct Context: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a node's build would send of its context, and what was left out.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "An image or node name.")
        var node: String

        @Flag(help: "List every file sent and left out, the biggest first.")
        var list = false

        @Flag(help: "Print only the number of bytes sent.")
        var size = false

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            guard let index = try select([node], in: fleet).first else { return }
            let report: ContextReport
            do {
                let platform = (try? await Engine.connect())?.platform ?? BuildPlatform.host.description
                report = try ContextReport(fleet: fleet, node: index, cacheDirectory: global.cachePath(for: fleet.manifest),
                                           defaultPlatform: platform)
            } catch {
                Console.error("\(fleet.nodes[index].name): \(error)")
                throw ExitCode(1)
            }
            if size {
                Console.output("\(report.sentBytes)")
                return
            }
            let files = report.sent.filter { $0.kind != .directory }
            let mode: String
            switch report.selection {
            case .whole(let reason): mode = "whole context: \(reason)"
            case .sources(let sources): mode = "precise: \(sources.map(\.description).joined(separator: ", "))"
            }
            Console.output("\(report.node.name): context \(fleet.displayPath(report.node.contextDirectory)) (\(mode))")
            Console.output("  sent: \(files.count) files, \(ByteCount.format(report.sentBytes))")
            if let ignoreFile = report.ignoreFile {
                Console.output("  left out by \(fleet.displayPath(ignoreFile)): \(report.ignored.count) entries")
            }
            Console.output("  left out as no COPY/ADD reads them: \(report.unselected.filter { $0.kind != .directory }.count) files")
            if let cache = report.omittedCache {
                Console.output("  left out: strata's cache directory \(fleet.displayPath(cache))")
            }
            guard list else { return }
            for file in files.sorted(by: { ($1.size, $0.path) < ($0.size, $1.path) }) {
                Console.output("  + \(ByteCount.format(file.size).padding(toLength: 10, withPad: " ", startingAt: 0)) \(file.path)")
            }
            for (file, rule) in report.ignored.sorted(by: { ($1.file.size, $0.file.path) < ($0.file.size, $1.file.path) }) {
                let why = rule.map { "\(fleet.displayPath($0.file)):\($0.line) '\($0.pattern)'" } ?? ".dockerignore"
                Console.output("  - \(ByteCount.format(file.size).padding(toLength: 10, withPad: " ", startingAt: 0)) \(file.path)  (\(why))")
            }
            for file in report.unselected.filter({ $0.kind != .directory }).sorted(by: { ($1.size, $0.path) < ($0.size, $1.path) }) {
                Console.output("  - \(ByteCount.format(file.size).padding(toLength: 10, withPad: " ", startingAt: 0)) \(file.path)  (not read by the Dockerfile)")
            }
        }
    }
}

enum ByteCount {
    /// `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
    static func format(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    /// Parses `500M`, `2G`, `10GiB`, `1024` (bytes).
    static func parse(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let number = Double(digits) else { return nil }
        let suffix = trimmed.dropFirst(digits.count).replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let multipliers: [String: Double] = ["": 1, "K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        guard let multiplier = multipliers[suffix] else { return nil }
        return Int64(number * multiplier)
    }
}
