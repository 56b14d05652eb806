import Foundation
import StrataHTTP

/// The Docker engine, through the Docker Engine API (docs.docker.com/reference/api/engine)
/// over StrataHTTP: a unix socket or TCP (TLS with client certificates). Builds go
/// through BuildKit (`POST /build?version=2`). Tested against Docker 20.10 (API 1.41) and
/// Docker 28.4 (API 1.51) with either image store; what differs between the versions is
/// in `Engine.Features`.
///
/// Every transfer runs on a thread of its own (`CurlTransport`), so nothing here
/// blocks Swift's cooperative pool; cancelling the calling task aborts the request.
public struct Engine: ContainerEngine {
    /// The newest API version strata speaks (Docker 28.3 and 28.4); a newer engine answers it as well.
    public static let maximumAPIVersion = "1.51"
    /// The oldest API version strata drives (Docker 20.10): BuildKit builds over a session,
    /// `docker save`/`load`, image inspect as strata reads them.
    public static let minimumAPIVersion = "1.41"

    /// Where the engine listens.
    public let endpoint: Endpoint
    /// The API version requests use (`/v1.51/…`).
    public let apiVersion: String
    /// What that version offers (`Features(apiVersion:)`).
    public let features: Features
    /// Connect and stall limits; the build stream has its own (`buildIdle`).
    public let timeouts: HTTPTimeouts
    /// What the engine builds for when a build names no platform: `os/arch` from
    /// `GET /version` (nil when it did not say).
    public let platform: String?
    let client: HTTPClient

    /// An engine at `endpoint` spoken to in `apiVersion`, without asking it anything.
    /// `transport` defaults to libcurl configured for the endpoint (tests pass a fake).
    public init(endpoint: Endpoint, apiVersion: String, transport: (any HTTPTransport)? = nil,
                timeouts: HTTPTimeouts = HTTPTimeouts(), platform: String? = nil) {
        self.endpoint = endpoint
        self.apiVersion = apiVersion
        features = Features(apiVersion: APIVersion(apiVersion) ?? APIVersion(Self.minimumAPIVersion)!)
        self.timeouts = timeouts
        self.platform = platform
        client = HTTPClient(transport: transport ?? Self.transport(for: endpoint, timeouts: timeouts))
    }

    /// Finds the engine the way the docker CLI does (see `Endpoint.resolve`) and
    /// negotiates the API version with it, under the time limits `environment` sets.
    public static func connect(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> Engine {
        try await connect(to: Endpoint.resolve(environment: environment), timeouts: HTTPTimeouts(environment: environment))
    }

    /// Negotiates the API version with the engine at `endpoint` (`GET /version`,
    /// unversioned), as the docker CLI does: the highest both speak, the server's
    /// version capped at `maximumAPIVersion`, raised to the server's `MinAPIVersion`
    /// when that is newer (a future engine may refuse 1.51). An engine older than
    /// `minimumAPIVersion`, or one without BuildKit (Windows), is refused in one line.
    public static func connect(to endpoint: Endpoint, transport: (any HTTPTransport)? = nil,
                               timeouts: HTTPTimeouts = HTTPTimeouts()) async throws -> Engine {
        let probe = Engine(endpoint: endpoint, apiVersion: maximumAPIVersion, transport: transport, timeouts: timeouts)
        let response = try await probe.send("GET", "/version", versioned: false)
        struct Version: Decodable {
            var ApiVersion: String?
            var MinAPIVersion: String?
            var Os: String?
            var Arch: String?
        }
        let request = "GET /version"
        guard let version = try? JSONDecoder().decode(Version.self, from: Data(response.body)),
              let serverText = version.ApiVersion else {
            throw Error.unexpectedResponse(request: request, detail: "no ApiVersion in the answer")
        }
        guard let server = APIVersion(serverText) else {
            throw Error.unexpectedResponse(request: request, detail: "ApiVersion \(serverText) is not a version")
        }
        let minimum = APIVersion(minimumAPIVersion)!
        guard server >= minimum else {
            throw Error.apiTooOld(host: endpoint.host, version: serverText, minimum: minimumAPIVersion)
        }
        // BuildKit runs on Linux engines only; a Windows engine has the classic builder alone.
        if version.Os == "windows" {
            throw Error.noBuildKit(host: endpoint.host, message: "a Windows engine builds with the classic builder only")
        }
        var chosen = min(server, APIVersion(maximumAPIVersion)!)
        if let serverMinimum = version.MinAPIVersion.flatMap(APIVersion.init), serverMinimum > chosen {
            chosen = serverMinimum
        }
        let platform = version.Os.flatMap { os in version.Arch.map { "\(os)/\($0)" } }
        return Engine(endpoint: endpoint, apiVersion: chosen.description, transport: transport ?? probe.client.transport,
                      timeouts: timeouts, platform: platform)
    }

    /// Checks that the engine answers (`GET /_ping`).
    public func ping() async throws {
        _ = try await send("GET", "/_ping", versioned: false)
    }

    static func transport(for endpoint: Endpoint, timeouts: HTTPTimeouts) -> CurlTransport {
        CurlTransport(configuration: CurlTransport.Configuration(
            unixSocketPath: endpoint.unixSocketPath, tls: endpoint.tls ?? TLSOptions(), timeouts: timeouts))
    }
}

// MARK: - Requests

extension Engine {
    /// `/v1.51` + `path` (or `path` alone) + the query, values percent-encoded.
    func target(_ path: String, query: [(String, String)] = [], versioned: Bool = true) -> String {
        let prefix = versioned ? "/v\(apiVersion)" : ""
        let encoded = query.map { "\($0.0)=\(Self.encode($0.1, allowing: Self.unreserved))" }
        return prefix + path + (encoded.isEmpty ? "" : "?" + encoded.joined(separator: "&"))
    }

