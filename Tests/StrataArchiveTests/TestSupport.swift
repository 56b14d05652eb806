import Foundation
import StrataProcess
@testable import StrataArchive

/// A temporary folder removed when the value is released.
final class TemporaryDirectory {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` to `relative`, creating folders, and sets its permission bits.
    @discardableResult
    func file(_ relative: String, _ text: String, mode: Int = 0o644) throws -> String {
        let target = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: target)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: target.path)
        return target.path
    }

    func directory(_ relative: String) throws {
        try FileManager.default.createDirectory(at: url.appendingPathComponent(relative), withIntermediateDirectories: true)
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: url.appendingPathComponent(relative).path, withDestinationPath: target)
    }

    /// Entries for the whole tree, sorted by path, described from the file system.
    func entries() throws -> [TarEntry] {
        let paths = try FileManager.default.subpathsOfDirectory(atPath: path).sorted()
        return try paths.map { try TarEntry(path: $0, sourcePath: url.appendingPathComponent($0).path) }
    }
}

/// Packs `entries` into memory.
func pack(_ entries: [TarEntry], mtime: Int64 = 0) throws -> [UInt8] {
    var output: [UInt8] = []
    let writer = try TarWriter(sink: .closure { output.append(contentsOf: $0) }, mtime: mtime)
    for entry in entries { try writer.append(entry) }
    try writer.finish()
    return output
}

/// Runs a tool, feeding `input` on stdin; returns stdout, throwing on a non-zero exit.
@discardableResult
func run(_ tool: String, _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:]) throws -> Data {
    let result = try ChildProcess.run(tool, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
                                      input: input.map { .bytes($0) } ?? .null, timeout: .seconds(300))
    guard result.succeeded else {
        throw ToolFailure(tool: tool, status: result.status, stderr: result.errorOutput)
    }
    return Data(result.stdout)
}

struct ToolFailure: Error, CustomStringConvertible {
    let tool: String
    let status: Int32
    let stderr: String
    var description: String { "\(tool) exited \(status): \(stderr)" }
}

/// Lines of a tool's output with runs of spaces collapsed, so column widths don't matter.
func normalizedLines(_ data: Data) -> [String] {
    String(decoding: data, as: UTF8.self).split(separator: "\n").map {
        $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
