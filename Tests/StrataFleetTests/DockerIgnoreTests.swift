import Testing
@testable import StrataFleet

/// One row: the ignore file, a path, and whether Docker leaves the path out.
/// Expectations follow moby/patternmatcher `patternmatcher_test.go` and BuildKit's walker.
struct IgnoreCase: Sendable, CustomTestStringConvertible {
    let rules: String
    let path: String
    let excluded: Bool
    var testDescription: String { "\(rules.split(separator: "\n").joined(separator: " ; ")) ⟶ \(path)" }
}

private let semantics: [IgnoreCase] = [
    // Plain names match at the root only, and everything below a matched directory.
    .init(rules: "foo", path: "foo", excluded: true),
    .init(rules: "foo", path: "foo/bar/baz.txt", excluded: true),
    .init(rules: "foo", path: "a/foo", excluded: false),
    .init(rules: "foo", path: "foobar", excluded: false),
    // Leading "/", "./", trailing "/" and ".." are cleaned away.
    .init(rules: "/foo", path: "foo/x", excluded: true),
    .init(rules: "./foo", path: "foo", excluded: true),
    .init(rules: "foo/", path: "foo/x", excluded: true),
    .init(rules: "a/../foo", path: "foo", excluded: true),
    .init(rules: "  foo  ", path: "foo", excluded: true),
    // "*" and "?" stay within one component.
    .init(rules: "*.md", path: "README.md", excluded: true),
    .init(rules: "*.md", path: "docs/README.md", excluded: false),
    .init(rules: "*/*.md", path: "docs/README.md", excluded: true),
    .init(rules: "fo?", path: "foo", excluded: true),
    .init(rules: "fo?", path: "fo/", excluded: false),
    .init(rules: "a?c", path: "a/c", excluded: false),
    .init(rules: "a*", path: "a/c", excluded: true), // the parent "a" matches
    // "**" spans any number of directories, including none.
    .init(rules: "**/*.go", path: "main.go", excluded: true),
    .init(rules: "**/*.go", path: "a/b/c/main.go", excluded: true),
    .init(rules: "**/node_modules", path: "web/node_modules/x/y.js", excluded: true),
    .init(rules: "a/**/b", path: "a/b", excluded: true),
    .init(rules: "a/**/b", path: "a/x/y/b", excluded: true),
    .init(rules: "a/**/b", path: "a/x/yb", excluded: false),
    .init(rules: "a/**", path: "a/x", excluded: true),
    .init(rules: "a/**", path: "a", excluded: false),
    .init(rules: "**", path: "anything/at/all", excluded: true),
    .init(rules: "**.txt", path: "deep/x.txt", excluded: true), // suffix match, as in moby
    // Character classes, ranges, negation, escapes.
    .init(rules: "file[a-c].txt", path: "fileb.txt", excluded: true),
    .init(rules: "file[a-c].txt", path: "filed.txt", excluded: false),
    .init(rules: "file[^a].txt", path: "fileb.txt", excluded: true),
    .init(rules: "file[^a].txt", path: "filea.txt", excluded: false),
    .init(rules: "[\\]]x", path: "]x", excluded: true),
    .init(rules: "\\*", path: "*", excluded: true),
    .init(rules: "\\*", path: "a", excluded: false),
    .init(rules: "a\\?b", path: "a?b", excluded: true),
    .init(rules: "a\\?b", path: "axb", excluded: false),
    .init(rules: "a.b", path: "axb", excluded: false), // "." is literal
    .init(rules: "ü?", path: "üé", excluded: true), // "?" is one character, not one byte
    // Exceptions; the last matching rule wins.
    .init(rules: "*.md\n!README.md", path: "README.md", excluded: false),
    .init(rules: "*.md\n!README.md", path: "CHANGES.md", excluded: true),
    .init(rules: "!README.md\n*.md", path: "README.md", excluded: true),
    .init(rules: "docs\n!docs/keep.md", path: "docs/keep.md", excluded: false),
    .init(rules: "docs\n!docs/keep.md", path: "docs/other.md", excluded: true),
    .init(rules: "docs\n!docs/keep", path: "docs/keep/deep/x", excluded: false),
    .init(rules: "*\n!src\nsrc/*.tmp", path: "src/a.tmp", excluded: true),
    .init(rules: "*\n!src\nsrc/*.tmp", path: "src/a.swift", excluded: false),
    .init(rules: "! /docs/keep.md\ndocs", path: "docs/keep.md", excluded: true),
    // Comments only in column 1; blank lines and CRLF are fine.
    .init(rules: "# foo\n\n", path: "# foo", excluded: false),
    .init(rules: "#foo", path: "#foo", excluded: false),
    .init(rules: " #foo", path: "#foo", excluded: true),
    .init(rules: "foo\r\nbar\r\n", path: "bar", excluded: true),
    .init(rules: "\u{FEFF}foo", path: "foo", excluded: true),
]

