import Foundation
import StrataProcess
import Testing

/// Runs the `strata` binary built next to this test bundle, and the docker CLI, against the
/// engine and registry `scripts/test` started. No engine is a failure, never a skip: the
/// suite exists to prove strata against the real thing.
enum Bench {
    /// The release executable, the one users get (Swift 6.3's optimizer has broken it where
    /// the debug build worked): `STRATA_BINARY`, which `scripts/test` sets after
    /// `swift build -c release`, else the package's `.build/release/strata`.
    static var strata: String {
        ProcessInfo.processInfo.environment["STRATA_BINARY"] ?? repository.appendingPathComponent(".build/release/strata").path
    }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The engine: DOCKER_HOST, else the socket `scripts/test` starts.
    static var dockerHost: String {
        if let host = ProcessInfo.processInfo.environment["DOCKER_HOST"], !host.isEmpty { return host }
        return "unix:///tmp/strata-bench/engine/docker.sock"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The environment of every command: the bench's engine, no GitHub Actions.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = dockerHost
        environment["GITHUB_ACTIONS"] = nil
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Runs a command to its end; fifteen minutes is a hang, which fails the test.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil,
                    environment extra: [String: String] = [:]) throws -> Result {
        let result = try ChildProcess.run(executable, arguments, directory: directory, environment: environment(extra),
                                          timeout: .seconds(900))
        return Result(status: result.signaled ? 128 + result.status : result.status, stdout: result.output,
                      stderr: result.errorOutput)
    }

    static func strata(_ arguments: [String], in directory: String? = nil) throws -> Result {
        try #require(FileManager.default.isExecutableFile(atPath: strata),
                     "no release strata at \(strata): run scripts/test, or swift build -c release first")
        return try run(strata, arguments, in: directory)
    }

    /// The docker CLI for the bench's engine: STRATA_DOCKER_CLI, which `scripts/test` sets
    /// (Docker 28.4's BuildKit needs a CLI with buildx, in the DOCKER_CONFIG it sets too), else
    /// Debian's, which drives 20.10's BuildKit on its own.
    static var dockerCLI: String {
        ProcessInfo.processInfo.environment["STRATA_DOCKER_CLI"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/docker"
    }

    static func docker(_ arguments: [String]) throws -> Result {
        try run(dockerCLI, arguments)
    }

    /// Fails the test (with what to do) when no engine answers.
    static func requireEngine() throws {
        let ping = try docker(["version", "--format", "{{.Server.APIVersion}}"])
        try #require(ping.status == 0, "no Docker engine at \(dockerHost): run scripts/test, which starts one (\(ping.stderr))")
    }

    /// A registry prefix of this test's own (under `host`, a name for images never pushed by
    /// default): tests run at once in one engine, and each removes what it tagged
    /// (`removeImages`).
    static func scratchRegistry(_ stem: String, host: String = "strata-it.test") -> String {
        "\(host)/\(stem)-" + UUID().uuidString.prefix(8).lowercased()
    }

    /// Untags every engine image under `prefix` (an image goes with its last tag): a run of
    /// the suite leaves nothing behind in the engine, which may be a developer's own.
    static func removeImages(under prefix: String) {
        guard let listed = try? docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]) else { return }
        let references = listed.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix + "/") }
        if !references.isEmpty { _ = try? docker(["rmi"] + references) }
    }

    /// A new folder holding `files` (relative path → contents), for a fleet written by a test.
    static func fleet(_ stem: String, _ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.path + "/strata-\(stem)-" + UUID().uuidString
        for (path, contents) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        }
        return root
    }

    /// A copy of `images/` in a fresh folder, with its own cache.
    static func demoFleetCopy() throws -> String {
        let destination = FileManager.default.temporaryDirectory.path + "/strata-it-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: repository.appendingPathComponent("images").path, toPath: destination)
        return destination
    }

    /// Parses `build --format json` into node → key.
    static func keys(_ json: String) throws -> [String: String] {
        struct Document: Decodable { struct Node: Decodable { var node: String; var key: String }; var nodes: [Node] }
        let document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        return Dictionary(uniqueKeysWithValues: document.nodes.map { ($0.node, $0.key) })
    }

    /// Parses `build --format json` into node → status.
    static func statuses(_ json: String) throws -> [String: String] {
        struct Document: Decodable { struct Node: Decodable { var node: String; var status: String }; var nodes: [Node] }
        let document = try JSONDecoder().decode(Document.self, from: Data(json.utf8))
        return Dictionary(uniqueKeysWithValues: document.nodes.map { ($0.node, $0.status) })
    }
}
