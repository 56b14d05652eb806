import Foundation
import StrataHTTP

extension Engine {
    /// `POST /build?version=2`: BuildKit builds `context`, sent as a tar body (chunked
    /// as it is packed) or served over a session, and the engine streams JSON lines back,
    /// decoded by `BuildProgress`. Cancelling the calling task closes the connection,
    /// which cancels the build.
    public func build(
        context: BuildContext, options: BuildOptions, events: @escaping @Sendable (BuildEvent) -> Void
    ) async throws -> BuildResult {
        switch context {
        case .tar(let body):
            try await build(query: Self.buildQuery(options), body: body, contentType: "application/x-tar", events: events)
        case .session(let session):
            try await build(session: session, options: options, events: events)
        }
    }

    /// The request itself, under the build's own stall limit (`STRATA_BUILD_IDLE_TIMEOUT`):
    /// a silent `RUN` step sends nothing for minutes.
    func build(
        query: [(String, String)], body: HTTPBody, contentType: String?, events: @escaping @Sendable (BuildEvent) -> Void
    ) async throws -> BuildResult {
        let target = target("/build", query: query)
        let name = requestName("POST", target)
        let request = HTTPRequest(method: "POST", url: endpoint.baseURL + target,
                                  headers: contentType.map { ["Content-Type": $0] } ?? [:], body: body,
                                  lowSpeedLimit: timeouts.buildIdleLimit)
        var progress = BuildProgress()
        do {
            try await mappingErrors(name) {
                for try await line in try await client.lines(request) {
                    for event in try progress.consume(line) { events(event) }
                }
            }
        } catch Error.refused(_, _, let message) where message.lowercased().contains("buildkit") {
            // Docker 18.09 without `experimental` answers "buildkit not supported by daemon".
            throw Error.noBuildKit(host: endpoint.host, message: message)
        }
        for event in progress.finish() { events(event) }
        if let failure = progress.failure { throw failure }
        guard let imageID = progress.imageID else {
            throw Error.unexpectedResponse(request: name, detail: "the build ended without an image ID")
        }
        return BuildResult(imageID: imageID)
    }

    /// The query of `POST /build` (Engine API "Build an image"). Maps are JSON with
    /// sorted keys, so the same options always make the same request.
    static func buildQuery(_ options: BuildOptions) -> [(String, String)] {
        var query: [(String, String)] = [("version", "2")]
        query += options.tags.map { ("t", $0) }
        query.append(("dockerfile", options.dockerfile))
        if !options.buildArgs.isEmpty { query.append(("buildargs", json(options.buildArgs))) }
        if !options.labels.isEmpty { query.append(("labels", json(options.labels))) }
        if let target = options.target, !target.isEmpty { query.append(("target", target)) }
        if let platform = options.platform, !platform.isEmpty { query.append(("platform", platform)) }
        if let network = options.networkMode, !network.isEmpty { query.append(("networkmode", network)) }
        if options.noCache { query.append(("nocache", "1")) }
        query += [("rm", "1"), ("forcerm", "1"), ("pull", "0")]
        return query
    }

    static func json(_ map: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: map, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
