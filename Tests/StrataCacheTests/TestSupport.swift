#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import StrataHash
@testable import StrataCache

/// A fresh temporary directory holding a cache at `<dir>/cache`, removed when released.
final class CacheFixture {
    let root: String
    let cache: CacheDirectory

    init() throws {
        var template = Array("/tmp/strata-cache-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp: errno \(errno)")
        }
        root = String(cString: created)
        cache = try CacheDirectory(path: root + "/cache")
    }

    deinit { _ = system("rm -rf '\(root)'") }

    /// Reads a file of the cache.
    func read(_ relative: String) throws -> [UInt8] {
        guard let bytes = try FileSystem.readFile(cache.path + "/" + relative) else { throw TestFailure("\(relative) is missing") }
        return bytes
    }

    /// Overwrites a file of the cache in place (not atomically: this is the damage).
    func overwrite(_ relative: String, _ bytes: [UInt8]) throws {
        let descriptor = open(cache.path + "/" + relative, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw TestFailure("open \(relative): errno \(errno)") }
        defer { close(descriptor) }
        guard FileSystem.writeAll(bytes[...], to: descriptor) == nil else { throw TestFailure("write \(relative): errno \(errno)") }
    }

    /// Sets a file's mtime `seconds` before now.
    func age(_ relative: String, by seconds: Int) throws {
        let then = timespec(tv_sec: time(nil) - seconds, tv_nsec: 0)
        var times = [then, then]
        guard utimensat(AT_FDCWD, cache.path + "/" + relative, &times, 0) == 0 else { throw TestFailure("utimensat: errno \(errno)") }
    }

    /// Stores a small image (config, `layers` layers, OCI manifest) and returns
    /// its manifest descriptor, annotated with `key`; nothing is added to index.json.
    func storeImage(key: String, name: String, layers: [String]) throws -> (manifest: OCIDescriptor, blobs: [Digest]) {
        let config = try cache.writeBlob(Array(#"{"architecture":"amd64","os":"linux","image":"\#(name)"}"#.utf8))
        let stored = try layers.map { try cache.writeBlob(Array($0.utf8)) }
        let layerJSON = stored.map { #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#($0.digest)","size":\#($0.size)}"# }
        let manifest = #"{"schemaVersion":2,"mediaType":"\#(OCIMediaType.imageManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(config.digest)","size":\#(config.size)},"layers":[\#(layerJSON.joined(separator: ","))]}"#
        let written = try cache.writeBlob(Array(manifest.utf8))
        let descriptor = OCIDescriptor(
            mediaType: OCIMediaType.imageManifest, digest: written.digest, size: written.size,
            annotations: [OCIDescriptor.refNameAnnotation: name, OCIDescriptor.keyAnnotation: key]
        )
        return (descriptor, [written.digest, config.digest] + stored.map(\.digest))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Inputs that differ by `seed`.
func sampleInputs(_ seed: Int, parents: [ParentKey] = []) throws -> KeyInputs {
    KeyInputs(
        dockerfile: try SHA256.hash(Array("FROM scratch # \(seed)".utf8)).description,
        context: try SHA256.hash(Array("context \(seed)".utf8)).description,
        contextMode: "precise",
        args: ["PYTHON_VERSION": "3.12", "URL": "https://example.com/a/b"],
        unsetArgs: ["ZED", "ALPHA"],
        platform: "linux/amd64",
        labels: ["org.opencontainers.image.source": "https://github.com/acme/fleet"],
        parents: parents,
        bases: ["docker.io/library/python:3.12@sha256:" + String(repeating: "ab", count: 32)]
    )
}

/// A consistent record for `node` built from `sampleInputs(seed)`.
func sampleRecord(node: String, seed: Int, created: Date = Date(timeIntervalSince1970: 1_700_000_000), size: Int64? = 1000) throws -> KeyRecord {
    let inputs = try sampleInputs(seed)
    return KeyRecord(
        key: try inputs.key, node: node, image: node.split(separator: "@").first.map(String.init) ?? node,
        platform: "linux/amd64", created: created, imageID: "sha256:" + String(repeating: "cd", count: 32), size: size,
        inputs: inputs, files: ["app/main.py": "sha256:" + String(repeating: "ef", count: 32), "lib": "dir", "current": "link:lib"]
    )
}
