import ArgumentParser
import Foundation
import StrataBuild
import StrataFleet
import StrataImages

extension Strata {
    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy every node's --from-tag to --to-tag in the registry (all or nothing).",
            discussion: "Every source tag is checked first; when one is missing, all missing ones are listed and nothing is written. "
                + "Variant nodes use their -<variant> suffix on both tags. Exit status: 0 when everything moved, 1 otherwise.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Images or nodes to promote (default: all).")
        var nodes: [String] = []

        @Option(help: "The tag to copy from.")
        var fromTag: String

        @Option(help: "The tag to copy to.")
        var toTag: String

        @Option(help: "Copy into this registry prefix instead of the source's.")
        var toRegistry: String?

        @Option(help: "Concurrent blob copies per image.")
        var jobs: Int = 4

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            let selected = try select(nodes, in: fleet)
            let cache = try openCache(global.cachePath(for: fleet.manifest))
            let publisher = global.publisher(fleet: fleet, cache: cache)
            var moves: [(node: BuildNode, from: RegistryReference, to: RegistryReference)] = []
            do {
                for index in selected {
                    let node = fleet.nodes[index]
                    let repository = try publisher.repository(for: node)
                    let target = try toRegistry.map { try RegistryReference(parsing: "\($0.hasSuffix("/") ? String($0.dropLast()) : $0)/\(node.image)") } ?? repository
                    moves.append((node, repository.with(reference: suffixed(fromTag, node)), target.with(reference: suffixed(toTag, node))))
                }
            } catch {
                Console.error("\(error)")
                throw ExitCode(2)
            }
            // All sources first: a promotion is all or nothing.
            let access = publisher.access
            let found = await withTaskGroup(of: (Int, Result<String?, any Error>).self) { group in
                for (position, move) in moves.enumerated() {
                    group.addTask {
                        // The tuple is built after the await (docs/release-miscompile.md).
                        let result: Result<String?, any Error>
                        do { result = .success(try await access.manifestDigest(move.from)) } catch { result = .failure(error) }
                        return (position, result)
                    }
                }
                var results: [Int: Result<String?, any Error>] = [:]
                for await (position, result) in group { results[position] = result }
                return results
            }
            var problems: [String] = []
            for position in moves.indices {
                switch found[position]! {
                case .success(.some): break
                case .success(nil): problems.append("missing source: \(moves[position].from) (\(moves[position].node.name))")
                case .failure(let error): problems.append("cannot check \(moves[position].from): \(error)")
                }
            }
            guard problems.isEmpty else {
                for problem in problems { Console.error(problem) }
                Console.error("nothing promoted: \(problems.count) of \(moves.count) source tags cannot be used")
                throw ExitCode(1)
            }
            let copier = RegistryCopy(access: access, jobs: jobs)
            var rows: [[String]] = []
            var failed = false
            for move in moves {
                do {
                    let report = try await copier.copy(move.from, to: move.to.with(reference: nil), tags: [move.to.reference!])
                    rows.append([move.node.name, move.from.description, move.to.description, report.manifestDigest,
                                 "\(report.uploaded)", "\(report.mounted)", "\(report.skipped)"])
                } catch {
                    failed = true
                    Console.error("cannot promote \(move.from) to \(move.to): \(error)")
                }
            }
            Console.output(Table.render(["NODE", "FROM", "TO", "DIGEST", "UPLOADED", "MOUNTED", "SKIPPED"], rows)
                + "\n\(rows.count) of \(moves.count) promoted")
            if failed { throw ExitCode(1) }
        }

        private func suffixed(_ tag: String, _ node: BuildNode) -> String {
            node.variant.map { "\(tag)-\($0)" } ?? tag
        }
    }
}
