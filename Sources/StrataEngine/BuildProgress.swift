import Foundation

/// Folds the JSON lines of `POST /build?version=2` into `BuildEvent`s, the image
/// ID and, when the build fails, a `BuildFailure`. The lines BuildKit builds send:
/// - `{"id":"moby.buildkit.trace","aux":"<base64 StatusResponse>"}`: progress;
/// - `{"id":"moby.image.id","aux":{"ID":"sha256:…"}}`: the image built;
/// - `{"stream":"Successfully tagged …\n"}`: the tags, nothing to show;
/// - `{"errorDetail":{"message":…},"error":…}`: the build failed, last line.
struct BuildProgress {
    /// Lines of a step kept for a failure report.
    static let failureLogLimit = 30
    /// A log chunk without a newline is shown once this long (a progress bar
    /// redrawn with `\r` never ends its line).
    static let partialLineLimit = 16 << 10

    private(set) var imageID: String?
    private(set) var errorMessage: String?

    /// The steps as last reported, by vertex digest, in order of appearance.
    private var steps: [String: BuildEvent.Step] = [:]
    private var order: [String] = []
    /// Output not yet ended by a newline, by vertex and stream.
    private var partial: [String: [UInt8]] = [:]
    /// The last lines of each step, for `failure`.
    private var recentLogs: [String: [String]] = [:]

    /// Reads one line of the response; returns the events it carries. A trace the
    /// decoder cannot read is skipped: progress is for display, and a newer
    /// BuildKit must not fail a build that worked.
    mutating func consume(_ line: String) throws(Engine.Error) -> [BuildEvent] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            throw .unexpectedResponse(request: "POST /build", detail: "a progress line is not a JSON object: "
                + String(line.prefix(200)))
        }
        if let detail = object["errorDetail"] as? [String: Any], let message = detail["message"] as? String {
            errorMessage = message
            return []
        }
        if let message = object["error"] as? String {
            errorMessage = message
            return []
        }
        if let aux = object["aux"] as? [String: Any], let id = aux["ID"] as? String {
            imageID = id
            return []
        }
        if object["id"] as? String == "moby.buildkit.trace", let aux = object["aux"] as? String,
           let bytes = Data(base64Encoded: aux),
           let status = try? BuildKitStatus(decoding: Array(bytes)) {
            return apply(status)
        }
        return []
    }

    /// Applies one decoded trace. Within a message, a step's start comes before its
    /// output and its completion after it, whatever order the fields came in.
    mutating func apply(_ status: BuildKitStatus) -> [BuildEvent] {
        var events: [BuildEvent] = []
        let completing = status.vertexes.filter { $0.completed != nil }
        for vertex in status.vertexes where vertex.completed == nil {
            events += update(vertex)
        }
        for log in status.logs {
            events += append(log)
        }
        for vertex in completing {
            events += flush(vertex: vertex.digest)
            events += update(vertex)
        }
        return events
    }

    /// Ends every unfinished line, at the end of the response.
    mutating func finish() -> [BuildEvent] {
        var events: [BuildEvent] = []
        for digest in order {
            events += flush(vertex: digest)
        }
        return events
    }

    /// The failure the response reported, if any: the step that failed (the one
    /// whose error is not just a consequence, `context canceled`), the engine's
    /// message and that step's last lines.
    var failure: BuildFailure? {
        guard let errorMessage else { return nil }
        let failed = order.compactMap { steps[$0] }.filter { $0.error != nil }
        let step = failed.first { !Self.isCancellation($0.error!) } ?? failed.first
            ?? order.compactMap { steps[$0] }.last { $0.started && !$0.completed }
        return BuildFailure(step: step?.name, message: errorMessage,
                            logs: step.flatMap { recentLogs[$0.id] } ?? [])
    }

    private static func isCancellation(_ message: String) -> Bool {
        message.hasSuffix("context canceled") || message.hasSuffix("context cancelled")
    }

    private mutating func update(_ vertex: BuildKitStatus.Vertex) -> [BuildEvent] {
        let step = BuildEvent.Step(id: vertex.digest, name: vertex.name, started: vertex.started != nil,
                                   completed: vertex.completed != nil, cached: vertex.cached, error: vertex.error)
        if steps[vertex.digest] == nil { order.append(vertex.digest) }
        guard steps[vertex.digest] != step else { return [] }
        steps[vertex.digest] = step
        return [.step(step)]
    }

    private mutating func append(_ log: BuildKitStatus.VertexLog) -> [BuildEvent] {
        let key = "\(log.vertex) \(log.stream)"
        var pending = partial[key, default: []] + log.message
        var events: [BuildEvent] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            events.append(line(pending[..<newline], vertex: log.vertex))
            pending.removeSubrange(...newline)
        }
        if pending.count >= Self.partialLineLimit {
            events.append(line(pending[...], vertex: log.vertex))
            pending.removeAll()
        }
        partial[key] = pending.isEmpty ? nil : pending
        return events
    }

    private mutating func flush(vertex digest: String) -> [BuildEvent] {
        let prefix = "\(digest) "
        var events: [BuildEvent] = []
        for key in partial.keys.sorted() where key.hasPrefix(prefix) {
            if let pending = partial.removeValue(forKey: key), !pending.isEmpty {
                events.append(line(pending[...], vertex: digest))
            }
        }
        return events
    }

    private mutating func line(_ bytes: ArraySlice<UInt8>, vertex: String) -> BuildEvent {
        let trimmed = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes
        let text = String(decoding: trimmed, as: UTF8.self)
        var recent = recentLogs[vertex, default: []]
        recent.append(text)
        if recent.count > Self.failureLogLimit { recent.removeFirst(recent.count - Self.failureLogLimit) }
        recentLogs[vertex] = recent
        return .log(stepID: vertex, line: text)
    }
}
