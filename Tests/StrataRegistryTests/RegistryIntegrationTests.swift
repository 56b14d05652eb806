import Foundation
import StrataProcess
import StrataHTTP
import StrataHash
import Testing
@testable import StrataRegistry

/// A small image: a config, a 9 MiB layer (pushed in 2 MiB chunks), a
/// 100 KiB layer (monolithic), its OCI manifest and an index over it.
struct TestImage {
    let config: [UInt8]
    let configDigest: Digest
    let big: (path: String, digest: Digest)
    let small: (path: String, digest: Digest)
    static let bigSize = 9 << 20
    static let smallSize = 100 << 10

    init(in directory: TempDirectory, seed: UInt64) throws {
        config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":\#(seed)}"#.utf8)
        configDigest = try SHA256.hash(config)
        big = try directory.randomFile("big-\(seed)", size: Self.bigSize, seed: seed)
        small = try directory.randomFile("small-\(seed)", size: Self.smallSize, seed: seed &+ 1)
    }

    var manifest: ImageManifest {
        ImageManifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(config.count)),
            layers: [
                Descriptor(mediaType: MediaType.ociLayerGzip, digest: big.digest, size: Int64(Self.bigSize)),
                Descriptor(mediaType: MediaType.ociLayerGzip, digest: small.digest, size: Int64(Self.smallSize)),
            ])
    }

    /// Pushes the blobs, the manifest under `tag` and an index under `tag-index`.
    @discardableResult
    func push(with client: RegistryClient, to repository: String, tag: String, mountFrom: [String] = [])
        async throws -> (results: [BlobPushResult], manifest: Descriptor, index: Descriptor)
    {
        var results: [BlobPushResult] = []
        results.append(try await client.pushBlob(
            repository: repository, digest: configDigest, size: Int64(config.count), from: .bytes(config), mountFrom: mountFrom))
        results.append(try await client.pushBlob(
            repository: repository, digest: big.digest, size: Int64(Self.bigSize), from: .file(big.path), mountFrom: mountFrom,
            chunkSize: 2 << 20))
        results.append(try await client.pushBlob(
            repository: repository, digest: small.digest, size: Int64(Self.smallSize), from: .file(small.path), mountFrom: mountFrom))
        let manifest = try await client.putManifest(repository: repository, reference: tag, manifest: self.manifest)
        var entry = manifest
        entry.platform = Platform(architecture: "amd64", os: "linux")
        let index = try await client.putIndex(repository: repository, reference: tag + "-index", index: ImageIndex(manifests: [entry]))
        return (results, manifest, index)
    }

    /// Reads everything back and checks it.
    func verify(with client: RegistryClient, in repository: String, tag: String, directory: TempDirectory) async throws {
        let manifest = try await client.manifest(repository: repository, reference: tag)
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(try manifest.decodeManifest() == self.manifest)
        let index = try await client.manifest(repository: repository, reference: tag + "-index")
        #expect(index.isIndex)
        #expect(try index.decodeIndex().manifests.map(\.digest) == [manifest.digest])
        #expect(try await client.manifest(repository: repository, reference: manifest.digest.description).bytes == manifest.bytes)
        #expect(try await client.manifestDescriptor(repository: repository, reference: tag) == manifest.descriptor)
        #expect(try await client.blob(repository: repository, digest: configDigest) == config)
        #expect(try await client.blobSize(repository: repository, digest: big.digest) == Int64(Self.bigSize))
        let copy = directory.path + "/pulled-\(UUID().uuidString.prefix(6))"
        try await client.pullBlob(repository: repository, digest: big.digest, size: Int64(Self.bigSize), to: copy)
        #expect(try SHA256.hashFile(path: copy) == big.digest)
    }
}

@Suite(.serialized) struct RegistryIntegrationTests {
    @Test func pushPullMountAndTagsAgainstTheReferenceRegistry() async throws {
        let directory = try TempDirectory()
        let counting = CountingTransport()
        let client = RegistryClient(host: testRegistry, transport: counting)
        try await client.ping()
        let repository = uniqueRepository("web")
        let image = try TestImage(in: directory, seed: 1)

        let first = try await image.push(with: client, to: repository, tag: "1.0")
        #expect(first.results == [.uploaded, .uploaded, .uploaded])
        // The big layer went in 5 PATCHes of at most 2 MiB.
        #expect(counting.uploadRequests.filter { $0.hasPrefix("PATCH") }.count == 5)
        try await image.verify(with: client, in: repository, tag: "1.0", directory: directory)

        counting.reset()
        let second = try await image.push(with: client, to: repository, tag: "1.1")
        #expect(second.results == [.alreadyPresent, .alreadyPresent, .alreadyPresent])
        #expect(counting.uploadRequests.isEmpty)
        #expect(second.manifest == first.manifest)

        let other = uniqueRepository("api")
        let mounted = try await image.push(with: client, to: other, tag: "1.0", mountFrom: [repository])
        #expect(mounted.results == Array(repeating: .mounted(from: repository), count: 3))
        #expect(counting.uploadRequests.allSatisfy { $0.hasPrefix("POST") && $0.contains("mount=") })

        #expect(try await client.tags(repository: repository).sorted() == ["1.0", "1.0-index", "1.1", "1.1-index"])
        #expect(try await client.tags(repository: repository, pageSize: 1).sorted() == ["1.0", "1.0-index", "1.1", "1.1-index"])
    }

