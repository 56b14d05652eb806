import Foundation
import StrataEngine
import StrataFleet
import Testing
@testable import StrataBuild

@Suite struct SessionContextsTests {
    let files = [
        SessionFile(path: ".dockerignore", kind: .file, mode: 0o644, mtime: 0),
        SessionFile(path: "app", kind: .directory, mode: 0o755, mtime: 0),
        SessionFile(path: "app/main.py", kind: .file, mode: 0o644, mtime: 0),
        SessionFile(path: "app/notes.tmp", kind: .file, mode: 0o644, mtime: 0),
        SessionFile(path: "current", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "releases/v2"),
        SessionFile(path: "releases", kind: .directory, mode: 0o755, mtime: 0),
        SessionFile(path: "releases/v1", kind: .file, mode: 0o644, mtime: 0),
        SessionFile(path: "releases/v2", kind: .file, mode: 0o644, mtime: 0),
    ]

    func paths(_ request: SessionDirectoryRequest) -> [String] {
        SessionContexts.filter(files, request).map(\.path)
    }

    @Test func noFiltersKeepEverything() {
        #expect(paths(SessionDirectoryRequest(name: "context")) == files.map(\.path))
    }

    @Test func followPathsKeepThePathWhatIsBelowAndTheDirectoriesAbove() {
        #expect(paths(SessionDirectoryRequest(name: "context", followPaths: [".dockerignore"])) == [".dockerignore"])
        #expect(paths(SessionDirectoryRequest(name: "context", followPaths: ["./app/"])) == ["app", "app/main.py", "app/notes.tmp"])
        #expect(paths(SessionDirectoryRequest(name: "context", followPaths: ["app/main.py"])) == ["app", "app/main.py"])
        // A followed symlink brings its target.
        #expect(paths(SessionDirectoryRequest(name: "context", followPaths: ["current"])) == ["current", "releases", "releases/v2"])
    }

    @Test func includeAndExcludePatterns() {
        #expect(paths(SessionDirectoryRequest(name: "context", includePatterns: ["app/*.py"])) == ["app", "app/main.py"])
        #expect(paths(SessionDirectoryRequest(name: "context", includePatterns: ["releases"]))
            == ["releases", "releases/v1", "releases/v2"])
        // The excluded directory is sent above the entry an exception re-includes, as fsutil's walk does.
        #expect(paths(SessionDirectoryRequest(name: "context", excludePatterns: ["**/*.tmp", "releases", "!releases/v2"]))
            == [".dockerignore", "app", "app/main.py", "current", "releases", "releases/v2"])
    }

    /// BuildKit sends COPY sources as follow paths as written: wildcards match as fsutil's
    /// pattern matcher does (they were compared literally, and `COPY *.txt` sent nothing).
    @Test(arguments: [
        (["*.py"], [String]()),
        (["app/*.py"], ["app", "app/main.py"]),
        (["app/*"], ["app", "app/main.py", "app/notes.tmp"]),
        (["app/**/*.tmp"], ["app", "app/notes.tmp"]),
        (["releases/v[12]"], ["releases", "releases/v1", "releases/v2"]),
        (["releases/v?", "app/main.py"], ["app", "app/main.py", "releases", "releases/v1", "releases/v2"]),
        (["."], ["" /* everything */]),
        (["./"], ["" /* everything */]),
    ])
    func followPathsWithWildcards(follow: [String], expected: [String]) {
        let found = paths(SessionDirectoryRequest(name: "context", followPaths: follow))
        #expect(found == (expected == [""] ? files.map(\.path) : expected))
    }

    /// A wildcard component that matches a symlink brings the link's target (`FollowLinks`).
    @Test func aWildcardFollowsTheSymlinksItMatches() {
        #expect(paths(SessionDirectoryRequest(name: "context", followPaths: ["cur*"])) == ["current", "releases", "releases/v2"])
        #expect(SessionContexts.followLinks(["cur*"], in: files) == ["cur*", "releases/v2"])
    }

    /// Follow paths and include patterns are one list (fsutil appends one to the other).
    @Test func followPathsAndIncludePatternsAreAUnion() {
        #expect(paths(SessionDirectoryRequest(name: "context", includePatterns: [".dockerignore"], followPaths: ["app/main.py"]))
            == [".dockerignore", "app", "app/main.py"])
    }

    @Test func theSharedKeyChangesWithTheKeyAndTheDockerfile() {
        func key(_ key: String, _ dockerfile: String) -> String {
            SessionContexts.make(contextDirectory: "/x", files: [], dockerfile: dockerfile, key: key, mtime: 0).sharedKey
        }
        #expect(key("a", "FROM x") == key("a", "FROM x"))
        #expect(key("a", "FROM x") != key("b", "FROM x"))
        #expect(key("a", "FROM x") != key("a", "FROM y"))
    }

    @Test func directoriesServeTheSelectedFilesAndTheRewrittenDockerfile() throws {
        let file = ContextFile(path: "src/a.txt", kind: .file, mode: 0o100640, size: 3, mtime: 99, inode: 1, device: 1)
        let context = SessionContexts.make(contextDirectory: "/ctx", files: [file], dockerfile: "FROM base@sha256:1\n",
                                           key: "k", mtime: 5)
        #expect(context.directory(SessionDirectoryRequest(name: "context"))
            == [SessionFile(path: "src/a.txt", kind: .file, mode: 0o640, size: 3, mtime: 5_000_000_000,
                            contents: .path("/ctx/src/a.txt"))])
        let dockerfile = try #require(context.directory(SessionDirectoryRequest(
            name: "dockerfile", followPaths: ["Dockerfile", "Dockerfile.dockerignore"]))?.first)
        #expect(dockerfile.path == SessionContexts.dockerfileName)
        #expect(dockerfile.contents == .bytes(Array("FROM base@sha256:1\n".utf8)))
        #expect(context.directory(SessionDirectoryRequest(name: "secrets")) == nil)
    }
}
