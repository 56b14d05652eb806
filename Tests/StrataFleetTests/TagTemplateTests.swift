import Foundation
import StrataFleet
import Testing

@Suite struct TagTemplateTests {
    static let sha = "0123456789abcdef0123456789abcdef01234567"
    /// 2024-03-05T23:59:59Z: late enough that a local time zone east of UTC is the next day.
    static let date = Date(timeIntervalSince1970: 1_709_683_199)
    static let values = TagValues(sha: sha, branch: "Feature/Login_Page", gitTag: "v1.12.3-rc.1", date: date,
                                  variant: "mainpc")

    @Test(arguments: [
        ("3.11", "3.11"),
        ("{sha}", sha),
        ("sha-{short_sha}", "sha-0123456"),
        ("{branch}", "feature-login_page"),
        ("{tag}", "v1.12.3-rc.1"),
        ("{semver.major}", "1"),
        ("{semver.major}.{semver.minor}", "1.12"),
        ("{semver.major}.{semver.minor}.{semver.patch}", "1.12.3"),
        ("nightly-{date}", "nightly-20240305"),
        ("{variant}-latest", "mainpc-latest"),
        ("{branch}-{short_sha}-{variant}", "feature-login_page-0123456-mainpc"),
    ])
    func expandsEveryPlaceholder(template: String, expected: String) throws {
        #expect(try TagTemplate.expand(template, values: Self.values) == expected)
    }

    @Test(arguments: [
        ("main", "main"),
        ("feature/x", "feature-x"),
        ("Release/V2", "release-v2"),
        ("dependabot/npm_and_yarn/lodash-4.17.21", "dependabot-npm_and_yarn-lodash-4.17.21"),
        ("fix: spaces & ümlauts", "fix--spaces----mlauts"),
        (String(repeating: "a", count: 200), String(repeating: "a", count: 128)),
    ])
    func sanitizesBranches(branch: String, expected: String) throws {
        #expect(TagTemplate.sanitize(branch, lowercase: true) == expected)
        #expect(try TagTemplate.expand("{branch}", values: TagValues(branch: branch)) == expected)
    }

    @Test func gitTagsKeepTheirCase() throws {
        #expect(try TagTemplate.expand("{tag}", values: TagValues(gitTag: "Release/V2")) == "Release-V2")
    }

