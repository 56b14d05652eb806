import Foundation
import Testing
@testable import StrataRegistry

@Suite struct CredentialTests {
    static func auth(_ user: String, _ password: String) -> String {
        Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// A helper that logs its stdin and answers for `known` only, like
    /// docker-credential-helpers (not found: message on stdout, exit 1).
    static func helper(in directory: TempDirectory, name: String, known: String, user: String, secret: String) throws {
        try directory.write("bin/docker-credential-\(name)", """
            #!/bin/sh
            [ "$1" = get ] || exit 2
            read -r host
            echo "$host" >> "\(directory.path)/\(name).stdin"
            if [ "$host" = "\(known)" ]; then
              printf '{"ServerURL":"%s","Username":"\(user)","Secret":"\(secret)"}\\n' "$host"
            else
              echo "credentials not found in native keychain"
              exit 1
            fi
            """, executable: true)
    }

    func environment(_ directory: TempDirectory, _ extra: [String: String] = [:]) -> [String: String] {
        ["DOCKER_CONFIG": directory.path, "HOME": "/nonexistent", "PATH": directory.path + "/bin:/usr/bin:/bin"]
            .merging(extra) { $1 }
    }

    @Test(arguments: ["reg.example:5000", "https://reg.example:5000", "http://reg.example:5000/v2/"])
    func authsEntriesUnderAnySpelling(key: String) throws {
        let directory = try TempDirectory()
        try directory.write("config.json", #"{"auths": {"\#(key)": {"auth": "\#(Self.auth("carol", "pa:ss"))"}}}"#)
        let resolver = CredentialResolver(environment: environment(directory))
        #expect(try resolver.credentials(for: "reg.example:5000") == Credentials(username: "carol", password: "pa:ss"))
        #expect(try resolver.credentials(for: "other.example") == nil)
    }

    @Test func configPathFollowsDockerConfigThenHome() {
        #expect(CredentialResolver(environment: ["DOCKER_CONFIG": "/d", "HOME": "/h"]).configPath == "/d/config.json")
        #expect(CredentialResolver(environment: ["HOME": "/h"]).configPath == "/h/.docker/config.json")
    }

    @Test func credHelperGetsTheHostOnStdin() throws {
        let directory = try TempDirectory()
        try Self.helper(in: directory, name: "fake", known: "reg.example", user: "dave", secret: "helper-secret")
        try directory.write("config.json", #"{"credHelpers": {"reg.example": "fake"}, "auths": {"reg.example": {"auth": "\#(Self.auth("x", "y"))"}}}"#)
        let resolver = CredentialResolver(environment: environment(directory))
        #expect(try resolver.credentials(for: "reg.example") == Credentials(username: "dave", password: "helper-secret"))
        #expect(try String(contentsOfFile: directory.path + "/fake.stdin", encoding: .utf8) == "reg.example\n")
    }

    @Test func credsStoreThenAuthsWhenTheStoreHasNothing() throws {
        let directory = try TempDirectory()
        try Self.helper(in: directory, name: "store", known: "reg.example", user: "erin", secret: "store-secret")
        try directory.write("config.json", #"{"credsStore": "store", "auths": {"other.example": {"auth": "\#(Self.auth("frank", "auths-secret"))"}}}"#)
        let resolver = CredentialResolver(environment: environment(directory))
        #expect(try resolver.credentials(for: "reg.example") == Credentials(username: "erin", password: "store-secret"))
        #expect(try resolver.credentials(for: "other.example") == Credentials(username: "frank", password: "auths-secret"))
        #expect(try resolver.credentials(for: "third.example") == nil)
    }

    @Test func aMissingHelperIsAnErrorThatNamesIt() throws {
        let directory = try TempDirectory()
        try directory.write("config.json", #"{"credsStore": "desktop"}"#)
        let resolver = CredentialResolver(environment: environment(directory))
        let error = #expect(throws: Registry.Error.self) { try resolver.credentials(for: "reg.example") }
        #expect(String(describing: try #require(error)) == "docker-credential-desktop for reg.example: docker-credential-desktop not found on PATH (named in \(directory.path)/config.json)")
    }

    @Test func strataVariablesComeFirstAndGitHubTokenOnlyForGHCR() throws {
        let directory = try TempDirectory()
        try directory.write("config.json", #"{"auths": {"ghcr.io": {"auth": "\#(Self.auth("gina", "config-secret"))"}}}"#)
        let explicit = CredentialResolver(environment: environment(directory, [
            "STRATA_REGISTRY_USER": "henry", "STRATA_REGISTRY_PASSWORD": "env-secret", "GITHUB_TOKEN": "ghs_x",
        ]))
        #expect(try explicit.credentials(for: "ghcr.io") == Credentials(username: "henry", password: "env-secret"))

        let github = CredentialResolver(environment: ["HOME": "/nonexistent", "GITHUB_TOKEN": "ghs_token", "GITHUB_ACTOR": "octocat"])
        #expect(try github.credentials(for: "ghcr.io") == Credentials(username: "octocat", password: "ghs_token"))
        #expect(try github.credentials(for: "reg.example") == nil)

        // A config.json entry (docker/login-action) beats GITHUB_TOKEN.
        let both = CredentialResolver(environment: environment(directory, ["GITHUB_TOKEN": "ghs_token"]))
        #expect(try both.credentials(for: "ghcr.io")?.username == "gina")
    }

    @Test func aBrokenConfigSaysWhere() throws {
        let directory = try TempDirectory()
        try directory.write("config.json", #"{"auths": {"reg.example": {"auth": "***"}}}"#)
        let resolver = CredentialResolver(environment: environment(directory))
        let error = #expect(throws: Registry.Error.self) { try resolver.credentials(for: "reg.example") }
        #expect(String(describing: try #require(error)).hasPrefix("\(directory.path)/config.json: auths[\"reg.example\"].auth"))
    }
}