@Test(arguments: semantics)
func dockerignoreSemantics(_ row: IgnoreCase) throws {
    let ignore = try DockerIgnore(contents: row.rules, file: ".dockerignore")
    #expect(ignore.isExcluded(row.path) == row.excluded)
}

@Test func excludingRuleNamesTheLastMatchingLine() throws {
    let ignore = try DockerIgnore(contents: "# build output\nbuild\n*.log\n!keep.log\nbuild/**\n", file: "svc/.dockerignore")
    // moby stops trying inclusions once a path is excluded, so the rule that
    // excluded the parent directory is the one reported.
    let rule = try #require(ignore.excludingRule("build/out/app.log"))
    #expect(rule.pattern == "build")
    #expect(rule.line == 2)
    #expect(rule.description == "svc/.dockerignore:2: build")
    #expect(ignore.excludingRule("app.log")?.line == 3)
    #expect(ignore.excludingRule("keep.log") == nil)
    #expect(ignore.excludingRule("./build/x") != nil)
    #expect(ignore.hasExceptions)
}

@Test func rulesKeepTheirCleanedPatternAndLine() throws {
    let ignore = try DockerIgnore(contents: "#c\n\n/a/b/\n! ./c\n", file: ".dockerignore")
    #expect(ignore.rules == [
        .init(pattern: "a/b", isException: false, line: 3, file: ".dockerignore"),
        .init(pattern: "c", isException: true, line: 4, file: ".dockerignore"),
    ])
    #expect(try !DockerIgnore(contents: "a\n", file: "x").hasExceptions)
}

@Test(arguments: ["!", "! ", "[a-", "a[]", "x\\", "[z-a]", "[-a]"])
func malformedPatternsAreErrors(_ pattern: String) {
    #expect(throws: DockerIgnore.Error.self) {
        try DockerIgnore(contents: "ok\n\(pattern)\n", file: ".dockerignore")
    }
    do {
        _ = try DockerIgnore(contents: "ok\n\(pattern)\n", file: ".dockerignore")
    } catch {
        #expect(error.description.hasPrefix(".dockerignore:2: invalid .dockerignore pattern"))
    }
}

@Test func exceptionsReachOnlyMatchingDirectories() throws {
    let ignore = try DockerIgnore(contents: "*\n!src/keep\n!**/*.swift\n", file: ".dockerignore")
    #expect(ignore.mayReinclude(below: "src"))
    #expect(ignore.mayReinclude(below: "other")) // because of "**/*.swift"
    let narrow = try DockerIgnore(contents: "*\n!src/keep\n", file: ".dockerignore")
    #expect(narrow.mayReinclude(below: "src"))
    #expect(narrow.mayReinclude(below: "src/keep/deep"))
    #expect(!narrow.mayReinclude(below: "docs"))
    #expect(!narrow.mayReinclude(below: "src/other"))
}

@Test func dockerfileSpecificIgnoreFileTakesPrecedence() throws {
    let root = try TemporaryDirectory()
    try root.write(".dockerignore", "shared\n")
    try root.write("api/Dockerfile.prod", "FROM scratch\n")
    try root.write("api/Dockerfile.prod.dockerignore", "specific\n")

    let specific = try #require(try DockerIgnore.load(contextDirectory: root.path, dockerfilePath: root.path + "/api/Dockerfile.prod"))
    #expect(specific.file == root.path + "/api/Dockerfile.prod.dockerignore")
    #expect(specific.isExcluded("specific"))
    #expect(!specific.isExcluded("shared")) // never merged with .dockerignore

    let shared = try #require(try DockerIgnore.load(contextDirectory: root.path, dockerfilePath: root.path + "/Dockerfile"))
    #expect(shared.isExcluded("shared"))

    let empty = try TemporaryDirectory()
    #expect(try DockerIgnore.load(contextDirectory: empty.path, dockerfilePath: empty.path + "/Dockerfile") == nil)
}
