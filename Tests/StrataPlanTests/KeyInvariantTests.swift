import Foundation
import StrataFleet
import StrataPlan
import Testing

/// The promises of DESIGN.md "Input keys", checked on a copy of the demo fleet: a change
/// rebuilds what it must and nothing else.
@Suite struct KeyInvariantTests {
    /// A change to the copy of the fleet, and the images whose nodes (with their
    /// descendants) must change key. An empty list: no key may change.
    struct Change: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var images: [String]
        var apply: @Sendable (FleetCopy) throws -> Void
    }

    static let readChanges: [Change] = [
        Change(testDescription: "edit a file a service COPYs", images: ["web-api"]) {
            try $0.append("services/web/web-api/app/main.py", "# changed\n")
        },
        Change(testDescription: "edit a file a family COPYs", images: ["family-web"]) {
            try $0.append("families/web/gunicorn.conf.py", "workers = 3\n")
        },
        Change(testDescription: "edit the root's file", images: ["base-python"]) {
            try $0.append("base/base-python/sitecustomize.py", "# changed\n")
        },
        Change(testDescription: "edit a file of a variant family", images: ["family-llm"]) {
            try $0.append("families/llm/tokenizer.json", " ")
        },
        Change(testDescription: "edit a file the build stage of a multi-stage build COPYs", images: ["model-ops"]) {
            try $0.append("services/model_ops/src/ops.py", "# changed\n")
        },
        Change(testDescription: "add a file under a COPYed folder", images: ["base-utils"]) {
            try $0.write("base/base-utils/bin/strata-more", "#!/bin/sh\n")
        },
        Change(testDescription: "delete a COPYed file", images: ["web-api"]) {
            try FileManager.default.removeItem(atPath: $0.path("services/web/web-api/app/routes.py"))
        },
        Change(testDescription: "rename a COPYed file", images: ["web-api"]) {
            try FileManager.default.moveItem(atPath: $0.path("services/web/web-api/app/routes.py"),
                                             toPath: $0.path("services/web/web-api/app/router.py"))
        },
        Change(testDescription: "chmod +x a COPYed file", images: ["embedder"]) {
            try FileManager.default.setAttributes([.posixPermissions: 0o755],
                                                  ofItemAtPath: $0.path("services/gpu/embedder/embed.py"))
        },
        Change(testDescription: "edit a Dockerfile (an instruction)", images: ["chat"]) {
            try $0.append("services/gpu/chat/Dockerfile", "LABEL changed=yes\n")
        },
        Change(testDescription: "edit a file under a RUN --mount=type=bind context", images: ["bound"]) {
            try $0.append("services/bound/notes/b.md", "more\n")
        },
        Change(testDescription: "add a file to a RUN --mount=type=bind context", images: ["bound"]) {
            try $0.write("services/bound/c.txt", "c\n")
        },
        Change(testDescription: "a declared arg (variant value)", images: ["base-gpu@pc2"]) {
            try $0.editManifest(#"TORCH_CUDA_ARCH_LIST: "8.6""#, #"TORCH_CUDA_ARCH_LIST: "9.0""#)
        },
        Change(testDescription: "a declared arg (image arg)", images: ["model-ops"]) {
            try $0.editManifest(#"args: {PORT: "7212"}"#, #"args: {PORT: "7213"}"#)
        },
        Change(testDescription: "a declared arg the root reads (defaults)", images: ["base-python"]) {
            try $0.editManifest(#"PYTHON_VERSION: "3.11""#, #"PYTHON_VERSION: "3.12""#)
        },
    ]

    static let neutralChanges: [Change] = [
        Change(testDescription: "edit a .dockerignored file", images: []) {
            try $0.append("services/web/docs-site/drafts/wip.html", "<p>more</p>\n")
        },
        Change(testDescription: "add a .dockerignored file", images: []) {
            try $0.write("services/web/docs-site/drafts/new.html", "<p>new</p>\n")
        },
        Change(testDescription: "edit a .dockerignored file of a bind-mount context", images: []) {
            try $0.append("services/bound/debug.log", "more\n")
        },
        Change(testDescription: "add a file no COPY reads", images: []) {
            try $0.write("services/web/web-api/README.md", "# web-api\n")
        },
        Change(testDescription: "add a file next to a COPYed file", images: []) {
            try $0.write("services/gpu/chat/notes.txt", "notes\n")
        },
        Change(testDescription: "add a file to a context nothing is COPYed from", images: []) {
            try $0.write("families/torch/build.log", "log\n")
        },
        Change(testDescription: "an arg no Dockerfile declares (defaults)", images: []) {
            try $0.editManifest("PYTHON_VERSION: \"3.11\"\n", "PYTHON_VERSION: \"3.11\"\n    UNUSED: \"x\"\n")
        },
        Change(testDescription: "an arg the image's Dockerfile does not declare", images: []) {
            try $0.editManifest("    context: families/llm\n", "    context: families/llm\n    args: {PORT: \"1\"}\n")
        },
        Change(testDescription: "add a comment and a blank line to a Dockerfile", images: []) {
            try $0.append("services/gpu/chat/Dockerfile", "\n# changed\n")
        },
        Change(testDescription: "touch a COPYed file (new mtime, same content)", images: []) {
            try $0.setModificationDate("services/web/web-api/app/main.py", Date().addingTimeInterval(-86_400))
        },
        Change(testDescription: "rewrite a COPYed file with the same bytes", images: []) {
            let text = try $0.read("base/base-python/sitecustomize.py")
            try $0.write("base/base-python/sitecustomize.py", text)
        },
    ]

    @Test(arguments: readChanges + neutralChanges)
    func changeRekeysExactlyTheNodesBelow(_ change: Change) throws {
        let fleet = try FleetCopy()
        let before = try fleet.keyHexes()
        #expect(before.count >= 15)
        try change.apply(fleet)
        let after = try fleet.keyHexes()
        let expected: Set<String>
        if change.images.isEmpty {
            expected = []
        } else {
            // `image@variant` names one node; a plain image all of its nodes.
            let loaded = try fleet.fleet()
            let roots = loaded.nodes.indices.filter { change.images.contains(loaded.nodes[$0].name) || change.images.contains(loaded.nodes[$0].image) }
            try #require(!roots.isEmpty)
            expected = Set(loaded.graph.descendantsIncluding(roots).map { loaded.nodes[$0].name })
        }
        #expect(changedNodes(before, after) == expected)
        #expect(Set(before.keys) == Set(after.keys))
    }

    @Test func keysAreStableAcrossRunsAndIndependentOfTheFolder() throws {
        let first = try FleetCopy(), second = try FleetCopy()
        let keys = try first.keyHexes()
        // Second run: served from the file-hash index.
        #expect(try first.keyHexes() == keys)
        #expect(try second.keyHexes() == keys)
        #expect(first.fleetDirectory != second.fleetDirectory)
    }

    @Test func contextModes() throws {
        let keys = try FleetCopy().keys()
        let bound = try #require(keys["bound"])
        #expect(bound.inputs.contextMode == "whole")
        #expect(bound.files.keys.sorted() == [".dockerignore", "Dockerfile", "a.txt", "notes", "notes/b.md"])
        let chat = try #require(keys["chat@mainpc"])
        #expect(chat.inputs.contextMode == "precise")
        #expect(chat.files.keys.sorted() == ["chat.py"])
        let docs = try #require(keys["docs-site"])
        #expect(!docs.files.keys.contains { $0.hasPrefix("drafts") })
    }

    /// A node that names no platform is keyed for the engine's: an amd64 runner and an arm64
    /// laptop share no key through the remote cache, and `--platform` naming the engine's own
    /// platform gives the same keys as no flag.
    @Test func theEnginesPlatformIsInTheKeyOfANodeThatNamesNone() throws {
        let fleet = try FleetCopy()
        func keys(_ loaded: Fleet, _ platform: String?) throws -> [String: String] {
            try KeyComputer(fleet: loaded, fileIndexDirectory: fleet.cacheDirectory + "/files", defaultPlatform: platform)
                .keys(for: Array(loaded.nodes.indices)).mapValues(\.key)
        }
        let loaded = try fleet.fleet()
        let amd64 = try keys(loaded, "linux/amd64")
        let arm64 = try keys(loaded, "linux/arm64")
        #expect(amd64.count == loaded.nodes.count)
        #expect(amd64.allSatisfy { arm64[$0.key] != $0.value })
        let flagged = try Fleet.load(path: fleet.fleetDirectory + "/strata.yaml", platform: "linux/amd64")
        #expect(try keys(flagged, "linux/amd64") == amd64)
        #expect(try keys(flagged, "linux/arm64") == amd64)
    }

    /// `SOURCE_DATE_EPOCH` is the mtime of every file the context sends, which COPY keeps in
    /// the image: another value is another key for every node.
    @Test func sourceDateEpochIsInEveryKey() throws {
        let fleet = try FleetCopy()
        let loaded = try fleet.fleet()
        func keys(_ environment: [String: String]) throws -> [String: String] {
            try KeyComputer(fleet: loaded, fileIndexDirectory: fleet.cacheDirectory + "/files", environment: environment)
                .keys(for: Array(loaded.nodes.indices)).mapValues(\.key)
        }
        let unset = try keys([:])
        let set = try keys(["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(unset.count == loaded.nodes.count)
        #expect(unset.allSatisfy { set[$0.key] != $0.value })
        #expect(try keys(["SOURCE_DATE_EPOCH": "1700000000"]) == set)
        #expect(try keys([:]) == unset)
    }

    /// The file-hash index is not fooled by a rewrite that keeps the size, the inode and
    /// the mtime (what `tar -x` of a reproducible archive does): the ctime moved, the file is
    /// read again, and exactly its node gets a new key (a stale hit before).
    @Test func aFileRewrittenInPlaceWithItsMtimeRestoredIsReadAgain() throws {
        let fleet = try FleetCopy()
        let file = "services/web/web-api/app/main.py"
        let past = Date(timeIntervalSince1970: 1_600_000_000)
        try fleet.setModificationDate(file, past)
        let before = try fleet.keyHexes()
        #expect(try fleet.keyHexes() == before)

        let original = try fleet.read(file)
        let handle = try #require(FileHandle(forWritingAtPath: fleet.path(file)))
        try handle.write(contentsOf: Data(String(repeating: "X", count: original.utf8.count).utf8))
        try handle.close()
        try fleet.setModificationDate(file, past)
        #expect(changedNodes(before, try fleet.keyHexes()) == ["web-api"])
    }
}
