import ArgumentParser
import Foundation
import StrataFleet

extension Strata {
    /// `strata ci github`. The provider is an argument, not a subcommand, so that global
    /// options written first (`strata -C images ci github`, moved behind `ci`) still parse.
    struct CI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ci",
            abstract: "Print a CI workflow that builds the fleet wave by wave.",
            discussion: """
                github: a GitHub Actions workflow with a plan job (strata matrix --changed), then one job per \
                wave of the fleet (one per 256 nodes for a larger wave). Pushes to the --branch branches push; \
                pull requests build without pushing. Save it as .github/workflows/strata.yml; its plan job \
                runs --check on it, and fails once it no longer matches the fleet. The registry is --registry, \
                else the manifest's registry:.
                """)

        enum Provider: String, ExpressibleByArgument, CaseIterable { case github }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The CI service: github.")
        var provider: Provider

        @Option(help: "The runner label every job runs on (Ubuntu 24.04, unless --strata-install).")
        var runsOn = "ubuntu-24.04"

        @Option(name: .customLong("branch"), help: "A branch whose pushes build and push (repeatable; default: main).")
        var branches: [String] = []

        @Option(help: "The shell command that installs strata on a runner (default: the plan job builds it from source).")
        var strataInstall: String?

        @Option(help: ArgumentHelp("Compare this file with the workflow these options print: exit 1 when it differs.",
                                   valueName: "file"))
        var check: String?

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            guard let registry = global.effectiveRegistry ?? fleet.manifest.registry else {
                Console.error("the workflow pushes to a registry, and none is set: pass --registry "
                              + "(e.g. ghcr.io/OWNER) or set registry: in \(fleet.displayPath(fleet.manifest.path))")
                throw ExitCode(2)
            }
            let settings = GitHubWorkflow.Settings(
                manifest: GitHubWorkflow.repositoryPath(of: fleet.manifest.path),
                registry: registry,
                runsOn: runsOn,
                branches: branches.isEmpty ? ["main"] : branches,
                install: strataInstall,
                waves: WaveJob.jobs(of: fleet))
            let workflow = GitHubWorkflow.render(settings)
            guard let check else { return Console.output(workflow) }
            try Self.compare(check, with: workflow, settings: settings)
        }

        /// `--check FILE`: equal but for trailing line breaks (what `> FILE` or an editor adds),
        /// else one line naming the file, the first difference and the command that regenerates it.
        static func compare(_ path: String, with workflow: String, settings: GitHubWorkflow.Settings) throws {
            guard let data = FileManager.default.contents(atPath: path) else {
                Console.error("--check \(path): no such file, or it cannot be read")
                throw ExitCode(2)
            }
            let old = lines(String(decoding: data, as: UTF8.self)), new = lines(workflow)
            guard old != new else {
                ProgressOutput.write("\(path) matches the fleet\n")
                return
            }
            let oldJobs = waveJobNames(old), newJobs = waveJobNames(new)
            let difference = oldJobs != newJobs
                ? "it has \(oldJobs.count) wave job\(oldJobs.count == 1 ? "" : "s"), the fleet needs \(newJobs.count)"
                : "line \((old.indices.first { $0 >= new.count || old[$0] != new[$0] } ?? old.count) + 1) differs"
            Console.error("\(path) no longer matches the fleet \(settings.manifest) and these options (\(difference)); regenerate it: "
                          + "\(GitHubWorkflow.command(settings)) > \(GitHubWorkflow.shellWord(path))")
            throw ExitCode(1)
        }

        static func lines(_ text: String) -> [String] {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            while lines.last?.isEmpty == true { lines.removeLast() }
            return lines
        }

        /// The ids of the wave jobs: `  wave<i>:` or `  wave<i>_<p>:` under `jobs:`.
        static func waveJobNames(_ lines: [String]) -> [String] {
            lines.compactMap { line in
                guard line.hasPrefix("  wave"), line.hasSuffix(":") else { return nil }
                let name = line.dropFirst(2).dropLast()
                return name.dropFirst(4).allSatisfy { $0.isNumber || $0 == "_" } ? String(name) : nil
            }
        }
    }
}
