import Foundation
import StrataFleet
import Testing
@testable import strata

/// `check`'s machine formats: the same repository-relative paths in GitHub annotations and
/// SARIF, rules described, and a manifest that cannot be read still one finding.
@Suite struct CheckFormatsTests {
    /// A repository with its fleet in `images/`, and a port collision to report.
    static func repository() throws -> TemporaryFolder {
        let folder = try TemporaryFolder()
        try folder.write(".git/HEAD", "ref: refs/heads/main\n")
        try folder.write("images/strata.yaml", "images:\n  a: {context: a}\n  b: {context: b}\n")
        try folder.write("images/a/Dockerfile", "FROM scratch\nEXPOSE 80\n")
        try folder.write("images/b/Dockerfile", "FROM scratch\nEXPOSE 80\n")
        return folder
    }

    @Test func githubAndSarifNameTheSameRepositoryPaths() throws {
        let folder = try Self.repository()
        // Run from inside the fleet's folder: paths are still the repository's.
        let github = try StrataBinary.run(["check", "--format", "github"], in: folder.path + "/images")
        #expect(github.status == 1)
        #expect(github.stdout.contains("::error file=images/b/Dockerfile,line=2,title=strata port-collision::"), "\(github.stdout)")

        let sarif = try StrataBinary.run(["-f", "images/strata.yaml", "check", "--format", "sarif"], in: folder.path)
        let log = try #require(try JSONSerialization.jsonObject(with: Data(sarif.stdout.utf8)) as? [String: Any])
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let base = try #require((run["originalUriBaseIds"] as? [String: [String: String]])?["%SRCROOT%"]?["uri"])
        #expect(base == URL(fileURLWithPath: folder.path, isDirectory: true).absoluteString)
        let results = try #require(run["results"] as? [[String: Any]])
        let collision = results.first { $0["ruleId"] as? String == "port-collision" }
        let location = try #require(((collision?["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any]))
        let artifact = try #require(location["artifactLocation"] as? [String: String])
        #expect(artifact == ["uri": "images/b/Dockerfile", "uriBaseId": "%SRCROOT%"])
        let rules = try #require(((run["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]])
        let rule = try #require(rules.first { $0["id"] as? String == "port-collision" })
        #expect((rule["shortDescription"] as? [String: String])?["text"] == "Two services of one machine expose the same port")
        #expect((rule["help"] as? [String: String])?["text"] == "Give them distinct ports.")
    }

    @Test(arguments: ["json", "github", "sarif"])
    func aManifestThatCannotBeReadIsOneFinding(format: String) throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", "images:\n  a: {context: [}\n")
        let result = try StrataBinary.run(["check", "--format", format], in: folder.path)
        #expect(result.status == 2)
        switch format {
        case "json":
            #expect(result.stdout.contains(#""file":"strata.yaml","hint":null,"line":2,"message":"invalid YAML: "#), "\(result.stdout)")
        case "github":
            #expect(result.stdout.hasPrefix("::error file=strata.yaml,line=2,title=strata manifest::invalid YAML: "), "\(result.stdout)")
        default:
            #expect(result.stdout.contains(#""ruleId":"manifest""#) && result.stdout.contains(#""startLine":2"#), "\(result.stdout)")
        }
    }

    @Test func anEmptyManifestIsAnError() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", "images: {}\n")
        let result = try StrataBinary.run(["check"], in: folder.path)
        #expect(result.status == 2)
        #expect(result.stderr == "strata: strata.yaml:1: the manifest defines no image "
            + "(add at least one image under images:, or a discover: glob that finds Dockerfiles)\n")
        try folder.write("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n")
        let compose = try StrataBinary.run(["-f", "docker-compose.yml", "check"], in: folder.path)
        #expect(compose.status == 2)
        #expect(compose.stderr.contains("docker-compose.yml:1: no service has a build: section"), "\(compose.stderr)")
    }

    @Test func everyRuleIsDescribed() {
        for (rule, text) in Finding.rules {
            #expect(!text.summary.isEmpty && !text.help.isEmpty, "rule \(rule)")
        }
    }
}
