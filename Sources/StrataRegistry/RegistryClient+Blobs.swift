import Foundation
import StrataHTTP
import StrataHash

extension RegistryClient {
    /// `HEAD /v2/<repository>/blobs/<digest>`: the blob's size when the
    /// repository has it, nil when it does not.
    public func blobSize(repository: String, digest: Digest) async throws -> Int64? {
        try await retryPolicy.run { _ in try await headBlob(repository: repository, digest: digest) }
    }

    /// One HEAD, without retries (for loops that already retry).
    func headBlob(repository: String, digest: Digest) async throws -> Int64? {
        let call = Call(
            method: "HEAD", url: try url(repository, "blobs/\(digest)"), scopes: [.pull(repository)],
            target: target(repository, digest.description), accept: [200, 404], followRedirects: true)
        let response = try await attempt(call)
        guard response.status == 200 else { return nil }
        return response.headers["Content-Length"].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) } ?? -1
    }

    /// Downloads a blob into `path`, hashing every byte as it arrives: the file
    /// appears (atomically, by rename) only when the bytes match `digest`
    /// (and `size`, when given). A broken connection resumes with a `Range`
    /// request where the registry allows it; a mismatch removes the partial file.
    public func pullBlob(repository: String, digest: Digest, size: Int64? = nil, to path: String) async throws {
        let target = target(repository, digest.description)
        let partial = path + ".partial-" + UUID().uuidString.prefix(8)
        guard FileManager.default.createFile(atPath: partial, contents: nil), let file = FileHandle(forWritingAtPath: partial) else {
            throw Registry.Error.fileSystem(path: partial, reason: "cannot create the download file")
        }
        var finished = false
        defer {
            try? file.close()
            if !finished { try? FileManager.default.removeItem(atPath: partial) }
        }
        var hasher = try SHA256Hasher()
        var received: Int64 = 0
        let blobURL = try url(repository, "blobs/\(digest)")
        try await retryPolicy.run { progress in
            var call = Call(
                method: "GET", url: blobURL, scopes: [.pull(repository)], target: target, accept: [200, 206],
                followRedirects: true, bulk: true)
            if received > 0 { call.headers.set("Range", "bytes=\(received)-") }
            let response = try await attempt(call)
            if response.status == 200 && received > 0 {
                // The registry ignored the range: start over.
                try file.truncate(atOffset: 0)
                hasher = try SHA256Hasher()
                received = 0
            }
            do {
                for try await chunk in response.body {
                    try write(chunk, to: file, path: partial)
                    try hasher.update(chunk)
                    received += Int64(chunk.count)
                    if let size, received > size {
                        throw Registry.Error.sizeMismatch(target: target, expected: size, actual: received)
                    }
                    progress.reset()
                }
            } catch let error as HTTPError {
                throw Registry.Error.transport(target: target, underlying: error)
            }
        }
        let actual = try hasher.finalize()
        guard actual == digest else {
            throw Registry.Error.digestMismatch(target: target, expected: digest.description, actual: actual.description)
        }
        if let size, received != size {
            throw Registry.Error.sizeMismatch(target: target, expected: size, actual: received)
        }
        do {
            try file.synchronize()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            throw Registry.Error.fileSystem(path: path, reason: "cannot move the download into place: \(error.localizedDescription)")
        }
        finished = true
    }

    /// A small blob (an image config) in memory, verified against `digest`.
    public func blob(repository: String, digest: Digest, limit: Int = 16 << 20) async throws -> [UInt8] {
        let call = Call(
            method: "GET", url: try url(repository, "blobs/\(digest)"), scopes: [.pull(repository)],
            target: target(repository, digest.description), followRedirects: true)
        let response = try await send(call, bodyLimit: limit)
        let actual = try SHA256.hash(response.body)
        guard actual == digest else {
            throw Registry.Error.digestMismatch(target: call.target, expected: digest.description, actual: actual.description)
        }
        return response.body
    }

    private func write(_ chunk: [UInt8], to file: FileHandle, path: String) throws {
        do {
            try file.write(contentsOf: chunk)
        } catch {
            throw Registry.Error.fileSystem(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