    /// skopeo, an independent client, reads back what strata pushed: the same
    /// manifest bytes, and a full copy of the index (every digest verified).
    @Test func skopeoReadsWhatWasPushed() async throws {
        let directory = try TempDirectory()
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("interop")
        let image = try TestImage(in: directory, seed: 4)
        let pushed = try await image.push(with: client, to: repository, tag: "1.0")
        let raw = try runSkopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(testRegistry)/\(repository):1.0"])
        #expect(try SHA256.hash(raw) == pushed.manifest.digest)
        _ = try runSkopeo([
            "copy", "--all", "--preserve-digests", "--quiet", "--src-tls-verify=false", "docker://\(testRegistry)/\(repository):1.0-index",
            "oci:\(directory.path)/layout:copy",
        ])
        let blobs = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/layout/blobs/sha256")
        #expect(Set(blobs) == Set([image.configDigest, image.big.digest, image.small.digest, pushed.manifest.digest, pushed.index.digest].map(\.hex)))
    }

    private func runSkopeo(_ arguments: [String]) throws -> [UInt8] {
        let result = try ChildProcess.run("/usr/bin/skopeo", arguments, timeout: .seconds(600))
        guard result.succeeded else {
            throw TestFailure("skopeo \(arguments.joined(separator: " ")): \(result.errorOutput)")
        }
        return result.stdout
    }

    @Test func missingThingsSayWhatIsMissing() async throws {
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("missing")
        let error = await #expect(throws: Registry.Error.self) { _ = try await client.manifest(repository: repository, reference: "nope") }
        #expect(String(describing: try #require(error)) == "\(testRegistry)/\(repository):nope: manifest unknown (404)")
        #expect(try await client.manifestDescriptor(repository: repository, reference: "nope") == nil)
        #expect(try await client.blobSize(repository: repository, digest: SHA256.hash([0])) == nil)
    }

    /// Two platforms of one image share layers and push at once: one blob, one upload.
    @Test func oneBlobPushedToOneRepositoryAtOnceIsUploadedOnce() async throws {
        let directory = try TempDirectory()
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("same-blob")
        let blob = try directory.randomFile("shared", size: 3 << 20, seed: 77)
        let results = try await withThrowingTaskGroup(of: BlobPushResult.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await client.pushBlob(repository: repository, digest: blob.digest, size: 3 << 20, from: .file(blob.path))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.filter { $0 == .uploaded }.count == 1, "\(results)")
        #expect(results.filter { $0 == .alreadyPresent }.count == 5, "\(results)")
        #expect(try await client.blobSize(repository: repository, digest: blob.digest) == 3 << 20)
    }

