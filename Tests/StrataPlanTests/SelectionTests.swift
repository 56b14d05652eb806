import StrataFleet
import Testing
@testable import StrataPlan

/// What a build reads beyond its COPY sources: symlink targets, and ONBUILD triggers of a
/// fleet parent.
@Suite struct SelectionTests {
    static func entry(_ path: String, _ kind: ContextFile.Kind = .file, link: String? = nil) -> ContextFile {
        ContextFile(path: path, kind: kind, mode: kind == .directory ? 0o40755 : 0o100644, size: 1, mtime: 0, inode: 0,
                    device: 0, linkTarget: link)
    }

    static let context = [
        entry("a.txt"), entry("b.txt"), entry("current", .symlink, link: "releases/v2"), entry("link.txt", .symlink, link: "a.txt"),
        entry("releases", .directory), entry("releases/v1", .directory), entry("releases/v1/x"), entry("releases/v2", .directory),
        entry("releases/v2/x"), entry("root", .symlink, link: "/"), entry("up", .symlink, link: "../../a.txt"),
    ]

    static func paths(_ sources: [String]) -> [String] {
        KeyComputer.selected(context, by: .sources(sources.map { ContextSelection.Source($0) })).map(\.path)
    }

    @Test func aSymlinkSourceBringsItsTarget() {
        #expect(Self.paths(["link.txt"]) == ["a.txt", "link.txt"])
        #expect(Self.paths(["current"]) == ["current", "releases", "releases/v2", "releases/v2/x"])
        // `..` never climbs out of the context, as BuildKit resolves links inside it.
        #expect(Self.paths(["up"]) == ["a.txt", "up"])
        #expect(Self.paths(["b.txt"]) == ["b.txt"])
    }

    @Test func aSymlinkToTheRootIsTheWholeContext() {
        #expect(Self.paths(["root"]) == Self.context.map(\.path))
    }

    @Test func anOnbuildParentMakesTheChildReadItsWholeContext() throws {
        let fleet = try FleetCopy()
        try fleet.append("base/base-python/Dockerfile", "ONBUILD COPY requirements.txt /tmp/\n")
        let loaded = try fleet.fleet()
        let child = try #require(loaded.node(named: "base-utils"))
        let selection = KeyComputer.selection(fleet: loaded, node: child)
        guard case .whole(let reason) = selection else {
            Issue.record("expected the whole context, got \(selection)")
            return
        }
        #expect(reason.hasPrefix("parent base-python has ONBUILD ("))
        // Its own children are not affected: triggers run one level down only.
        let grandchild = try #require(loaded.node(named: "base-cpu-pydeps"))
        #expect(KeyComputer.selection(fleet: loaded, node: grandchild) != selection)
    }
}
