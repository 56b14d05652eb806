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
        #expect(paths(SessionDirectoryRequest(name: "context", excludePatterns: ["**/*.tmp", "releases", "!releases/v2"]))
            == [".dockerignore", "app", "app/main.py", "current", "releases/v2"])
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
