import StrataFleet

/// Rewrites the places a Dockerfile names a fleet image so that they name exactly the image
/// this run built or restored (`<repository>:strata-<key>`), never a registry copy that may
/// be stale. Line numbers are kept (a rewritten multi-line FROM leaves blank lines), so the
/// engine's errors still point at the user's lines. The key covers the original file.
public enum DockerfileRewriter {
    /// `text` with every fleet reference of `node` replaced; `exact` maps parent node names to
    /// the references to build on.
    public static func rewrite(_ text: String, dockerfile: Dockerfile, node: BuildNode,
                               exact: [String: String]) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for edge in node.fleetReferences {
            guard let replacement = exact[edge.node] else { continue }
            let line = edge.location.line
            switch edge.kind {
            case .from:
                guard let stage = dockerfile.stages.first(where: { $0.from.line == line }) else { continue }
                var from = "FROM"
                if let platform = stage.platform { from += " --platform=\(platform)" }
                from += " \(replacement)"
                if let name = stage.name { from += " AS \(name)" }
                replace(&lines, from: line, to: stage.from.endLine, with: from)
            case .copyFrom, .mountFrom:
                guard let instruction = dockerfile.stages.lazy.flatMap(\.instructions).first(where: { $0.line == line }) else {
                    continue
                }
                let written: [String] = edge.kind == .copyFrom
                    ? instruction.flagValues("from")
                    : instruction.flagValues("mount").compactMap { mountFrom($0) }
                for value in written {
                    let prefix = edge.kind == .copyFrom ? "--from=" : "from="
                    substitute(&lines, lines: line...instruction.endLine, "\(prefix)\(value)", "\(prefix)\(replacement)")
                }
            case .explicit:
                continue
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func replace(_ lines: inout [String], from first: Int, to last: Int, with text: String) {
        guard first >= 1, first <= lines.count else { return }
        lines[first - 1] = text
        if last > first {
            for index in first..<min(last, lines.count) { lines[index] = "" }
        }
    }

    /// Replaces the first occurrence of `old` in the instruction's lines.
    private static func substitute(_ lines: inout [String], lines range: ClosedRange<Int>, _ old: String, _ new: String) {
        for number in range where number >= 1 && number <= lines.count {
            if let found = lines[number - 1].range(of: old) {
                lines[number - 1].replaceSubrange(found, with: new)
                return
            }
        }
    }

    private static func mountFrom(_ mount: String) -> String? {
        for field in mount.split(separator: ",") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "from" { return String(parts[1]) }
        }
        return nil
    }
}