    @Test func aDownloadThatDoesNotMatchItsDigestLeavesNoFile() async throws {
        let directory = try TempDirectory()
        let client = RegistryClient(host: testRegistry)
        let repository = uniqueRepository("mismatch")
        let bytes = Array("some bytes".utf8)
        let digest = try SHA256.hash(bytes)
        _ = try await client.pushBlob(repository: repository, digest: digest, size: Int64(bytes.count), from: .bytes(bytes))
        // Ask with a wrong expected size: the registry serves the blob, the size check refuses it.
        let target = directory.path + "/blob"
        await #expect(throws: Registry.Error.self) {
            try await client.pullBlob(repository: repository, digest: digest, size: 3, to: target)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
        // A blob pushed under a digest that is not its own is refused by the registry.
        let lie = try SHA256.hash([1])
        let error = await #expect(throws: Registry.Error.self) {
            _ = try await client.pushBlob(repository: repository, digest: lie, size: Int64(bytes.count), from: .bytes(bytes))
        }
        #expect(error?.codes == ["DIGEST_INVALID"])
    }

    @Test func htpasswdRegistryWithConfigJSONCredentials() async throws {
        let bench = try Bench("htpasswd", "alice", "htpasswd-secret-42")
        let directory = try TempDirectory()
        let auth = Data("alice:htpasswd-secret-42".utf8).base64EncodedString()
        try directory.write("config.json", #"{"auths": {"\#(bench.registry)": {"auth": "\#(auth)"}}}"#)
        let credentials = try CredentialResolver(environment: ["DOCKER_CONFIG": directory.path]).credentials(for: bench.registry)
        #expect(credentials?.username == "alice")

        let client = RegistryClient(host: bench.registry, credentials: credentials)
        try await client.ping()
        let repository = uniqueRepository("basic")
        let image = try TestImage(in: directory, seed: 2)
        try await image.push(with: client, to: repository, tag: "1.0")
        try await image.verify(with: client, in: repository, tag: "1.0", directory: directory)

        let wrong = RegistryClient(host: bench.registry, credentials: Credentials(username: "alice", password: "wrong-password-7"))
        let error = await #expect(throws: Registry.Error.self) { _ = try await wrong.tags(repository: repository) }
        let text = String(describing: try #require(error))
        #expect(text.hasPrefix("\(bench.registry): authentication failed for user alice (401)"))
        #expect(!text.contains("wrong-password-7"))

        let anonymous = RegistryClient(host: bench.registry)
        let refused = await #expect(throws: Registry.Error.self) { try await anonymous.ping() }
        #expect(String(describing: try #require(refused)).contains("no credentials found"))
    }

    @Test func tokenRegistryGrantsScopesPerRepository() async throws {
        let bench = try Bench("token", "alice", "token-secret-42")
        let directory = try TempDirectory()
        let client = RegistryClient(host: bench.registry, credentials: Credentials(username: "alice", password: "token-secret-42"))
        try await client.ping()
        let base = uniqueRepository("base")
        let web = uniqueRepository("web")
        let image = try TestImage(in: directory, seed: 3)
        try await image.push(with: client, to: base, tag: "1.0")
        let mounted = try await image.push(with: client, to: web, tag: "1.0", mountFrom: [base])
        #expect(mounted.results == Array(repeating: .mounted(from: base), count: 3))
        try await image.verify(with: client, in: web, tag: "1.0", directory: directory)

        struct Request: Decodable {
            var user: String?
            var scopes: [String]
        }
        let log = try JSONDecoder().decode([Request].self, from: Data(try await bench.get(try #require(bench.tokenServer) + "/log")))
        #expect(log.allSatisfy { $0.user == "alice" })
        #expect(log.contains { $0.scopes == ["repository:\(base):pull", "repository:\(web):pull,push"] })
        // Tokens are reused: a handful of token requests for dozens of registry requests.
        #expect(log.count <= 6)

        // Anonymous clients get pull only: pushing is refused with a clear error.
        let anonymous = RegistryClient(host: bench.registry)
        #expect(try await anonymous.manifest(repository: web, reference: "1.0").descriptor == mounted.manifest)
        let denied = await #expect(throws: Registry.Error.self) {
            try await anonymous.putManifest(repository: web, reference: "2.0", manifest: image.manifest)
        }
        #expect(String(describing: try #require(denied)).contains("\(bench.registry)"))

        let wrong = RegistryClient(host: bench.registry, credentials: Credentials(username: "alice", password: "bad-token-pass"))
        let error = await #expect(throws: Registry.Error.self) { _ = try await wrong.tags(repository: web) }
        let text = String(describing: try #require(error))
        #expect(text.hasPrefix("\(bench.registry): authentication failed for user alice (401)"))
        #expect(!text.contains("bad-token-pass"))
        #expect(!text.contains(Data("alice:bad-token-pass".utf8).base64EncodedString()))
    }

    @Test(arguments: [7, 11] as [UInt64])
    func uploadsAndDownloadsSurviveAFaultyProxy(seed: UInt64) async throws {
        let bench = try Bench("proxy", testRegistry, String(seed), "0.2")
        let directory = try TempDirectory()
        let client = RegistryClient(host: bench.registry, retryPolicy: patientPolicy)
        let repository = uniqueRepository("faulty")
        let image = try TestImage(in: directory, seed: 10 + seed)
        try await image.push(with: client, to: repository, tag: "1.0")
        try await image.verify(with: client, in: repository, tag: "1.0", directory: directory)
        for round in 0..<3 {
            let path = directory.path + "/round-\(round)"
            try await client.pullBlob(repository: repository, digest: image.big.digest, to: path)
            #expect(try SHA256.hashFile(path: path) == image.big.digest)
        }

        let counts = try JSONSerialization.jsonObject(with: Data(try await bench.get("http://\(bench.registry)/__faults"))) as? [String: Int]
        let faults = (counts?["500"] ?? 0) + (counts?["429"] ?? 0) + (counts?["drop"] ?? 0) + (counts?["cut"] ?? 0)
        #expect(faults >= 3, "the proxy injected \(counts ?? [:])")
    }
}
