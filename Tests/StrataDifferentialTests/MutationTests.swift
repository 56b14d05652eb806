import Foundation
import StrataProcess
import Testing

/// strata's hit-or-miss decision against the truth: after each mutation of every corpus
/// context, is the `docker build --no-cache` listing still the one before? A hit where the
/// listing changed (a false hit, a stale image) fails the test; a miss where it did not (a
/// needless rebuild) is counted and printed.
@Suite(.serialized) struct MutationTests {
    /// One change to one file of a context (the first regular file by path, outside the
    /// Dockerfile and `.dockerignore`).
    enum Mutation: String, CaseIterable {
        case content = "append to the file"
        case sameSizeRestoredMtime = "rewrite the file in place, same size, mtime put back"
        case touch = "touch the file (new mtime, same bytes)"
        case mode = "toggle the file's owner execute bit"
        case rename = "rename the file"
        case addFile = "add a file nothing names"
        case comment = "add a comment line to the Dockerfile"
        case baseRetag = "re-tag the external base to other content"
    }

    @Test func everyDecisionMatchesWhatDockerBuilds() throws {
        try Oracle.requireEngine()
        let cases = Corpus.cases
        let fleet = try Oracle.writeFleet(cases)
        let pristine = fleet + "-pristine"
        defer {
            try? FileManager.default.removeItem(atPath: fleet)
            try? FileManager.default.removeItem(atPath: pristine)
        }
        // The cases' base under a name of this test's own, which `baseRetag` points at other content.
        let unique = UUID().uuidString.prefix(8).lowercased()
        let base = "strata-mut-base-\(unique):1", otherBase = "strata-mut-base-\(unique):other"
        defer { _ = try? Oracle.run(Oracle.docker, ["rmi", base, otherBase]) }
        try #require(try Oracle.run(Oracle.docker, ["tag", "strata-busybox:1", base]).status == 0)
        let otherContext = fleet + "-other-base"
        try FileManager.default.createDirectory(atPath: otherContext, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: otherContext) }
        try Data("FROM strata-busybox:1\nRUN echo retagged > /retagged\n".utf8)
            .write(to: URL(fileURLWithPath: otherContext + "/Dockerfile"))
        let other = try Oracle.run(Oracle.docker, ["build", "--quiet", "--network", "host", "-t", otherBase, otherContext],
                                   environment: ["DOCKER_BUILDKIT": "1"])
        try #require(other.status == 0, "\(other.stderr)")
        for item in cases {
            let path = fleet + "/" + item.name + "/Dockerfile"
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try Data(text.replacingOccurrences(of: "strata-busybox:1", with: base).utf8).write(to: URL(fileURLWithPath: path))
        }
        try #require(try Oracle.run("/bin/cp", ["-a", fleet, pristine]).status == 0)
        let registry = "strata-mut.test/m-" + UUID().uuidString.prefix(8).lowercased()
        defer { Oracle.removeImages(under: registry) }
        let cache = fleet + "-cache"
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let common = ["-C", fleet, "--cache", cache, "--registry", registry]
        let built = try Oracle.run(Oracle.strata, common + ["build", "--progress", "plain"])
        try #require(built.status == 0, "\(built.stderr)")
        let baseline = try Dictionary(uniqueKeysWithValues: cases.map { ($0.name, try dockerListing($0, fleet: fleet, registry: registry)) })

