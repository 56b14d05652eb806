import Foundation
import StrataCache
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL at any moment leaves the cache usable: every write is a temporary file renamed
/// into place (STYLE.md 12), so a killed `plan` (writing the file-hash index) or a killed
/// `cache gc` (removing records, pointers and blobs) leaves either the old or the new file,
/// and `cache verify` finds nothing wrong.
@Suite(.serialized) struct KillSafetyTests {
    /// A fleet of four images over 3,000 files (`COPY . …`, so every file is keyed).
    static func generateFleet(in folder: TemporaryFolder) throws {
        try folder.write("strata.yaml", """
            images:
              base: {context: base}
              mid: {context: mid}
              leaf-a: {context: leaf-a}
              leaf-b: {context: leaf-b}
            """)
        try folder.write("base/Dockerfile", "FROM busybox:1.36\nCOPY . /opt/base/\n")
        try folder.write("mid/Dockerfile", "FROM base\nCOPY . /opt/mid/\n")
        try folder.write("leaf-a/Dockerfile", "FROM mid\nCOPY . /opt/leaf/\n")
        try folder.write("leaf-b/Dockerfile", "FROM mid\nCOPY . /opt/leaf/\n")
        let counts = ["base": 1000, "mid": 1000, "leaf-a": 500, "leaf-b": 500]
        for (context, count) in counts {
            for index in 0..<count {
                try folder.write("\(context)/d\(index % 20)/f\(index).txt", String(repeating: "\(context) \(index)\n", count: 40))
            }
        }
    }

    /// Node → key from `plan --format json`.
    static func keys(_ result: StrataBinary.Result) throws -> [String: String] {
        struct Document: Decodable { struct Node: Decodable { var node: String; var key: String }; var nodes: [Node] }
        let document = try JSONDecoder().decode(Document.self, from: Data(result.stdout.utf8))
        return Dictionary(uniqueKeysWithValues: document.nodes.map { ($0.node, $0.key) })
    }

    /// Old records for `gc` to remove, with pointers and unreferenced blobs.
    static func seed(_ cache: CacheDirectory, round: Int) throws {
        for index in 0..<150 {
            let inputs = KeyInputs(dockerfile: "sha256:" + String(repeating: "a", count: 64),
                                   context: "sha256:\(round)-\(index)", contextMode: "whole")
            try cache.record(KeyRecord(key: try inputs.key, node: "old-\(index % 40)", image: "old-\(index % 40)",
                                       created: Date(timeIntervalSince1970: 1_000_000 + Double(index)),
                                       size: 1000, inputs: inputs))
        }
        for index in 0..<100 {
            _ = try cache.writeBlob(Array("round \(round) blob \(index)\n".utf8))
        }
    }

    @Test func sigkillDuringPlanAndGCLeavesAVerifiableCache() throws {
        let fleet = try TemporaryFolder()
        try Self.generateFleet(in: fleet)
        let scratch = try TemporaryFolder()
        let referenceCache = scratch.path + "/reference", cachePath = scratch.path + "/killed"

        let reference = try StrataBinary.run(["-C", fleet.path, "--cache", referenceCache, "plan", "--format", "json"])
        try #require(reference.status == 0, "\(reference.stderr)")
        let expected = try Self.keys(reference)
        #expect(expected.count == 4)

        var random = SplitMix64(seed: 0x5EED_2026)
        var killed = 0
        for iteration in 0..<30 {
            // Changed files make the next plan hash and rewrite the file-hash index.
            for _ in 0..<40 {
                let context = ["base", "mid", "leaf-a", "leaf-b"].randomElement(using: &random)!
                let index = Int.random(in: 0..<500, using: &random)
                try fleet.write("\(context)/d\(index % 20)/f\(index).txt", "changed in round \(iteration)\n")
            }
            let delay = UInt32.random(in: 0...150_000, using: &random)
            let run = try StrataBinary.Running(["-C", fleet.path, "--cache", cachePath, "plan", "--format", "json"],
                                               in: nil, environment: [:])
            usleep(delay)
            run.kill()
            let result = try run.wait()
            if result.signaled { killed += 1 } else { #expect(result.status == 0, "\(result.stderr)") }

            if iteration % 3 == 2 {
                try Self.seed(CacheDirectory(path: cachePath), round: iteration)
                let gc = try StrataBinary.Running(["--cache", cachePath, "cache", "gc", "--max-age", "1"],
                                                  in: nil, environment: [:])
                usleep(UInt32.random(in: 0...100_000, using: &random))
                gc.kill()
                let gcResult = try gc.wait()
                if gcResult.signaled { killed += 1 } else { #expect(gcResult.status == 0, "\(gcResult.stderr)") }
            }

            let verify = try StrataBinary.run(["--cache", cachePath, "cache", "verify"])
            #expect(verify.status == 0, "after round \(iteration): \(verify.stdout)\(verify.stderr)")
        }
        // Most runs must really have been cut short, or the test proves little.
        #expect(killed >= 10, "only \(killed) processes were killed")

        // Put every file back as the generator wrote it; the keys must be the unkilled run's.
        try Self.generateFleet(in: fleet)
        let final = try StrataBinary.run(["-C", fleet.path, "--cache", cachePath, "plan", "--format", "json"])
        try #require(final.status == 0, "\(final.stderr)")
        #expect(try Self.keys(final) == expected)
        let verify = try StrataBinary.run(["--cache", cachePath, "cache", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.hasPrefix("cache OK: "))
    }
}
