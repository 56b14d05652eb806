import Foundation
import StrataProcess
import Testing

/// A base in a registry that wants credentials, absent from the engine: BuildKit asks strata's
/// session for them (`Auth/Credentials`), strata answers from the same resolution `push` uses
/// (docker's config.json here), and the build pulls it. The password is never printed.
@Suite(.serialized) struct PrivateBaseIntegrationTests {
    @Test func aPrivateBaseIsPulledWithStratasCredentials() throws {
        try Bench.requireEngine()
        let password = "private-pw-" + UUID().uuidString.prefix(8)
        let script = Bench.repository.appendingPathComponent("Tests/StrataRegistryTests/Fixtures/registry_bench.py").path
        let bench = try ChildProcess("/usr/bin/python3", [script, "htpasswd", "alice", password], input: .pipe, stderr: .discard)
        defer {
            bench.closeInput()
            _ = try? bench.wait(timeout: .seconds(60))
        }
        let newline = UInt8(ascii: "\n")
        let ready = String(decoding: bench.waitForOutput(.stdout, timeout: .seconds(120)) { $0.contains(newline) }
            .prefix { $0 != newline }, as: UTF8.self)
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(ready.dropFirst("ready ".count).utf8)) as? [String: String],
                                  "registry_bench.py did not start: \(ready)")
        let registry = try #require(fields["registry"])
        let base = "\(registry)/private/busybox:1"

        let root = try Bench.fleet("privatebase", [
            "strata.yaml": "images:\n  app: {context: app}\n",
            "app/Dockerfile": "FROM \(base)\nCOPY a.txt /a.txt\n",
            "app/a.txt": "on a private base\n",
            "docker/config.json": """
                {"auths": {"\(registry)": {"auth": "\(Data("alice:\(password)".utf8).base64EncodedString())"}}}
                """,
            "nobody/config.json": "{}",
        ])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let prefix = Bench.scratchRegistry("privatebase")
        defer { Bench.removeImages(under: prefix) }

        // The base goes to the private registry and leaves the engine.
        let config = ["--config", root + "/docker"]
        try #require(try Bench.docker(["tag", "strata-busybox:1", base]).status == 0)
        let pushed = try Bench.docker(config + ["push", base])
        try #require(pushed.status == 0, "\(pushed.stderr)")
        try #require(try Bench.docker(["rmi", base]).status == 0)

        let common = ["-C", root, "--cache", root + "/.cache", "--registry", prefix, "build", "--progress", "plain"]
        let anonymous = try Bench.run(Bench.strata, common, environment: ["DOCKER_CONFIG": root + "/nobody"])
        #expect(anonymous.status == 1, "\(anonymous.stderr)")

        let built = try Bench.run(Bench.strata, common, environment: ["DOCKER_CONFIG": root + "/docker"])
        #expect(built.status == 0, "\(built.stderr)")
        let content = try Bench.docker(["run", "--rm", "\(prefix)/app:latest", "cat", "/a.txt"])
        #expect(content.stdout == "on a private base\n", "\(content.stderr)")
        for output in [anonymous.stdout, anonymous.stderr, built.stdout, built.stderr] {
            #expect(!output.contains(password))
        }
        _ = try? Bench.docker(["rmi", base])
    }
}
