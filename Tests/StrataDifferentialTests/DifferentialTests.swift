import Foundation
import StrataProcess
import Testing

/// The oracle: for every corpus case, the image strata builds (over a build session, and as a
/// tar body with `--tar-context`) holds exactly the files of `DOCKER_BUILDKIT=1 docker build
/// --no-cache` of the same context: path, type, mode, owner, size and sha256 of each.
/// Runs the release binary against the engine `scripts/test` starts.
@Suite(.serialized) struct DifferentialTests {
    @Test func everyCaseBuildsTheFilesDockerBuilds() throws {
        try Oracle.requireEngine()
        let fleet = try Oracle.writeFleet(Corpus.cases)
        defer { try? FileManager.default.removeItem(atPath: fleet) }
        let registry = "strata-diff.test/d-" + UUID().uuidString.prefix(8).lowercased()
        defer { Oracle.removeImages(under: registry) }

        // Docker's own build of each case first, then strata's two transports.
        var theirs: [String: String] = [:]
        for item in Corpus.cases {
            let built = try Oracle.dockerBuild(item, fleet: fleet, registry: registry, tag: "1")
            try #require(built.result.status == 0, "docker build \(item.name): \(built.result.stderr)")
            theirs[item.name] = try Oracle.listing(built.reference)
        }
        for tarContext in [false, true] {
            let transport = tarContext ? "--tar-context" : "session"
            let prefix = registry + (tarContext ? "/tar" : "/session")
            let cache = fleet + (tarContext ? "/.cache-tar" : "/.cache-session")
            let built = try Oracle.run(Oracle.strata, ["-C", fleet, "--cache", cache, "--registry", prefix, "build",
                                                       "--progress", "plain", "--format", "json"]
                                                      + (tarContext ? ["--tar-context"] : []))
            let refused = tarContext ? Corpus.cases.filter(\.refusedOverTar).map(\.name) : []
            #expect(built.status == (refused.isEmpty ? 0 : 1), "strata build (\(transport)): \(built.stderr)")
            struct Document: Decodable { struct Node: Decodable { var node, status: String; var message: String? }; var nodes: [Node] }
            let nodes = try JSONDecoder().decode(Document.self, from: Data(built.stdout.utf8)).nodes
            for node in nodes {
                if refused.contains(node.node) {
                    #expect(node.status == "failed" && node.message?.contains("its COPY/ADD sources reach the Dockerfile") == true,
                            "\(node.node) over a tar body: \(node.status) \(node.message ?? "")")
                } else {
                    #expect(node.status == "built", "\(node.node) (\(transport)): \(node.status) \(node.message ?? "")")
                }
            }
            for item in Corpus.cases where !refused.contains(item.name) {
                let ours = try Oracle.listing("\(prefix)/\(item.name):latest")
                let expected = try #require(theirs[item.name])
                #expect(ours == expected, "\(item.name) (\(transport)): \(Oracle.difference(ours, expected))")
            }
        }
    }

    @Test func theCorpusCoversEnough() {
        #expect(Corpus.cases.count >= 40)
        #expect(Set(Corpus.cases.map(\.name)).count == Corpus.cases.count)
    }
}

enum Oracle {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The release binary `scripts/test` built (the one users get).
    static var strata: String {
        ProcessInfo.processInfo.environment["STRATA_BINARY"] ?? repository.appendingPathComponent(".build/release/strata").path
    }

    /// The docker CLI for the engine: STRATA_DOCKER_CLI, which `scripts/test` sets (Docker
    /// 28.4's BuildKit needs a CLI with buildx; Debian's 20.10 CLI fails there on a non-ASCII
    /// file name), else Debian's.
    static var docker: String {
        ProcessInfo.processInfo.environment["STRATA_DOCKER_CLI"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/docker"
    }

    static var dockerHost: String {
        ProcessInfo.processInfo.environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "unix:///tmp/strata-bench/engine/docker.sock"
    }

    static func run(_ executable: String, _ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["DOCKER_HOST"] = dockerHost
        environment["GITHUB_ACTIONS"] = nil
        environment.merge(extra) { _, new in new }
        let result = try ChildProcess.run(executable, arguments, environment: environment, timeout: .seconds(900))
        return Result(status: result.signaled ? 128 + result.status : result.status, stdout: result.output,
                      stderr: result.errorOutput)
    }

    static func requireEngine() throws {
        try #require(FileManager.default.isExecutableFile(atPath: strata),
                     "no release strata at \(strata): run scripts/test, or swift build -c release first")
        let ping = try run(docker, ["version", "--format", "{{.Server.APIVersion}}"])
        try #require(ping.status == 0, "no Docker engine at \(dockerHost): run scripts/test, which starts one (\(ping.stderr))")
    }

