import Foundation
import StrataBuild
import StrataEngine
import Synchronization

/// `--progress github`: one `::group::` per node. Nodes build concurrently, so each node's
/// lines are kept until it ends and then printed as one group (GitHub Actions workflow
/// commands, "Grouping log lines").
final class GitHubReporter: BuildReporter, ProgressFinishing {
    private let buffers = Mutex<[String: [String]]>([:])

    func started(node: String, reason: String) {
        append(node, "building: \(reason)")
    }

    func event(node: String, _ event: BuildEvent) {
        switch event {
        case .step(let step):
            if step.completed || step.error != nil {
                append(node, "\(step.cached ? "CACHED " : "")\(TerminalText.clean(step.name))"
                    + (step.error.map { " — \(TerminalText.clean($0))" } ?? ""))
            }
        case .log(_, let line):
            append(node, TerminalText.clean(line))
        }
    }

    func finished(_ outcome: NodeOutcome) {
        let lines = buffers.withLock { $0.removeValue(forKey: outcome.node) ?? [] }
        var text = "::group::\(outcome.node): \(outcome.status.rawValue) (\(String(format: "%.1f", outcome.seconds))s)\n"
        // A build log line is never a workflow command (`::add-mask::`, `::set-output::`…):
        // GitHub ignores commands between stop-commands and its token.
        let token = UUID().uuidString
        text += "::stop-commands::\(token)\n"
        text += lines.map { $0 + "\n" }.joined()
        text += "::\(token)::\n"
        text += "::endgroup::\n"
        if outcome.status == .failed {
            text += "::stop-commands::\(token)\n" + failureReport(outcome) + "::\(token)::\n"
            let message = TerminalText.clean((outcome.message ?? "failed").replacingOccurrences(of: "%", with: "%25")
                .replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A"))
            text += "::error title=strata build \(outcome.node)::\(message)\n"
        }
        ProgressOutput.write(text)
    }

    private func append(_ node: String, _ line: String) {
        buffers.withLock { $0[node, default: []].append(line) }
    }

    func finish() {}
}
