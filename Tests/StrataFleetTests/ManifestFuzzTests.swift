import Foundation
import Testing
@testable import StrataFleet

/// Mutations aimed at YAML's structure: indentation, flow collections, anchors, tags,
/// quotes, and the keys strata reads.
struct ManifestMutator {
    static let tokens: [[UInt8]] = [
        ":", ": ", "-", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "&a", "<<: *a\n", "!!", "!!str ", "!!int ",
        "!!binary ", "!!map ", "!custom ", "\t", "'", "\"", "\"a\\nb\": x\n", "\\", "|", ">", "|-\n", "? ", "#",
        "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x:\n", "~", "null", "\r\n", "\r", "\u{FEFF}", "\u{0085}",
        "\n", "  ", "\u{00e9}", "\u{1F600}", "@", "`", "%", "0x1F", "1e999", "yes", "&b [*b]",
        "images:", "context:", "variants:", "include:", "discover:", "glob: ", "args:", "- glob: *\n",
        "include: [strata.yaml]\n", "include: [with-includes.yaml]\n", "../", "/", "*", "**", "[a-", "{a: [b, {c: d}]}",
    ].map { Array($0.utf8) }

    var rng: SplitMix64

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:
                bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            case 1 where at < bytes.count:
                bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &rng)))
            case 2 where at < bytes.count:
                bytes[at] = UInt8.random(in: 0...127, using: &rng)
            case 3:
                let (start, end) = line(around: at, in: bytes)
                bytes.insert(contentsOf: bytes[start..<end], at: start)
            case 4:
                let (start, end) = line(around: at, in: bytes)
                bytes.removeSubrange(start..<end)
            case 5:
                // Indent or dedent a line by one or two columns.
                let (start, _) = line(around: at, in: bytes)
                if Bool.random(using: &rng) {
                    bytes.insert(contentsOf: Array(repeating: UInt8(ascii: " "), count: Int.random(in: 1...2, using: &rng)), at: start)
                } else if start < bytes.count, bytes[start] == UInt8(ascii: " ") {
                    bytes.remove(at: start)
                }
            case 6:
                // Move a block of lines elsewhere: keys under the wrong parent.
                let (start, end) = line(around: at, in: bytes)
                let block = Array(bytes[start..<end])
                bytes.removeSubrange(start..<end)
                let (to, _) = line(around: Int.random(in: 0...bytes.count, using: &rng), in: bytes)
                bytes.insert(contentsOf: block, at: to)
            default:
                bytes.insert(contentsOf: Self.tokens.randomElement(using: &rng) ?? [], at: at)
            }
        }
        return bytes
    }

    /// The line holding byte `at`: its start and the index after its newline.
    private func line(around at: Int, in bytes: [UInt8]) -> (Int, Int) {
        let at = min(at, bytes.count)
        let start = bytes[..<at].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        let end = bytes[at...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.count
        return (start, end)
    }
}

/// `ManifestLoader.load` on mutated real manifests: it returns a manifest or throws a
/// `Manifest.Error` whose description is one line, and never crashes or hangs.
@Suite struct ManifestFuzzTests {
    static let compose = """
        # A compose file as teams write them: services with and without build sections.
        x-common: &common
          restart: unless-stopped
          environment:
            LOG_LEVEL: info
        services:
          web:
            <<: *common
            build:
              context: services/web/web-api
              dockerfile: Dockerfile
              target: runtime
              args:
                PORT: "8080"
            image: ghcr.io/acme/web:1.2
            ports: ["8080:8080"]
          docs:
            build: services/web/docs-site
            image: ghcr.io/acme/docs
            platform: linux/amd64
          worker:
            build:
              context: .
              dockerfile: services/model_ops/Dockerfile.optimized
              args: [MACHINE=mainpc, "TORCH_CUDA_ARCH_LIST=8.9", HOME]
              labels: {team: ml}
          db:
            image: postgres:16
        volumes:
          data: {}
        """

    static let withIncludes = """
        registry: ghcr.io/acme
        cache: .strata-cache
        remote_cache: true
        defaults:
          platforms: [linux/amd64, linux/arm64]
          args: {PYTHON_VERSION: "3.11"}
          labels: {org.opencontainers.image.source: "https://github.com/acme/fleet"}
          network: host
        include: [more/variants.yaml, more/images.yaml]
        images:
          base-python:
            context: base/base-python
            tags: ["3.11", latest]
        discover:
          - glob: services/gpu/*/Dockerfile
            variants: [machine]
            args: {EXTRA: "1"}
        """

    static let includedImages = """
        images:
          base-utils:
            context: ../base/base-utils
            from: base-python
          model-ops:
            context: ../services/model_ops
            dockerfile: ../services/model_ops/Dockerfile.optimized
            target: runtime
            args: {PORT: 7212}
            variants: machine
        include: [nested/deeper.yaml]
        """

    static let includedVariants = """
        variants:
          machine:
            mainpc: {args: {MACHINE: mainpc, TORCH_CUDA_ARCH_LIST: "8.9"}}
            pc2:
              args:
                MACHINE: pc2
              labels: {gpu: "8.6"}
        """

    /// The fuzz target: where mutated bytes are written, and the manifest then loaded.
    struct Target {
        var written: String
        var loaded: String
        var original: [UInt8]
    }

