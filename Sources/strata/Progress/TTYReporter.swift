import Foundation
import StrataBuild
import StrataEngine
import Synchronization

/// `--progress tty`: a live view on stderr, redrawn ten times a second: one line per running
/// node (its current step and elapsed time) under a fleet-wide line (done / running / cached /
/// failed / left). Finished nodes scroll up above the view.
final class TTYReporter: BuildReporter, ProgressFinishing {
    private struct Running {
        var started: ContinuousClock.Instant
        var step: String
    }

    private struct State {
        var running: [String: Running] = [:]
        var order: [String] = []
        var built = 0, cached = 0, failed = 0, skipped = 0
        var drawnLines = 0
        var stopped = false
    }

    private let total: Int
    private let state = Mutex(State())
    private let ticker = Mutex<Task<Void, Never>?>(nil)

    init(total: Int) {
        self.total = total
        let task = Task { [weak self] in
            while !Task.isCancelled {
                self?.redraw(prefix: "")
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        ticker.withLock { $0 = task }
    }

    func started(node: String, reason: String) {
        state.withLock { state in
            state.running[node] = Running(started: .now, step: reason)
            state.order.append(node)
        }
    }

    func event(node: String, _ event: BuildEvent) {
        guard case .step(let step) = event, step.started, !step.completed else { return }
        state.withLock { state in state.running[node]?.step = TerminalText.clean(step.name) }
    }

    func finished(_ outcome: NodeOutcome) {
        let line: String
        switch outcome.status {
        case .built: line = "✓ \(outcome.node) built in \(String(format: "%.1f", outcome.seconds))s\n"
        case .cached: line = "= \(outcome.node) cached\n"
        case .skipped: line = "- \(outcome.node) skipped: \(TerminalText.clean(outcome.message ?? ""))\n"
        case .failed: line = failureReport(outcome)
        }
        state.withLock { state in
            state.running[outcome.node] = nil
            state.order.removeAll { $0 == outcome.node }
            switch outcome.status {
            case .built: state.built += 1
            case .cached: state.cached += 1
            case .failed: state.failed += 1
            case .skipped: state.skipped += 1
            }
        }
        redraw(prefix: line)
    }

    func finish() {
        ticker.withLock { $0?.cancel() }
        redraw(prefix: "", final: true)
    }

    /// Erases the view, prints `prefix` (finished nodes), and draws the view again.
    private func redraw(prefix: String, final: Bool = false) {
        state.withLock { state in
            guard !state.stopped else { return }
            var text = state.drawnLines > 0 ? "\u{1B}[\(state.drawnLines)F\u{1B}[0J" : ""
            text += prefix
            if final {
                state.stopped = true
                state.drawnLines = 0
            } else {
                let width = max(40, terminalWidth())
                let done = state.built + state.cached + state.failed + state.skipped
                var view = ["[\(done)/\(total)] built \(state.built) · cached \(state.cached) · failed \(state.failed) · running \(state.running.count) · left \(total - done - state.running.count)"]
                for node in state.order {
                    guard let running = state.running[node] else { continue }
                    let seconds = Double((ContinuousClock.now - running.started).components.seconds)
                    view.append(String("  \(node) \(String(format: "%3.0f", seconds))s  \(running.step)".prefix(width - 1)))
                }
                text += view.joined(separator: "\n") + "\n"
                state.drawnLines = view.count
            }
            ProgressOutput.write(text)
        }
    }

    private func terminalWidth() -> Int {
        var size = winsize()
        return ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 100
    }
}
