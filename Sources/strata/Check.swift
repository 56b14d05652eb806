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
            let environment = ProcessInfo.processInfo.environment
            let format = self.format ?? (environment["GITHUB_ACTIONS"] == "true" ? .github : .text)
            let fleet: Fleet
            var directory = FileManager.default.currentDirectoryPath
            do {
                let path = try global.manifestPath()
                directory = URL(fileURLWithPath: path).standardized.deletingLastPathComponent().path
                fleet = try Fleet.load(path: path, registry: global.effectiveRegistry)
            } catch {
                // Said once on stderr; in the machine formats, one finding where CI shows findings.
                if format == .text {
                    Console.error(error.description)
                } else {
                    let finding = Finding(.error, rule: "manifest", at: error.location, message: error.message, hint: error.hint)
                    try report([finding], format: format, directory: directory, imageCount: 0, environment: environment)
                }
                throw ExitCode(2)
            }
            let findings = Checker.check(fleet)
            try report(findings, format: format, directory: fleet.manifest.directory, imageCount: fleet.manifest.images.count,
                       environment: environment)
            let errors = findings.filter { $0.severity == .error }.count
            if errors > 0 || (strict && findings.count > errors) { throw ExitCode(1) }
        }

        /// Prints `findings` (file paths relative to `directory`, the manifest's folder).
        private func report(_ findings: [Finding], format: Format, directory: String, imageCount: Int,
                            environment: [String: String]) throws {
            let errors = findings.filter { $0.severity == .error }.count
            let warnings = findings.count - errors
            let root = CheckFormats.root(from: directory, environment: environment)
            let prefix = CheckFormats.pathPrefix(manifestDirectory: directory, root: root)
            switch format {
            case .text:
                for finding in findings { Console.output(finding.description) }
                Console.output("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") in \(imageCount) images")
            case .json:
                try Console.json(CheckReport(errors: errors, warnings: warnings, findings: findings))
            case .github:
                for finding in findings { Console.output(CheckFormats.githubAnnotation(finding, pathPrefix: prefix)) }
            case .sarif:
                try Console.json(CheckFormats.sarif(findings, version: StrataVersion.current, root: root, pathPrefix: prefix))
            }
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
    /// The folder findings' paths are relative to in `github` and `sarif` output: the
    /// workspace in GitHub Actions, else the git repository holding `directory`, else the
    /// working directory.
    static func root(from directory: String, environment: [String: String]) -> String {
        if let workspace = environment["GITHUB_WORKSPACE"], !workspace.isEmpty { return workspace }
        var candidate = directory
        while !candidate.isEmpty && candidate != "/" {
            if FileManager.default.fileExists(atPath: candidate + "/.git") { return candidate }
            candidate = (candidate as NSString).deletingLastPathComponent
        }
        return FileManager.default.currentDirectoryPath
    }

    /// The manifest's folder relative to `root`, so annotation paths are repository paths.
    static func pathPrefix(manifestDirectory: String, root: String) -> String {
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

    /// A SARIF 2.1.0 log (OASIS SARIF v2.1.0, §3.13 run, §3.27 result): each location
    /// relative to `%SRCROOT%` (§3.4.4), which `originalUriBaseIds` sets to `root`; each rule
    /// with its short description and help.
    static func sarif(_ findings: [Finding], version: String, root: String, pathPrefix: String) -> SARIFLog {
        let rules = Array(Set(findings.map(\.rule))).sorted()
        let rootURI = URL(fileURLWithPath: root, isDirectory: true).absoluteString
        return SARIFLog(runs: [.init(
            tool: .init(driver: .init(name: "strata", version: version, rules: rules.map { rule in
                                          let text = Finding.rules[rule] ?? (rule, "")
                                          return .init(id: rule, shortDescription: .init(text: text.summary),
                                                       help: .init(text: text.help.isEmpty ? text.summary : text.help))
                                      })),
            originalUriBaseIds: ["%SRCROOT%": .init(uri: rootURI)],
            results: findings.map { finding in
                .init(ruleId: finding.rule, level: finding.severity.rawValue,
                      message: .init(text: finding.message + (finding.hint.map { " (\($0))" } ?? "")),
                      locations: [.init(physicalLocation: .init(
                          artifactLocation: .init(uri: pathPrefix + finding.file, uriBaseId: "%SRCROOT%"),
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

    struct Run: Encodable { var tool: Tool; var originalUriBaseIds: [String: BaseURI]; var results: [Result] }
    struct BaseURI: Encodable { var uri: String }
    struct Tool: Encodable { var driver: Driver }
    struct Driver: Encodable { var name: String; var version: String; var rules: [Rule] }
    struct Rule: Encodable { var id: String; var shortDescription: Message; var help: Message }
    struct Result: Encodable {
        var ruleId: String
        var level: String
        var message: Message
        var locations: [Location]
    }
    struct Message: Encodable { var text: String }
    struct Location: Encodable { var physicalLocation: PhysicalLocation }
    struct PhysicalLocation: Encodable { var artifactLocation: ArtifactLocation; var region: Region }
    struct ArtifactLocation: Encodable { var uri: String; var uriBaseId: String }
    struct Region: Encodable { var startLine: Int }
}