    /// `DOCKER_BUILDKIT=1 docker build --no-cache` of `item` in `fleet`, tagged
    /// `<registry>/docker-<name>:<tag>`; a case built on another gets that case's image of the
    /// same tag as `PARENT`.
    static func dockerBuild(_ item: CorpusCase, fleet: String, registry: String, tag: String) throws
        -> (result: Result, reference: String) {
        let reference = "\(registry)/docker-\(item.name):\(tag)"
        var arguments = ["build", "--quiet", "--no-cache", "--network", "host", "-t", reference]
        if let target = item.target { arguments += ["--target", target] }
        for (name, value) in item.args.sorted(by: { $0.key < $1.key }) { arguments += ["--build-arg", "\(name)=\(value)"] }
        if let parent = item.parent { arguments += ["--build-arg", "PARENT=\(registry)/docker-\(parent):\(tag)"] }
        let result = try run(docker, arguments + [fleet + "/" + item.name], environment: ["DOCKER_BUILDKIT": "1"])
        return (result, reference)
    }

    /// One folder per case and a strata.yaml naming them all.
    static func writeFleet(_ cases: [CorpusCase]) throws -> String {
        let root = FileManager.default.temporaryDirectory.path + "/strata-diff-" + UUID().uuidString
        var manifest = "defaults:\n  network: host\nimages:\n"
        for item in cases {
            let folder = root + "/" + item.name
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(item.dockerfile.utf8).write(to: URL(fileURLWithPath: folder + "/Dockerfile"))
            for (path, text) in item.files {
                let full = folder + "/" + path
                try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try Data(text.utf8).write(to: URL(fileURLWithPath: full))
            }
            if !item.setup.isEmpty {
                let setup = try ChildProcess.run("/bin/sh", ["-ec", item.setup], directory: folder, timeout: .seconds(60))
                try #require(setup.status == 0, "\(item.name) setup: \(setup.errorOutput)")
            }
            manifest += "  \(item.name):\n    context: \(item.name)\n"
            if let target = item.target { manifest += "    target: \(target)\n" }
            if !item.args.isEmpty {
                manifest += "    args: {" + item.args.sorted { $0.key < $1.key }.map { "\($0.key): \"\($0.value)\"" }
                    .joined(separator: ", ") + "}\n"
            }
        }
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: root + "/strata.yaml"))
        return root
    }

    /// Every file of the image's file system, one line each: path, type, mode, uid, gid,
    /// size and sha256 (from `docker export` of a container created from it, never started).
    static func listing(_ image: String) throws -> String {
        let script = """
            set -euo pipefail
            id=$("$DOCKER" create "$1" /bin/true)
            trap '"$DOCKER" rm "$id" >/dev/null' EXIT
            "$DOCKER" export "$id" | python3 -c '
            import hashlib, sys, tarfile
            rows = []
            with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as archive:
                for member in archive:
                    digest = ""
                    if member.isfile():
                        digest = hashlib.sha256(archive.extractfile(member).read()).hexdigest()
                    kind = "f" if member.isfile() else "d" if member.isdir() else "l->" + member.linkname if member.issym() \\
                        else "h->" + member.linkname if member.islnk() else "o"
                    rows.append("\\t".join([member.name.rstrip("/"), kind, oct(member.mode), str(member.uid), str(member.gid),
                                           str(member.size if member.isfile() else 0), digest]))
            print("\\n".join(sorted(rows)))
            '
            """
        let result = try run("/bin/bash", ["-c", script, "listing", image], environment: ["DOCKER": docker])
        try #require(result.status == 0, "listing \(image): \(result.stderr)")
        return result.stdout
    }

    /// The lines only one side has, for the failure message.
    static func difference(_ ours: String, _ theirs: String) -> String {
        let a = Set(ours.split(separator: "\n")), b = Set(theirs.split(separator: "\n"))
        let onlyOurs = a.subtracting(b).sorted().prefix(8).map { "strata only: \($0)" }
        let onlyTheirs = b.subtracting(a).sorted().prefix(8).map { "docker only: \($0)" }
        return (onlyOurs + onlyTheirs).joined(separator: "\n")
    }

    /// Untags every engine image under `prefix`.
    static func removeImages(under prefix: String) {
        guard let listed = try? run(docker, ["images", "--format", "{{.Repository}}:{{.Tag}}"]) else { return }
        let references = listed.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix + "/") }
        if !references.isEmpty { _ = try? run(docker, ["rmi"] + references) }
    }
}
