import Foundation
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

/// A folder that only lies above a COPY source has nothing of it copied: its mode is not
/// keyed (a chmod on it rebuilt the node), while a copied folder's mode is.
@Suite struct FolderModeTests {
    @Test func onlyCopiedFoldersAreKeyed() {
        let selection = ContextSelection.sources([.init("conf/app.conf"), .init("src")])
        #expect(!selection.copiesDirectory("conf"))
        #expect(selection.copiesDirectory("src"))
        #expect(selection.copiesDirectory("src/sub"))
        #expect(ContextSelection.whole(reason: "test").copiesDirectory("conf"))
    }

    @Test func aChmodAboveASingleFileCopyKeepsTheKey() throws {
        let fleet = try FleetCopy()
        try fleet.write("services/single/Dockerfile", "FROM strata-busybox:1\nCOPY conf/app.conf /etc/app.conf\nCOPY lib /opt/lib\n")
        try fleet.write("services/single/conf/app.conf", "a=1\n")
        try fleet.write("services/single/lib/x.py", "x\n")
        try fleet.editManifest("discover:\n", "  single:\n    context: services/single\ndiscover:\n")
        let before = try #require(try fleet.keyHexes()["single"])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: fleet.path("services/single/conf"))
        #expect(try fleet.keyHexes()["single"] == before)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: fleet.path("services/single/lib"))
        #expect(try fleet.keyHexes()["single"] != before)
    }
}
