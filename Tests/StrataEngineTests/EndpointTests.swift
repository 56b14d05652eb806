import Foundation
import StrataHTTP
@testable import StrataEngine
import Testing

@Suite struct EndpointTests {
    typealias Endpoint = Engine.Endpoint

    @Test func unixSocket() throws {
        let endpoint = try Endpoint.resolve(environment: ["DOCKER_HOST": "unix:///tmp/x/docker.sock", "HOME": "/nonexistent"])
        #expect(endpoint == Endpoint(host: "unix:///tmp/x/docker.sock", unixSocketPath: "/tmp/x/docker.sock",
                                     baseURL: "http://localhost", tls: nil))
    }

    @Test(arguments: [
        ("tcp://10.0.0.2:2375", "tcp://10.0.0.2:2375", "http://10.0.0.2:2375"),
        ("tcp://engine.local", "tcp://engine.local:2375", "http://engine.local:2375"),
        ("tcp://[::1]:2375/", "tcp://[::1]:2375", "http://[::1]:2375"),
        ("tcp://[::1]", "tcp://[::1]:2375", "http://[::1]:2375"),
    ])
    func plainTCP(value: String, host: String, baseURL: String) throws {
        let endpoint = try Endpoint.resolve(environment: ["DOCKER_HOST": value, "HOME": "/nonexistent"])
        #expect(endpoint == Endpoint(host: host, unixSocketPath: nil, baseURL: baseURL, tls: nil))
    }

    @Test func tcpWithTLSVerifyUsesHTTPSAndTheCertificatesPresent() throws {
        let certificates = try TemporaryDirectory()
        for name in ["ca.pem", "cert.pem", "key.pem"] { try certificates.file(name, "PEM") }
        let endpoint = try Endpoint.resolve(environment: [
            "DOCKER_HOST": "tcp://engine.local", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certificates.path,
        ])
        #expect(endpoint.host == "tcp://engine.local:2376")
        #expect(endpoint.baseURL == "https://engine.local:2376")
        #expect(endpoint.tls == TLSOptions.dockerCertPath(certificates.path, verify: true))
    }

    @Test func tlsWithoutVerifyAndWithoutAClientKey() throws {
        let home = try TemporaryDirectory()
        try home.file(".docker/cert.pem", "PEM")
        let endpoint = try Endpoint.resolve(environment: [
            "DOCKER_HOST": "tcp://engine.local:9999", "DOCKER_TLS": "1", "HOME": home.path,
        ])
        #expect(endpoint.baseURL == "https://engine.local:9999")
        // A certificate without its key is not sent; the CA file is absent.
        #expect(endpoint.tls == TLSOptions(caFile: nil, clientCertificate: nil, clientKey: nil, verifyPeer: false))
    }

    @Test func currentContextFromTheCLIConfiguration() throws {
        let home = try TemporaryDirectory()
        try home.file(".docker/config.json", #"{"auths": {}, "currentContext": "remote"}"#)
        // `printf remote | sha256sum`: the folder the docker CLI names after the context.
        let digest = "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"
        try home.file(".docker/contexts/meta/\(digest)/meta.json", """
            {"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/remote.sock","SkipTLSVerify":false}}}
            """)
        let endpoint = try Endpoint.resolve(environment: ["HOME": home.path])
        #expect(endpoint.host == "unix:///run/remote.sock")
        #expect(endpoint.unixSocketPath == "/run/remote.sock")
        // DOCKER_HOST wins over the context; DOCKER_CONTEXT=default means the default socket.
        #expect(try Endpoint.resolve(environment: ["HOME": home.path, "DOCKER_HOST": "unix:///a.sock"]).host == "unix:///a.sock")
        #expect(try Endpoint.resolve(environment: ["HOME": home.path, "DOCKER_CONTEXT": "default"]).host == Endpoint.defaultHost)
    }

    @Test func contextWithTLSFiles() throws {
        let config = try TemporaryDirectory()
        let digest = "6a934b45144e3758911efa29ed68fb2d420fa7bd568739cdcda9251fa9609b1e" // sha256sum of "secure"
        try config.file("contexts/meta/\(digest)/meta.json", """
            {"Name":"secure","Endpoints":{"docker":{"Host":"tcp://engine.example:2376","SkipTLSVerify":true}}}
            """)
        for name in ["ca.pem", "cert.pem", "key.pem"] { try config.file("contexts/tls/\(digest)/docker/\(name)", "PEM") }
        let endpoint = try Endpoint.resolve(environment: ["DOCKER_CONFIG": config.path, "DOCKER_CONTEXT": "secure"])
        #expect(endpoint.baseURL == "https://engine.example:2376")
        #expect(endpoint.tls == TLSOptions.dockerCertPath("\(config.path)/contexts/tls/\(digest)/docker", verify: false))
    }

    @Test func noConfigurationMeansTheDefaultSocket() throws {
        let home = try TemporaryDirectory()
        let endpoint = try Endpoint.resolve(environment: ["HOME": home.path])
        #expect(endpoint.host == "unix:///var/run/docker.sock")
        #expect(endpoint.unixSocketPath == "/var/run/docker.sock")
    }

    @Test func missingContextAndBrokenConfigurationAreClearErrors() throws {
        let home = try TemporaryDirectory()
        try home.file(".docker/config.json", #"{"currentContext": "gone"}"#)
        #expect {
            try Endpoint.resolve(environment: ["HOME": home.path])
        } throws: { error in
            "\(error)".hasPrefix("cannot read docker context \"gone\" (\(home.path)/.docker/contexts/meta/")
                && "\(error)".hasSuffix("meta.json): no such context; run `docker context use default` or set DOCKER_HOST")
        }
        try home.file(".docker/config.json", "{not json")
        #expect(throws: Engine.Error.unreadableDockerConfig(path: "\(home.path)/.docker/config.json", reason: "invalid JSON")) {
            try Endpoint.resolve(environment: ["HOME": home.path])
        }
    }

    @Test(arguments: [
        ("/var/run/docker.sock", "it has no scheme"),
        ("unix://relative.sock", "the socket path must be absolute"),
        ("tcp://", "it names no host"),
        ("npipe:////./pipe/docker_engine", "npipe:// is not supported"),
        ("ssh://me@host", "ssh:// engines are not supported"),
    ])
    func invalidHosts(value: String, reason: String) {
        #expect {
            try Endpoint.resolve(environment: ["DOCKER_HOST": value])
        } throws: { error in
            guard case .invalidHost(value, "DOCKER_HOST", let actual) = error as? Engine.Error else { return false }
            return actual.hasPrefix(reason)
        }
    }
}
