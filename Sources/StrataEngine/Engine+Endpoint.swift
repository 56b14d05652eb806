import Foundation
import StrataHTTP
import StrataHash

extension Engine {
    /// Where the engine listens and how to reach it, resolved the way the docker CLI
    /// does: DOCKER_HOST, else the CLI's current context, else /var/run/docker.sock.
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// The address as the user knows it: `unix:///var/run/docker.sock`, `tcp://host:2376`.
        public var host: String
        /// The socket to connect through, for `unix://`.
        public var unixSocketPath: String?
        /// What request URLs start with: `http://localhost` over a socket,
        /// `http://host:2375` or `https://host:2376` over TCP.
        public var baseURL: String
        /// Certificates for `https://`.
        public var tls: TLSOptions?

        /// Creates an endpoint.
        public init(host: String, unixSocketPath: String?, baseURL: String, tls: TLSOptions?) {
            self.host = host
            self.unixSocketPath = unixSocketPath
            self.baseURL = baseURL
            self.tls = tls
        }

        public var description: String { host }

        /// The engine's default address on Linux.
        public static let defaultHost = "unix:///var/run/docker.sock"

        /// The endpoint `environment` selects: DOCKER_HOST (with DOCKER_TLS_VERIFY,
        /// DOCKER_TLS and DOCKER_CERT_PATH for `tcp://`), else DOCKER_CONTEXT or the
        /// `currentContext` of `$DOCKER_CONFIG/config.json` (default `~/.docker`),
        /// else `unix:///var/run/docker.sock`.
        public static func resolve(environment: [String: String]) throws(Engine.Error) -> Endpoint {
            let configDirectory = environment["DOCKER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
                ?? "\(environment["HOME"] ?? NSHomeDirectory())/.docker"
            if let host = environment["DOCKER_HOST"], !host.isEmpty {
                return try parse(host, source: "DOCKER_HOST",
                                 tls: environmentTLS(environment, configDirectory: configDirectory))
            }
            var context = environment["DOCKER_CONTEXT"].flatMap { $0.isEmpty ? nil : $0 }
            if context == nil {
                context = try currentContext(configDirectory: configDirectory)
            }
            if let context, context != "default" {
                return try contextEndpoint(context, configDirectory: configDirectory)
            }
            return try parse(defaultHost, source: "the default address", tls: nil)
        }

        /// Parses `unix:///path` or `tcp://host[:port]`. `tls` turns `tcp://` into
        /// `https://` (default port 2376 instead of 2375); it is ignored for sockets.
        public static func parse(_ host: String, source: String = "DOCKER_HOST",
                                 tls: TLSOptions? = nil) throws(Engine.Error) -> Endpoint {
            func invalid(_ reason: String) -> Engine.Error { .invalidHost(host, source: source, reason: reason) }
            guard let schemeEnd = host.range(of: "://") else { throw invalid("it has no scheme") }
            let scheme = host[..<schemeEnd.lowerBound].lowercased()
            let rest = String(host[schemeEnd.upperBound...])
            switch scheme {
            case "unix":
                guard rest.hasPrefix("/") else { throw invalid("the socket path must be absolute") }
                return Endpoint(host: host, unixSocketPath: rest, baseURL: "http://localhost", tls: nil)
            case "tcp":
                let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first
                    .map(String.init) ?? ""
                guard !authority.isEmpty else { throw invalid("it names no host") }
                // An IPv6 literal is bracketed: the port is what follows "]".
                let hasPort = authority.hasPrefix("[")
                    ? authority.range(of: "]:") != nil
                    : authority.contains(":")
                let withPort = hasPort ? authority : "\(authority):\(tls == nil ? 2375 : 2376)"
                return Endpoint(host: "tcp://\(withPort)", unixSocketPath: nil,
                                baseURL: "\(tls == nil ? "http" : "https")://\(withPort)", tls: tls)
            case "ssh":
                throw invalid("ssh:// engines are not supported; forward the socket "
                    + "(ssh -L /tmp/docker.sock:/var/run/docker.sock HOST) and use unix://")
            default:
                throw invalid("\(scheme):// is not supported")
            }
        }

        /// The docker CLI's TLS settings: DOCKER_TLS_VERIFY (any non-empty value)
        /// verifies the server, DOCKER_TLS uses TLS without verifying it; the files
        /// come from DOCKER_CERT_PATH (default: the configuration directory).
        static func environmentTLS(_ environment: [String: String], configDirectory: String) -> TLSOptions? {
            let verify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
            guard verify || !(environment["DOCKER_TLS"] ?? "").isEmpty else { return nil }
            let directory = environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? configDirectory
            return tlsFiles(in: directory, verify: verify)
        }

        /// `ca.pem`, `cert.pem`, `key.pem` from `directory`, each only when present
        /// (the CLI's layout; `TLSOptions.dockerCertPath` assumes all three exist).
        static func tlsFiles(in directory: String, verify: Bool) -> TLSOptions {
            func existing(_ name: String) -> String? {
                let path = "\(directory)/\(name)"
                return FileManager.default.fileExists(atPath: path) ? path : nil
            }
            let certificate = existing("cert.pem")
            let key = existing("key.pem")
            let pair = certificate != nil && key != nil
            return TLSOptions(caFile: existing("ca.pem"), clientCertificate: pair ? certificate : nil,
                              clientKey: pair ? key : nil, verifyPeer: verify)
        }

        /// `currentContext` of `config.json`, if the file and the key exist.
        static func currentContext(configDirectory: String) throws(Engine.Error) -> String? {
            let path = "\(configDirectory)/config.json"
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            do {
                guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw Engine.Error.unreadableDockerConfig(path: path, reason: "not a JSON object")
                }
                return (object["currentContext"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            } catch let error as Engine.Error {
                throw error
            } catch {
                throw .unreadableDockerConfig(path: path, reason: "invalid JSON")
            }
        }

        /// A context's metadata lives in `contexts/meta/<sha256 of its name>/meta.json`
        /// as `{"Name", "Endpoints": {"docker": {"Host", "SkipTLSVerify"}}}`; its TLS
        /// files, when any, in `contexts/tls/<same hash>/docker/`.
        static func contextEndpoint(_ name: String, configDirectory: String) throws(Engine.Error) -> Endpoint {
            let hash: String
            do {
                hash = try SHA256.hash(Array(name.utf8)).hex
            } catch {
                throw .unreadableContext(name: name, path: configDirectory, reason: "\(error)")
            }
            let path = "\(configDirectory)/contexts/meta/\(hash)/meta.json"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .unreadableContext(name: name, path: path, reason: "no such context")
            }
            let object: [String: Any]?
            do {
                object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            } catch {
                throw .unreadableContext(name: name, path: path, reason: "invalid JSON")
            }
            let docker = (object?["Endpoints"] as? [String: Any])?["docker"] as? [String: Any]
            guard let host = docker?["Host"] as? String, !host.isEmpty else {
                throw .unreadableContext(name: name, path: path, reason: "no Endpoints.docker.Host")
            }
            let tlsDirectory = "\(configDirectory)/contexts/tls/\(hash)/docker"
            var isDirectory: ObjCBool = false
            let hasTLS = FileManager.default.fileExists(atPath: tlsDirectory, isDirectory: &isDirectory) && isDirectory.boolValue
            let skipVerify = docker?["SkipTLSVerify"] as? Bool ?? false
            return try parse(host, source: "docker context \"\(name)\"",
                             tls: hasTLS ? tlsFiles(in: tlsDirectory, verify: !skipVerify) : nil)
        }
    }
}
