import ArgumentParser
import Foundation
import StrataBuild

/// `--progress auto|tty|plain|github`.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    case auto, tty, plain, github

    /// `auto`: what `BUILDKIT_PROGRESS` says (`plain` or `tty`, as with `docker build`), else
    /// github inside GitHub Actions, tty when stderr is a terminal, else plain.
    func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) -> ProgressMode {
        guard self == .auto else { return self }
        if let mode = environment["BUILDKIT_PROGRESS"].flatMap(ProgressMode.init(rawValue:)), mode == .plain || mode == .tty {
            return mode == .tty && isatty(STDERR_FILENO) != 1 ? .plain : mode
        }
        if environment["GITHUB_ACTIONS"] == "true" { return .github }
        return isatty(STDERR_FILENO) == 1 && environment["TERM"] != "dumb" ? .tty : .plain
    }

    func reporter(total: Int) -> any BuildReporter & ProgressFinishing {
        switch resolved() {
        case .tty: return TTYReporter(total: total)
        case .github: return GitHubReporter()
        case .plain, .auto: return PlainReporter()
        }
    }
}

/// A reporter that has something to do when the run ends (stop redrawing, flush).
protocol ProgressFinishing: Sendable {
    func finish()
}

/// Writes progress to stderr, one write per call so concurrent lines never interleave.
enum ProgressOutput {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The failing step and its last 30 log lines, under the node's name: what every mode
/// prints for a failed node.
func failureReport(_ outcome: NodeOutcome) -> String {
    var lines = ["✗ \(outcome.node) failed: \(TerminalText.clean(outcome.message ?? "unknown error"))"]
    if let failure = outcome.failure {
        if let step = failure.step { lines.append("  step: \(TerminalText.clean(step))") }
        for line in failure.logs.suffix(30) { lines.append("  | \(TerminalText.clean(line))") }
    }
    return lines.joined(separator: "\n") + "\n"
}
