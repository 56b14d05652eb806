import Foundation
import StrataBuild
import StrataEngine
import Synchronization

/// `--progress plain`: one line per step, prefixed with the node's name.
final class PlainReporter: BuildReporter, ProgressFinishing {
    /// Steps already announced as started or done, per node and step id.
    private let announced = Mutex<Set<String>>([])

    func started(node: String, reason: String) {
        ProgressOutput.write("[\(node)] building: \(reason)\n")
    }

    func event(node: String, _ event: BuildEvent) {
        switch event {
        case .step(let step):
            let state = step.error != nil ? "error" : step.cached ? "cached" : step.completed ? "done" : step.started ? "start" : nil
            guard let state else { return }
            let fresh = announced.withLock { $0.insert("\(node)\u{0}\(step.id)\u{0}\(state)").inserted }
            if fresh { ProgressOutput.write("[\(node)] \(state.padding(toLength: 6, withPad: " ", startingAt: 0)) \(TerminalText.clean(step.name))\n") }
        case .log(_, let line):
            ProgressOutput.write("[\(node)] | \(line)\n")
        }
    }

    func finished(_ outcome: NodeOutcome) {
        switch outcome.status {
        case .failed:
            ProgressOutput.write(failureReport(outcome))
        case .skipped:
            ProgressOutput.write("[\(outcome.node)] skipped: \(TerminalText.clean(outcome.message ?? ""))\n")
        case .built, .cached:
            ProgressOutput.write("[\(outcome.node)] \(outcome.status.rawValue) in \(String(format: "%.1f", outcome.seconds))s\n")
        }
    }

    func finish() {}
}