    static var iterations: Int {
        ProcessInfo.processInfo.environment["STRATA_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 100_000
    }

    @Test func mutatedManifestsLoadOrFailInOneLine() throws {
        let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("images").path
        let demo = try String(contentsOfFile: images + "/strata.yaml", encoding: .utf8)
        // The demo fleet's folders, so `discover:` globs and `include:` paths find real files.
        let tree = try TempTree([
            "docker-compose.yml": Self.compose,
            "with-includes.yaml": Self.withIncludes,
            "fixed-includes.yaml": Self.withIncludes,
            "more/images.yaml": Self.includedImages,
            "more/variants.yaml": Self.includedVariants,
            "more/nested/deeper.yaml": "images:\n  deeper:\n    context: ../../services/gpu/chat\n",
        ])
        for folder in try FileManager.default.contentsOfDirectory(atPath: images) where folder != "strata.yaml" {
            try FileManager.default.copyItem(atPath: images + "/" + folder, toPath: tree.path(folder))
        }
        let targets = [
            Target(written: tree.path("strata.yaml"), loaded: tree.path("strata.yaml"), original: Array(demo.utf8)),
            Target(written: tree.path("docker-compose.yml"), loaded: tree.path("docker-compose.yml"), original: Array(Self.compose.utf8)),
            Target(written: tree.path("with-includes.yaml"), loaded: tree.path("with-includes.yaml"), original: Array(Self.withIncludes.utf8)),
            Target(written: tree.path("more/images.yaml"), loaded: tree.path("fixed-includes.yaml"), original: Array(Self.includedImages.utf8)),
            Target(written: tree.path("more/variants.yaml"), loaded: tree.path("fixed-includes.yaml"), original: Array(Self.includedVariants.utf8)),
        ]
        // Every original loads.
        for target in targets {
            try Data(target.original).write(to: URL(fileURLWithPath: target.written))
            _ = try ManifestLoader.load(path: target.loaded)
        }

        var mutator = ManifestMutator(rng: SplitMix64(seed: 0x57A7A_F022))
        var loaded = 0, refused = 0
        var multiLine: [String] = []
        let started = ContinuousClock.now
        for iteration in 0..<Self.iterations {
            let target = targets[iteration % targets.count]
            let bytes = mutator.mutate(target.original)
            try Data(bytes).write(to: URL(fileURLWithPath: target.written))
            do {
                _ = try ManifestLoader.load(path: target.loaded)
                loaded += 1
            } catch {
                refused += 1
                let text = error.description
                if text.contains(where: \.isNewline), multiLine.count < 5 {
                    multiLine.append("iteration \(iteration): \(text.debugDescription)")
                }
            }
            // An included file goes back, so the roots that include it load past it.
            if target.written != target.loaded {
                try Data(target.original).write(to: URL(fileURLWithPath: target.written))
            }
        }
        let elapsed = ContinuousClock.now - started
        print("manifest fuzz: \(Self.iterations) mutations in \(elapsed): \(loaded) loaded, \(refused) refused")
        #expect(multiLine.isEmpty, "\(multiLine.joined(separator: "; "))")
        #expect(loaded + refused == Self.iterations)
        #expect(refused > 0 && loaded > 0)
    }

    /// Ten to the twelfth scalars if aliases were copied: `a(n)` is ten `a(n-1)`s.
    static let aliasBomb = "images:\n  x:\n    context: .\n    labels:\n"
        + (["      a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + (1...12).map { level in
            "      a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]"
        }).joined(separator: "\n") + "\n    tags: *a12\n"

    static let deepFlow: String = "images: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    static let deepBlock: String = "images:\n" + (1..<5000).map { String(repeating: " ", count: $0) + "a\($0):\n" }.joined()
    static let deepArg: String = "defaults:\n  args: " + String(repeating: "{a: ", count: 50_000) + String(repeating: "}", count: 50_000)

    static let pathological: [String: String] = [
        "deep flow nesting": deepFlow,
        "deep block nesting": deepBlock,
        "deep mapping in an arg": deepArg,
        "alias bomb": aliasBomb,
        "alias to itself": "images: &a\n  x: *a\n",
        "key with an escaped newline": "images:\n  \"web\\napi\":\n    context: .\n",
        "value with line breaks in an error": "images:\n  web:\n    context: [\"a\\nb\"]\n",
        "empty file": "",
        "only a comment": "# nothing\n",
        "a scalar document": "just text\n",
        "a list document": "- a\n- b\n",
        "tabs for indentation": "images:\n\tweb:\n\t\tcontext: .\n",
    ]

    /// Named cases: Swift Testing prints each argument, and some texts are 100,000 characters.
    @Test(arguments: pathological.keys.sorted())
    func pathologicalManifests(name: String) throws {
        let text = try #require(Self.pathological[name])
        let tree = try TempTree(["strata.yaml": text])
        do {
            _ = try ManifestLoader.load(path: tree.path("strata.yaml"))
        } catch {
            let breaks = error.description.contains(where: \.isNewline)
            #expect(!breaks, "\(name): \(error.description.debugDescription)")
        }
    }

    @Test func invalidUTF8IsOneLine() throws {
        let tree = try TempTree([:])
        try Data([0x69, 0x6D, 0x61, 0x67, 0x65, 0x73, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: tree.path("strata.yaml")))
        let error = #expect(throws: Manifest.Error.self) { try ManifestLoader.load(path: tree.path("strata.yaml")) }
        #expect(error?.description == "strata.yaml: cannot read the file (is it UTF-8 text?)")
    }
}
