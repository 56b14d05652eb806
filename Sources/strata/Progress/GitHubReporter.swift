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
                append(node, "\(step.cached ? "CACHED " : "")\(step.name)\(step.error.map { " — \($0)" } ?? "")")
            }
        case .log(_, let line):
            append(node, line)
        }
    }

    func finished(_ outcome: NodeOutcome) {
        let lines = buffers.withLock { $0.removeValue(forKey: outcome.node) ?? [] }
        var text = "::group::\(outcome.node): \(outcome.status.rawValue) (\(String(format: "%.1f", outcome.seconds))s)\n"
        text += lines.map { $0 + "\n" }.joined()
        text += "::endgroup::\n"
        if outcome.status == .failed {
            text += failureReport(outcome)
            let message = (outcome.message ?? "failed").replacingOccurrences(of: "%", with: "%25")
                .replacingOccurrences(of: "\n", with: "%0A")
            text += "::error title=strata build \(outcome.node)::\(message)\n"
        }
        ProgressOutput.write(text)
    }

    private func append(_ node: String, _ line: String) {
        buffers.withLock { $0[node, default: []].append(line) }
    }

    func finish() {}
}
