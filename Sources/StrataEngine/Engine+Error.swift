extension Engine {
    /// Why talking to the engine failed. Each description is one line that names
    /// the engine or the request and says what to do; request names carry the path
    /// but never the query (build arguments can hold secrets).
    public enum Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        /// `source` (DOCKER_HOST, a docker context) names an address strata cannot use.
        case invalidHost(String, source: String, reason: String)
        /// The docker CLI's configuration (`config.json`) could not be read.
        case unreadableDockerConfig(path: String, reason: String)
        /// The docker CLI's current context could not be read.
        case unreadableContext(name: String, path: String, reason: String)
        /// Nothing answers at the engine's address.
        case unreachable(host: String, reason: String)
        /// The engine's API is older than strata drives (`Engine.minimumAPIVersion`).
        case apiTooOld(host: String, version: String, minimum: String)
        /// The engine cannot run BuildKit builds.
        case noBuildKit(host: String, message: String)
        /// The engine answered a request with an error status.
        case refused(request: String, status: Int, message: String)
        /// The engine refused to remove an image still in use (409 Conflict).
        case conflict(request: String, message: String)
        /// The engine reported an error inside a progress stream (import, load).
        case failed(request: String, message: String)
        /// A request failed after connecting: connection lost, TLS, unreadable body.
        case transfer(request: String, reason: String)
        /// An answer strata cannot read.
        case unexpectedResponse(request: String, detail: String)
        /// A local file to send or to write could not be used.
        case file(path: String, reason: String)

        public var description: String {
            switch self {
            case .invalidHost(let value, let source, let reason):
                "\(source) names \(value), which strata cannot use: \(reason); "
                    + "use unix:///path/to/docker.sock or tcp://host:port"
            case .unreadableDockerConfig(let path, let reason):
                "cannot read the docker CLI configuration \(path): \(reason); fix it or set DOCKER_HOST"
            case .unreadableContext(let name, let path, let reason):
                "cannot read docker context \"\(name)\" (\(path)): \(reason); "
                    + "run `docker context use default` or set DOCKER_HOST"
            case .unreachable(let host, let reason):
                "no Docker engine at \(host): \(reason); " + (reason == "permission denied"
                    ? "check that you may use the socket (the docker group) or set DOCKER_HOST"
                    : "start dockerd or set DOCKER_HOST")
            case .apiTooOld(let host, let version, let minimum):
                "the Docker engine at \(host) speaks API \(version), strata needs \(minimum) or newer: "
                    + "upgrade Docker (20.10 or later)"
            case .noBuildKit(let host, let message):
                "the Docker engine at \(host) cannot run BuildKit builds (\(message)); "
                    + "upgrade Docker or enable BuildKit on it"
            case .refused(let request, let status, let message):
                message.isEmpty ? "\(request): HTTP \(status)" : "\(request): HTTP \(status): \(message)"
            case .conflict(let request, let message):
                "\(request): \(message)"
            case .failed(let request, let message):
                "\(request): \(message)"
            case .transfer(let request, let reason):
                "\(request): \(reason)"
            case .unexpectedResponse(let request, let detail):
                "\(request): unexpected answer from the engine: \(detail)"
            case .file(let path, let reason):
                "\(path): \(reason)"
            }
        }
    }
}
