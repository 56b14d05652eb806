import ArgumentParser
import Foundation

/// The entry point. DESIGN.md puts the global options before the command
/// (`strata -C images build`); swift-argument-parser reads a subcommand's options after its
/// name, so the leading global options are moved behind the command name first. Usage errors
/// exit 2, as DESIGN.md's exit codes say (swift-argument-parser's own is 64).
@main
enum Entry {
    static func main() async {
        let arguments = GlobalOptions.movingLeadingOptions(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try Strata.parseAsRoot(arguments)
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            let code = Strata.exitCode(for: error)
            guard code == .validationFailure else { Strata.exit(withError: error) }
            FileHandle.standardError.write(Data((Strata.fullMessage(for: error) + "\n").utf8))
            exit(2)
        }
    }
}

/// The root command: global options live in `GlobalOptions`, each subcommand in its own file.
struct Strata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strata",
        abstract: "Build fleets of container images: only what changed, in dependency order.",
        version: StrataVersion.current,
        subcommands: [Check.self, Graph.self, Plan.self, Context.self, Build.self, Push.self, Tag.self, Promote.self,
                      Matrix.self, CI.self, Cache.self, Version.self]
    )
}

enum StrataVersion {
    static let current = "0.1.0"
}
