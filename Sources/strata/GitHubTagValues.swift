import ArgumentParser
import Foundation
import StrataFleet
import StrataProcess

/// Where tag templates get their values on this machine: GitHub Actions' variables, else
/// `git` in the manifest's folder.
enum BuildTagValues {
    /// The values for a build of `nodes`, after checking that every tag they will get
    /// expands (a bad template is a usage error, exit 2, before anything is built). `git` is
    /// not run when no tag is a template.
    static func resolve(fleet: Fleet, nodes: [Int], requested: Set<Int>, extraTags: [String],
                        environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TagValues {
        let templates = nodes.flatMap { fleet.nodes[$0].tags } + extraTags
        guard templates.contains(where: TagTemplate.isTemplate) else { return TagValues() }
        let directory = fleet.manifest.directory
        let values = TagValues.resolve(environment: environment, now: Date()) { Git.output($0, in: directory) }
        do {
            try TagTemplate.validate(fleet: fleet, nodes: nodes, requested: requested, extraTags: extraTags, values: values)
        } catch {
            Console.error(error.description)
            throw ExitCode(2)
        }
        return values
    }
}

/// Runs `git` for a value.
enum Git {
    /// The trimmed standard output of `git arguments` run in `directory`; nil when git is
    /// missing, fails (not a repository, no tag at HEAD…) or prints nothing. Its stderr is
    /// discarded: a missing value is reported by whoever needs it.
    static func output(_ arguments: [String], in directory: String) -> String? {
        guard let git = ChildProcess.find("git"),
            let result = try? ChildProcess.run(git, arguments, directory: directory, stderr: .discard, timeout: .seconds(60)),
            result.succeeded
        else { return nil }
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
