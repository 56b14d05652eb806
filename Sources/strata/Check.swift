import ArgumentParser
import Foundation
import StrataFleet

extension Strata {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find problems in the fleet before any build: cycles, missing files, undefined ARGs, …",
            discussion: "Exit status: 0 when there is no error (nor warning with --strict), 1 otherwise, 2 when the manifest cannot be read.")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case text, json, github, sarif
        }

        @OptionGroup var global: GlobalOptions

        @Option(help: "Output format.")
        var format: Format?

        @Flag(help: "Fail on warnings too.")
        var strict = false

        func run() async throws {
            let fleet = try global.loadFleet()
            let findings = Checker.check(fleet)
            let errors = findings.filter { $0.severity == .error }.count
            let warnings = findings.count - errors
            let environment = ProcessInfo.processInfo.environment
            switch format ?? (environment["GITHUB_ACTIONS"] == "true" ? .github : .text) {
            case .text:
                for finding in findings { Console.output(finding.description) }
                Console.output("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") in \(fleet.manifest.images.count) images")
            case .json:
                try Console.json(CheckReport(errors: errors, warnings: warnings, findings: findings))
            case .github:
                let prefix = CheckFormats.pathPrefix(manifestDirectory: fleet.manifest.directory, environment: environment)
                for finding in findings { Console.output(CheckFormats.githubAnnotation(finding, pathPrefix: prefix)) }
            case .sarif:
                try Console.json(CheckFormats.sarif(findings, version: StrataVersion.current))
            }
            if errors > 0 || (strict && warnings > 0) { throw ExitCode(1) }
        }
    }
}

/// `check --format json`.
struct CheckReport: Encodable {
    var errors: Int
    var warnings: Int
    var findings: [Finding]
}

enum CheckFormats {
    /// The manifest's folder relative to the workspace, so annotation paths are repository paths.
    static func pathPrefix(manifestDirectory: String, environment: [String: String]) -> String {
        let root = environment["GITHUB_WORKSPACE"] ?? FileManager.default.currentDirectoryPath
        let base = root.hasSuffix("/") ? root : root + "/"
        guard manifestDirectory.hasPrefix(base) else { return manifestDirectory == root ? "" : manifestDirectory + "/" }
        return String(manifestDirectory.dropFirst(base.count)) + "/"
    }

    /// A workflow command (`::error file=…,line=…,title=…::message`); property values and the
    /// message are escaped as the Actions toolkit does (`%`, CR, LF; and `:` `,` in properties).
    static func githubAnnotation(_ finding: Finding, pathPrefix: String) -> String {
        func escapeData(_ text: String) -> String {
            text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
                .replacingOccurrences(of: "\n", with: "%0A")
        }
        func escapeProperty(_ text: String) -> String {
            escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
        }
        let level = finding.severity == .error ? "error" : "warning"
        var message = finding.message
        if let hint = finding.hint { message += " (\(hint))" }
        return "::\(level) file=\(escapeProperty(pathPrefix + finding.file)),line=\(max(finding.line, 1)),title=\(escapeProperty("strata " + finding.rule))::\(escapeData(message))"
    }

    /// A SARIF 2.1.0 log (OASIS SARIF v2.1.0, §3.13 run, §3.27 result).
    static func sarif(_ findings: [Finding], version: String) -> SARIFLog {
        let rules = Array(Set(findings.map(\.rule))).sorted()
        return SARIFLog(runs: [.init(
            tool: .init(driver: .init(name: "strata", version: version, rules: rules.map { .init(id: $0) })),
            results: findings.map { finding in
                .init(ruleId: finding.rule, level: finding.severity.rawValue,
                      message: .init(text: finding.message + (finding.hint.map { " (\($0))" } ?? "")),
                      locations: [.init(physicalLocation: .init(artifactLocation: .init(uri: finding.file),
                                                                region: .init(startLine: max(finding.line, 1))))])
            }
        )])
    }
}

struct SARIFLog: Encodable {
    var version = "2.1.0"
    var schema = "https://json.schemastore.org/sarif-2.1.0.json"
    var runs: [Run]

    enum CodingKeys: String, CodingKey { case version, schema = "$schema", runs }

    struct Run: Encodable { var tool: Tool; var results: [Result] }
    struct Tool: Encodable { var driver: Driver }
    struct Driver: Encodable { var name: String; var version: String; var rules: [Rule] }
    struct Rule: Encodable { var id: String }
    struct Result: Encodable {
        var ruleId: String
        var level: String
        var message: Message
        var locations: [Location]
    }
    struct Message: Encodable { var text: String }
    struct Location: Encodable { var physicalLocation: PhysicalLocation }
    struct PhysicalLocation: Encodable { var artifactLocation: ArtifactLocation; var region: Region }
    struct ArtifactLocation: Encodable { var uri: String }
    struct Region: Encodable { var startLine: Int }
}
