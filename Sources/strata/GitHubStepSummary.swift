import Foundation
import StrataBuild

/// The build's table as GitHub-flavoured markdown, appended to the job's summary page
/// (`$GITHUB_STEP_SUMMARY`, "Adding a job summary" in GitHub's workflow-commands docs).
enum GitHubStepSummary {
    /// Appends the table when running under GitHub Actions with a summary file; a summary
    /// that cannot be written is a warning, never a failed build.
    static func append(_ outcomes: [NodeOutcome],
                       environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard environment["GITHUB_ACTIONS"] == "true",
              let path = environment["GITHUB_STEP_SUMMARY"], !path.isEmpty else { return }
        do {
            try GitHubFile.append(markdown(outcomes), to: path)
        } catch {
            Console.error("warning: could not write the step summary to \(path): \(error)")
        }
    }

    /// `| node | status | seconds | size |`, one row per node, then the counts.
    static func markdown(_ outcomes: [NodeOutcome]) -> String {
        var lines = ["### strata build", "", "| node | status | seconds | size |", "| --- | --- | ---: | ---: |"]
        for outcome in outcomes {
            let status = outcome.message.map { "\(outcome.status.rawValue): \($0)" } ?? outcome.status.rawValue
            lines.append("| `\(outcome.node)` | \(cell(status)) | \(String(format: "%.1f", outcome.seconds)) | "
                         + "\(outcome.size.map(ByteCount.format) ?? "-") |")
        }
        var counts: [NodeOutcome.Status: Int] = [:]
        for outcome in outcomes { counts[outcome.status, default: 0] += 1 }
        lines.append("")
        lines.append("\(outcomes.count) nodes: \(counts[.built] ?? 0) built, \(counts[.cached] ?? 0) cached, "
                     + "\(counts[.failed] ?? 0) failed, \(counts[.skipped] ?? 0) skipped")
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// A table cell: one line, with `|` escaped so it cannot end the cell.
    static func cell(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ").replacingOccurrences(of: "|", with: "\\|")
    }
}
