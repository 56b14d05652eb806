import Foundation
import StrataProcess

/// Finds the credentials for a registry host, the way the docker CLI does,
/// plus strata's environment variables. First match wins:
///
/// 1. `STRATA_REGISTRY_USER` and `STRATA_REGISTRY_PASSWORD` (both set): for
///    every host — an explicit choice for this run beats any file.
/// 2. Docker's config.json (`$DOCKER_CONFIG/config.json`, else
///    `~/.docker/config.json`):
///    - `credHelpers[host]`: `docker-credential-<name> get`, the host on stdin;
///    - `credsStore`: the same with the default helper;
///    - `auths[host].auth`: base64 `user:password`.
///    A helper that answers "not found" passes on to the next source; a
///    helper that is missing or fails is an error (the config names it).
/// 3. For `ghcr.io` only: `GITHUB_TOKEN`, with `GITHUB_ACTOR` as the user
///    (`x-access-token` when unset) — what a GitHub Actions job has.
/// 4. None: anonymous access (token servers often grant `pull`).
public struct CredentialResolver: Sendable {
    /// The environment read (variables above, `PATH` for helpers, `HOME`).
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The config.json docker would read.
    public var configPath: String {
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty {
            return directory + "/config.json"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.docker/config.json"
    }

    /// The credentials for `host` (`ghcr.io`, `127.0.0.1:5000`), or nil.
    public func credentials(for host: String) throws(Registry.Error) -> Credentials? {
        if let user = environment["STRATA_REGISTRY_USER"], let password = environment["STRATA_REGISTRY_PASSWORD"],
            !user.isEmpty
        {
            return Credentials(username: user, password: password)
        }
        if let config = try DockerConfig.load(path: configPath), let found = try fromDockerConfig(config, host: host) {
            return found
        }
        if host == "ghcr.io", let token = environment["GITHUB_TOKEN"], !token.isEmpty {
            let actor = environment["GITHUB_ACTOR"].flatMap { $0.isEmpty ? nil : $0 } ?? "x-access-token"
            return Credentials(username: actor, password: token)
        }
        return nil
    }

    private func fromDockerConfig(_ config: DockerConfig, host: String) throws(Registry.Error) -> Credentials? {
        let keys = DockerConfig.keys(for: host)
        let normalized = Set(keys.map(DockerConfig.normalize))
        if let (key, helper) = config.credHelpers?.first(where: { normalized.contains(DockerConfig.normalize($0.key)) }) {
            if let found = try runHelper(helper, serverURL: key) { return found }
        } else if let store = config.credsStore, !store.isEmpty {
            if let found = try runHelper(store, serverURL: keys[0]) { return found }
        }
        guard let auths = config.auths else { return nil }
        // Keys are written as `ghcr.io`, `https://ghcr.io`, `https://ghcr.io/v2/`…
        for (key, entry) in auths.sorted(by: { $0.key < $1.key }) where normalized.contains(DockerConfig.normalize(key)) {
            guard let encoded = entry.auth, !encoded.isEmpty else { continue }
            guard let data = Data(base64Encoded: encoded),
                let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":")
            else {
                throw .invalidDockerConfig(path: configPath, reason: "auths[\"\(key)\"].auth is not base64 of user:password")
            }
            return Credentials(username: String(pair[..<colon]), password: String(pair[pair.index(after: colon)...]))
        }
        return nil
    }

    /// Runs `docker-credential-<name> get` (docker-credential-helpers protocol:
    /// server URL on stdin, `{"ServerURL","Username","Secret"}` on stdout; a
    /// "credentials not found" message and a non-zero exit when it has none).
    private func runHelper(_ name: String, serverURL: String) throws(Registry.Error) -> Credentials? {
        let program = "docker-credential-" + name
        guard let executable = ChildProcess.find(program, path: environment["PATH"]) else {
            throw .credentialHelper(helper: name, host: serverURL, reason: "\(program) not found on PATH (named in \(configPath))")
        }
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(executable, ["get"], environment: environment, input: .bytes(Array(serverURL.utf8)),
                                          timeout: .seconds(60))
        } catch {
            throw .credentialHelper(helper: name, host: serverURL, reason: error.reason)
        }
        if !result.succeeded {
            // stdout of a failed helper is its message, never a secret.
            let message = result.output + result.errorOutput
            if message.lowercased().contains("credentials not found") { return nil }
            let firstLine = message.split(separator: "\n").first.map(String.init) ?? ""
            throw .credentialHelper(
                helper: name, host: serverURL,
                reason: "exited with status \(result.status)\(firstLine.isEmpty ? "" : ": \(firstLine)")")
        }
        struct Answer: Decodable {
            var Username: String?
            var Secret: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(result.stdout)), let secret = answer.Secret else {
            throw .credentialHelper(helper: name, host: serverURL, reason: "printed something other than {\"Username\", \"Secret\"}")
        }
        return Credentials(username: answer.Username ?? "", password: secret)
    }
}

/// The parts of docker's config.json that hold credentials.
struct DockerConfig: Decodable {
    struct Auth: Decodable {
        var auth: String?
    }

    var auths: [String: Auth]?
    var credHelpers: [String: String]?
    var credsStore: String?

    /// nil when the file does not exist.
    static func load(path: String) throws(Registry.Error) -> DockerConfig? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(DockerConfig.self, from: data)
        } catch {
            throw .invalidDockerConfig(path: path, reason: "not a docker config.json: \(error)")
        }
    }

    /// `https://ghcr.io/v2/` → `ghcr.io`.
    static func normalize(_ key: String) -> String {
        var key = Substring(key)
        if let scheme = key.range(of: "://") { key = key[scheme.upperBound...] }
        if let slash = key.firstIndex(of: "/") { key = key[..<slash] }
        return key.lowercased()
    }

    /// The names a host is stored under; Docker Hub keeps its historical key.
    static func keys(for host: String) -> [String] {
        let host = normalize(host)
        if ["docker.io", "registry-1.docker.io", "index.docker.io"].contains(host) {
            return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
        }
        return [host]
    }
}
