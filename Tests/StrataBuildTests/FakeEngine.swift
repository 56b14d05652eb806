import Foundation
import StrataArchive
import StrataEngine
import StrataHTTP
import Synchronization

/// An engine that records what it is asked to build, reads the context tar it is sent, and
/// fails the builds whose Dockerfile contains `FAIL`.
final class FakeEngine: ContainerEngine {
    struct Build: Sendable {
        var tags: [String]
        var dockerfile: String
        var files: [String]
        var options: BuildOptions
        /// True when the context came over a session.
        var session: Bool
    }

    struct State {
        var builds: [Build] = []
        var images: [String: ImageInfo] = [:]
        var running = 0
        var maxRunning = 0
    }

    let state = Mutex(State())
    let delay: Duration
    let acceptsSessionContexts: Bool
    /// Runs inside every build, after the context was read: a user at work meanwhile.
    let duringBuild: @Sendable () -> Void

    init(delay: Duration = .milliseconds(20), sessions: Bool = false, duringBuild: @escaping @Sendable () -> Void = {}) {
        self.delay = delay
        acceptsSessionContexts = sessions
        self.duringBuild = duringBuild
    }

    /// The context's paths and the Dockerfile's text, from the tar or through the session's
    /// directories as BuildKit would ask for them.
    static func read(_ context: BuildContext, dockerfilePath: String) throws -> (files: [String], dockerfile: String) {
        switch context {
        case .session(let session):
            let files = session.directory(SessionDirectoryRequest(name: "context")) ?? []
            let dockerfiles = session.directory(SessionDirectoryRequest(name: "dockerfile", followPaths: [dockerfilePath])) ?? []
            guard case .bytes(let text)? = dockerfiles.first?.contents else { return (files.map(\.path), "") }
            return (files.map(\.path), String(decoding: text, as: UTF8.self))
        case .tar(let body):
            guard case .stream(_, let open) = body else { throw CancellationError() }
            var stream = try open()
            var tar: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = try chunk.withUnsafeMutableBytes { try stream.read(into: $0) }
                if count == 0 { break }
                tar += chunk[..<count]
            }
            let path = FileManager.default.temporaryDirectory.path + "/fake-\(UUID().uuidString).tar"
            try Data(tar).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let reader = try TarReader(path: path)
            var files: [String] = []
            var dockerfile = ""
            while let entry = try reader.next() {
                files.append(entry.path)
                if entry.path == dockerfilePath { dockerfile = String(decoding: try reader.readAll(), as: UTF8.self) }
            }
            return (files, dockerfile)
        }
    }

    var builds: [Build] { state.withLock { $0.builds } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }

    func build(context: BuildContext, options: BuildOptions, events: @escaping @Sendable (BuildEvent) -> Void) async throws -> BuildResult {
        state.withLock { $0.running += 1; $0.maxRunning = max($0.maxRunning, $0.running) }
        defer { state.withLock { $0.running -= 1 } }
        let (files, dockerfile) = try Self.read(context, dockerfilePath: options.dockerfile)
        events(.step(.init(id: "1", name: "[1/1] FROM", started: true, completed: false, cached: false, error: nil)))
        duringBuild()
        try await Task.sleep(for: delay)
        var session = false
        if case .session = context { session = true }
        let build = Build(tags: options.tags, dockerfile: dockerfile, files: files, options: options, session: session)
        state.withLock { $0.builds.append(build) }
        if dockerfile.contains("FAIL") {
            throw BuildFailure(step: "[2/2] RUN FAIL", message: "process \"/bin/sh -c FAIL\" did not complete successfully: exit code: 127",
                               logs: ["sh: FAIL: not found"])
        }
        let id = "sha256:" + String(repeating: "0", count: 56) + String(format: "%08x", state.withLock { $0.builds.count })
        let info = ImageInfo(id: id, size: 1000, repoTags: options.tags, labels: options.labels)
        state.withLock { state in
            state.images[id] = info
            for tag in options.tags { state.images[tag] = info }
        }
        return BuildResult(imageID: id)
    }

    func inspectImage(_ reference: String) async throws -> ImageInfo? {
        state.withLock { $0.images[reference] }
    }

    func tagImage(_ image: String, as reference: String) async throws {
        state.withLock { state in
            guard var info = state.images[image] else { return }
            info.repoTags.append(reference)
            for (name, other) in state.images where other.id == info.id { state.images[name] = info }
            state.images[reference] = info
        }
    }

    func removeImage(_ reference: String) async throws {
        _ = state.withLock { $0.images.removeValue(forKey: reference) }
    }

    /// Points `reference` at an image that is none of strata's (no `dev.strata.key` label).
    func repoint(_ reference: String) {
        state.withLock { state in
            for (name, info) in state.images where info.repoTags.contains(reference) {
                state.images[name]?.repoTags.removeAll { $0 == reference }
            }
            state.images[reference] = ImageInfo(id: "sha256:" + String(repeating: "e", count: 64), size: 1,
                                                repoTags: [reference], labels: [:])
        }
    }

    /// Forgets every image, as a fresh engine would.
    func forgetImages() {
        state.withLock { $0.images = [:] }
    }
}
