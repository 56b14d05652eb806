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
    }

    struct State {
        var builds: [Build] = []
        var images: [String: ImageInfo] = [:]
        var running = 0
        var maxRunning = 0
    }

    let state = Mutex(State())
    let delay: Duration

    init(delay: Duration = .milliseconds(20)) {
        self.delay = delay
    }

    var builds: [Build] { state.withLock { $0.builds } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }

    func build(context: HTTPBody, options: BuildOptions, events: @escaping @Sendable (BuildEvent) -> Void) async throws -> BuildResult {
        state.withLock { $0.running += 1; $0.maxRunning = max($0.maxRunning, $0.running) }
        defer { state.withLock { $0.running -= 1 } }
        guard case .stream(_, let open) = context else { throw CancellationError() }
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
            if entry.path == options.dockerfile { dockerfile = String(decoding: try reader.readAll(), as: UTF8.self) }
        }
        events(.step(.init(id: "1", name: "[1/1] FROM", started: true, completed: false, cached: false, error: nil)))
        try await Task.sleep(for: delay)
        let build = Build(tags: options.tags, dockerfile: dockerfile, files: files, options: options)
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
        state.withLock { state in state.images[reference] = state.images[image] }
    }

    func removeImage(_ reference: String) async throws {
        _ = state.withLock { $0.images.removeValue(forKey: reference) }
    }

    /// Forgets every image, as a fresh engine would.
    func forgetImages() {
        state.withLock { $0.images = [:] }
    }
}
