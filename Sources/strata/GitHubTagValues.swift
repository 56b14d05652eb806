import ArgumentParser
import Foundation
import StrataFleet

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
