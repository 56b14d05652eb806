import Foundation
import StrataProcess
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `strata` executable, run as people run it.
enum StrataBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// True when the process ended by a signal rather than by exiting.
        var signaled: Bool
    }

    /// The release executable, the one users get (Swift 6.3's optimizer has broken it where
    /// the debug build worked): `STRATA_BINARY`, which `scripts/test` sets after
    /// `swift build -c release`, else the package's `.build/release/strata`.
    static let url: URL? = {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = ProcessInfo.processInfo.environment["STRATA_BINARY"].map { URL(fileURLWithPath: $0) }
            ?? package.appendingPathComponent(".build/release/strata")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }()

    /// Starts `strata arguments` in `directory`; output goes to temporary files, so a killed
    /// process leaves what it wrote.
    final class Running {
        let child: ChildProcess
        let stdoutPath: String
        let stderrPath: String

        init(_ arguments: [String], in directory: String?, environment: [String: String]) throws {
            let executable = try #require(StrataBinary.url, "the release strata executable was not found; run scripts/test, or swift build -c release first")
            let base = FileManager.default.temporaryDirectory.path + "/strata-run-" + UUID().uuidString
            stdoutPath = base + ".out"
            stderrPath = base + ".err"
            var merged = ProcessInfo.processInfo.environment
            for name in ["STRATA_CACHE", "STRATA_REGISTRY", "GITHUB_ACTIONS", "COLUMNS"] { merged[name] = nil }
            merged.merge(environment) { _, new in new }
            child = try ChildProcess(executable.path, arguments, directory: directory, environment: merged,
                                     stdout: .file(stdoutPath), stderr: .file(stderrPath))
        }

        func kill() {
            child.signal(SIGKILL)
        }

        /// Waits for the end; ten minutes is a hang, not a slow run.
        func wait() throws -> Result {
            let result = try child.wait(timeout: .seconds(600))
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: stdoutPath)
            try? FileManager.default.removeItem(atPath: stderrPath)
            return Result(status: result.status, stdout: out, stderr: err, signaled: result.signaled)
        }
    }

    /// Runs `strata arguments` to the end.
    static func run(_ arguments: [String], in directory: String? = nil,
                    environment: [String: String] = [:]) throws -> Result {
        try Running(arguments, in: directory, environment: environment).wait()
    }
}

/// A deterministic generator (SplitMix64), so a failing run can be repeated.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A temporary folder removed with the value.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/strata-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ relative: String, _ text: String) throws {
        let full = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