        var falseMisses: [String] = []
        var decisions = 0
        for mutation in Mutation.allCases {
            var mutated: [String] = []
            if mutation == .baseRetag {
                try #require(try Oracle.run(Oracle.docker, ["tag", otherBase, base]).status == 0)
                mutated = cases.map(\.name)
            } else {
                for item in cases where try apply(mutation, to: fleet + "/" + item.name) { mutated.append(item.name) }
            }
            let plan = try Oracle.run(Oracle.strata, common + ["plan", "--format", "json"])
            try #require(plan.status == 0, "\(plan.stderr)")
            struct Plan: Decodable { struct Node: Decodable { var node, status: String }; var nodes: [Node] }
            let status = Dictionary(uniqueKeysWithValues: try JSONDecoder().decode(Plan.self, from: Data(plan.stdout.utf8))
                .nodes.map { ($0.node, $0.status) })
            for item in cases where mutated.contains(item.name) {
                // A context the mutation breaks for docker (a renamed COPY source) has no truth to compare.
                guard let listing = try? dockerListing(item, fleet: fleet, registry: registry) else { continue }
                let changed = listing != baseline[item.name]
                let hit = status[item.name] == "hit"
                decisions += 1
                #expect(!(hit && changed), "false hit: \(item.name) after '\(mutation.rawValue)': the image changed")
                if !hit && !changed { falseMisses.append("\(item.name): \(mutation.rawValue)") }
            }
            try #require(try Oracle.run("/bin/rm", ["-rf", fleet]).status == 0)
            try #require(try Oracle.run("/bin/cp", ["-a", pristine, fleet]).status == 0)
            if mutation == .baseRetag {
                try #require(try Oracle.run(Oracle.docker, ["tag", "strata-busybox:1", base]).status == 0)
            }
        }
        print("mutation test: \(decisions) decisions, 0 false hits, \(falseMisses.count) false misses")
        for miss in falseMisses { print("  false miss (rebuilt, image unchanged): \(miss)") }
        #expect(decisions >= Corpus.cases.count * 4)
    }

    /// The listing of `docker build --no-cache` of the case as it is now; throws when docker
    /// cannot build it.
    func dockerListing(_ item: CorpusCase, fleet: String, registry: String) throws -> String {
        let built = try Oracle.dockerBuild(item, fleet: fleet, registry: registry, tag: "m")
        guard built.result.status == 0 else { throw BuildFailed() }
        return try Oracle.listing(built.reference)
    }

    struct BuildFailed: Error {}

    /// Applies `mutation` in `folder`; false when the folder has no file to mutate.
    func apply(_ mutation: Mutation, to folder: String) throws -> Bool {
        if mutation == .addFile {
            try Data("added\n".utf8).write(to: URL(fileURLWithPath: folder + "/zz-added.txt"))
            return true
        }
        if mutation == .comment {
            let handle = try #require(FileHandle(forWritingAtPath: folder + "/Dockerfile"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("\n# a comment strata must not rebuild for\n".utf8))
            try handle.close()
            return true
        }
        guard let file = try firstFile(in: folder) else { return false }
        let path = folder + "/" + file
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        switch mutation {
        case .content:
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("#m\n".utf8))
            try handle.close()
        case .sameSizeRestoredMtime:
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            guard !bytes.isEmpty else { return false }
            bytes[0] = bytes[0] == UInt8(ascii: "Z") ? UInt8(ascii: "Y") : UInt8(ascii: "Z")
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.write(contentsOf: bytes)
            try handle.close()
            try FileManager.default.setAttributes([.modificationDate: attributes[.modificationDate] as Any], ofItemAtPath: path)
        case .touch:
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(3600)], ofItemAtPath: path)
        case .mode:
            let mode = (attributes[.posixPermissions] as? Int) ?? 0o644
            try FileManager.default.setAttributes([.posixPermissions: mode ^ 0o100], ofItemAtPath: path)
        case .rename:
            try FileManager.default.moveItem(atPath: path, toPath: path + ".renamed")
        case .addFile, .comment, .baseRetag:
            break
        }
        return true
    }

    /// The first regular file below `folder` by path, outside the Dockerfile and `.dockerignore`.
    func firstFile(in folder: String) throws -> String? {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            guard path != "Dockerfile", path != ".dockerignore" else { continue }
            var isDirectory: ObjCBool = false
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/" + path)
            if attributes[.type] as? FileAttributeType == .typeRegular,
               FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        return files.sorted().first
    }
}
