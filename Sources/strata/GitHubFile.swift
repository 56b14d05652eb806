import Foundation

/// The files GitHub Actions hands a step (`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`):
/// appended to, never replaced, since earlier steps' lines are in them.
enum GitHubFile {
    static func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// One `name=value` line of `$GITHUB_OUTPUT`; a value with a line break uses the
    /// heredoc form `name<<DELIMITER` … `DELIMITER`, with a delimiter the value lacks
    /// (as @actions/core's `prepareKeyValueMessage` does).
    static func outputLine(name: String, value: String) -> String {
        guard value.contains(where: \.isNewline) else { return "\(name)=\(value)\n" }
        var delimiter = "ghadelimiter_\(UUID().uuidString)"
        while value.contains(delimiter) { delimiter = "ghadelimiter_\(UUID().uuidString)" }
        return "\(name)<<\(delimiter)\n\(value)\n\(delimiter)\n"
    }
}
