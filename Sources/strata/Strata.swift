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
        if let message = Strata.unknownCommand(arguments) {
            FileHandle.standardError.write(Data("strata: \(message)\n".utf8))
            exit(2)
        }
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

extension Strata {
    /// The commands, by the names people type.
    static var commandNames: [String] {
        configuration.subcommands.map { $0._commandName }
    }

    /// What to say when the first word is no command (swift-argument-parser would complain
    /// about the option before it: "Unknown option '-C'"), with the nearest command when
    /// one is a typo away; nil when it is a command, an option, or absent.
    static func unknownCommand(_ arguments: [String]) -> String? {
        guard let word = arguments.first, !word.hasPrefix("-"), word != "help", !commandNames.contains(word) else { return nil }
        let nearest = commandNames.map { ($0, editDistance(word, $0)) }.min { $0.1 < $1.1 }
        if let (name, distance) = nearest, distance <= 2 {
            return "unknown command '\(word)' (did you mean '\(name)'?)"
        }
        return "unknown command '\(word)'; the commands are \(commandNames.joined(separator: ", "))"
    }

    /// Levenshtein distance, one row at a time.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let b = Array(b)
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var diagonal = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (x == y ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}

enum StrataVersion {
    static let current = "0.1.0"
}