    /// How errors name a request: method and path, never the query.
    func requestName(_ method: String, _ target: String) -> String {
        "\(method) \(target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target)"
    }

    /// An image name or ID as a path segment. `/` and `:` stay: the engine's routes
    /// (`/images/{name:.*}/json`) take references with registry ports and paths.
    static func pathSegment(_ name: String) -> String {
        encode(name, allowing: unreserved.union(CharacterSet(charactersIn: "/:@")))
    }

    static let unreserved = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encode(_ value: String, allowing allowed: CharacterSet) -> String {
        value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    /// Sends a request and reads the whole answer; statuses `accept` refuses, and
    /// transport failures, become `Engine.Error`.
    func send(
        _ method: String, _ path: String, query: [(String, String)] = [], versioned: Bool = true,
        headers: HTTPHeaders = [:], body: HTTPBody = .empty, accept: (Int) -> Bool = HTTPClient.isSuccess
    ) async throws -> HTTPResponse {
        let target = target(path, query: query, versioned: versioned)
        let request = HTTPRequest(method: method, url: endpoint.baseURL + target, headers: headers, body: body)
        return try await mappingErrors(requestName(method, target)) {
            try await client.send(request, accept: accept)
        }
    }

    /// Runs `operation`, turning StrataHTTP's errors into `Engine.Error` named after `request`.
    func mappingErrors<T>(_ request: String, _ operation: () async throws -> T) async throws -> T {
        do {
            return try await operation()
        } catch let error as HTTPError {
            throw engineError(error, request: request)
        }
    }

    func engineError(_ error: HTTPError, request: String) -> Error {
        switch error {
        case .transport(_, let code, let message):
            // CURLE_COULDNT_RESOLVE_HOST (6), CURLE_COULDNT_CONNECT (7): no engine there.
            if code == 6 || code == 7 {
                return .unreachable(host: endpoint.host, reason: connectionReason(message))
            }
            return .transfer(request: request, reason: message)
        case .status(_, _, let status, let body):
            return status == 409 ? .conflict(request: request, message: body)
                : .refused(request: request, status: status, message: body)
        case .bodyStream(_, let underlying):
            return .transfer(request: request, reason: "reading the request body failed: \(underlying)")
        case .timedOut(_, let limit):
            return .transfer(request: request, reason: "the engine at \(endpoint.host): \(limit)")
        case .truncated(_, let detail):
            return .transfer(request: request, reason: detail)
        }
    }

    /// libcurl's message cut down to the cause a person recognises. For a socket,
    /// libcurl only says "Couldn't connect to server": asking connect(2) again
    /// tells refused from forbidden.
    func connectionReason(_ message: String) -> String {
        if let socket = endpoint.unixSocketPath, let code = UnixSocketProbe.connectError(socket), code != 0 {
            return code == ENOENT ? "no such socket" : String(cString: strerror(code)).lowercased()
        }
        let lowered = message.lowercased()
        let known = ["connection refused", "permission denied", "no such file or directory",
                     "could not resolve host", "timed out", "network is unreachable", "no route to host"]
        return known.first { lowered.contains($0) } ?? message
    }
}

/// An Engine API version, `major.minor`, compared numerically (1.9 < 1.10).
public struct APIVersion: Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.major = major
        self.minor = minor
    }

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major).\(minor)" }
}