    @Test(arguments: [
        ("v1.2.3", "1", "2", "3"),
        ("1.2.3", "1", "2", "3"),
        ("V10.0.42", "10", "0", "42"),
        ("v2.0.0-beta.1", "2", "0", "0"),
        ("1.2.3+build.7", "1", "2", "3"),
    ])
    func readsVersions(tag: String, major: String, minor: String, patch: String) throws {
        let values = TagValues(gitTag: tag)
        #expect(try TagTemplate.expand("{semver.major}-{semver.minor}-{semver.patch}", values: values)
                    == "\(major)-\(minor)-\(patch)")
    }

    @Test(arguments: ["1.2", "v1", "release-1.2.3", "v1.2.x", "1..3", ""])
    func refusesNonVersions(tag: String) {
        #expect(TagTemplate.semver(tag) == nil)
        #expect(throws: TagTemplate.Error.self) { try TagTemplate.expand("{semver.major}", values: TagValues(gitTag: tag)) }
    }

    @Test func errorsNameTheTemplateAndWhere() {
        let location = SourceLocation(file: "strata.yaml", line: 12)
        func message(_ template: String, _ values: TagValues, origin: TagTemplate.Error.Origin? = nil) -> String {
            do {
                return try TagTemplate.expand(template, values: values, origin: origin)
            } catch {
                return error.description
            }
        }
        #expect(message("{sha}-{commit}", Self.values, origin: .manifest(location)) == """
            strata.yaml:12: tag template '{sha}-{commit}': unknown placeholder {commit}; the placeholders are \
            {sha}, {short_sha}, {branch}, {tag}, {semver.major}, {semver.minor}, {semver.patch}, {date}, {variant}
            """)
        #expect(message("{branch}", TagValues(gitTag: "v1.0.0"), origin: .option)
                    == "tag template '{branch}' (--tag): {branch} has no value in this build: the build is for git tag 'v1.0.0', not a branch")
        #expect(message("{branch}", TagValues())
                    == "tag template '{branch}': {branch} has no value in this build: HEAD is not on a branch, and GITHUB_REF_NAME is not set")
        #expect(message("{sha}", TagValues())
                    == "tag template '{sha}': {sha} has no value in this build: not in a git repository, and GITHUB_SHA is not set")
        #expect(message("{tag}", TagValues(branch: "main")).hasSuffix(
            "the commit is not at a git tag (git describe --tags --exact-match), and GITHUB_REF_TYPE is not 'tag'"))
        #expect(message("{semver.minor}", TagValues(gitTag: "nightly"))
                    == "tag template '{semver.minor}': {semver.minor} has no value in this build: git tag 'nightly' is not a version like v1.2.3 or 1.2.3")
        #expect(message("{variant}", TagValues())
                    == "tag template '{variant}': {variant} has no value in this build: the image has no variants")
        #expect(message("{date}", TagValues()).hasSuffix("{date} has no value in this build: no build date was given"))
        #expect(message("v{sha", Self.values) == "tag template 'v{sha': a '{' is not closed; placeholders are written {name}")
        #expect(message("-{short_sha}", Self.values).hasPrefix("tag template '-{short_sha}': expands to '-0123456', which is not a valid tag"))
        #expect(message("{sha}{sha}{sha}{sha}", Self.values).contains("which is not a valid tag"))
    }

    @Test func resolvesFromGitHubActions() {
        var asked: [[String]] = []
        let push = TagValues.resolve(environment: ["GITHUB_SHA": Self.sha, "GITHUB_REF_TYPE": "branch",
                                                   "GITHUB_REF_NAME": "feature/x", "GITHUB_REF": "refs/heads/feature/x"],
                                     now: Self.date) { asked.append($0); return "from git" }
        #expect(push == TagValues(sha: Self.sha, branch: "feature/x", gitTag: nil, date: Self.date))
        #expect(asked.isEmpty)

        let tag = TagValues.resolve(environment: ["GITHUB_SHA": Self.sha, "GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v2.1.0"],
                                    now: Self.date) { _ in nil }
        #expect(tag.gitTag == "v2.1.0" && tag.branch == nil)

        let pullRequest = TagValues.resolve(environment: ["GITHUB_SHA": Self.sha, "GITHUB_REF_TYPE": "branch",
                                                          "GITHUB_REF_NAME": "42/merge", "GITHUB_HEAD_REF": "fix/typo"],
                                            now: Self.date) { _ in nil }
        #expect(pullRequest.branch == "fix/typo")

        let refOnly = TagValues.resolve(environment: ["GITHUB_SHA": Self.sha, "GITHUB_REF": "refs/tags/v3.0.0"],
                                        now: Self.date) { _ in nil }
        #expect(refOnly.gitTag == "v3.0.0")
    }

    @Test func resolvesFromGitOtherwise() {
        let answers = [["rev-parse", "HEAD"]: Self.sha, ["rev-parse", "--abbrev-ref", "HEAD"]: "main",
                       ["describe", "--tags", "--exact-match"]: "v1.0.0"]
        let values = TagValues.resolve(environment: ["GITHUB_SHA": ""], now: Self.date) { answers[$0] }
        #expect(values == TagValues(sha: Self.sha, branch: "main", gitTag: "v1.0.0", date: Self.date))

        let detached = TagValues.resolve(environment: [:], now: Self.date) { $0 == ["rev-parse", "--abbrev-ref", "HEAD"] ? "HEAD" : nil }
        #expect(detached == TagValues(date: Self.date))
    }

    @Test func variantTagsAndTheSuffix() throws {
        let tree = try TempTree([
            "strata.yaml": """
                variants:
                  machine:
                    mainpc: {}
                    pc2: {}
                images:
                  app:
                    context: app
                    variants: [machine]
                    tags: ["{branch}", "{variant}-{short_sha}", "stable"]
                  tool:
                    context: tool
                    tags: ["{sha}", "{variant}"]
                """,
            "app/Dockerfile": "FROM scratch\n",
            "tool/Dockerfile": "FROM scratch\n",
        ])
        let fleet = try Fleet.load(path: tree.path("strata.yaml"))
        let app = try #require(fleet.node(named: "app@pc2"))
        #expect(app.tags == ["{branch}-pc2", "pc2-{short_sha}", "stable-pc2"])
        #expect(try app.tags.map { try TagTemplate.nodeTag($0, of: app, values: Self.values) }
                    == ["feature-login_page-pc2", "pc2-0123456", "stable-pc2"])
        #expect(try TagTemplate.extraTag("{semver.major}", variant: "pc2", values: Self.values) == "1-pc2")
        #expect(try TagTemplate.extraTag("{variant}-edge", variant: "pc2", values: Self.values) == "pc2-edge")
        #expect(try TagTemplate.extraTag("edge", variant: nil, values: Self.values) == "edge")

        let indices = Array(fleet.nodes.indices)
        let tool = try #require(fleet.graph.index["tool"])
        #expect(throws: TagTemplate.Error(template: "{variant}", origin: .manifest(fleet.image(named: "tool")!.location(of: "tags")),
                                          reason: .noValue("variant", why: "the image has no variants"))) {
            try TagTemplate.validate(fleet: fleet, nodes: indices, requested: [], extraTags: [], values: Self.values)
        }
        let apps = indices.filter { $0 != tool }
        try TagTemplate.validate(fleet: fleet, nodes: apps, requested: Set(apps), extraTags: ["{date}"], values: Self.values)
        #expect(throws: TagTemplate.Error(template: "{nope}", origin: .option, reason: .unknownPlaceholder("nope"))) {
            try TagTemplate.validate(fleet: fleet, nodes: apps, requested: Set(apps), extraTags: ["{nope}"], values: Self.values)
        }
    }
}
