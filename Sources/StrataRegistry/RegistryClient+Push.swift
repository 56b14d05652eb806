import Foundation
import StrataHTTP
import StrataHash

/// Where the bytes of a blob to push come from.
public enum BlobSource: Sendable {
    /// A file, read in chunks as the upload goes (never whole in memory).
    case file(String)
    case bytes([UInt8])

    /// `length` bytes from `offset`, as a request body.
    func body(offset: Int64, length: Int64) -> HTTPBody {
        switch self {
        case .bytes(let bytes):
            return .bytes(Array(bytes[Int(offset)..<Int(offset + length)]))
        case .file(let path):
            return .stream(length: length) { try FileRangeStream(path: path, offset: offset, length: length) }
        }
    }
}

/// What pushing a blob took.
public enum BlobPushResult: Sendable, Equatable {
    /// The repository already had it (HEAD answered 200): nothing sent.
    case alreadyPresent
    /// Mounted from another repository of the same registry: nothing sent.
    case mounted(from: String)
    /// The bytes were uploaded.
    case uploaded
}

extension RegistryClient {
    /// Pushes a blob (distribution spec "Pushing blobs"):
    /// 1. `HEAD`: present → done;
    /// 2. for each repository of `mountFrom`, `POST …/blobs/uploads/?mount=&from=`:
    ///    201 → done; 202 → the registry opened an upload instead;
    /// 3. otherwise `POST …/blobs/uploads/` opens an upload, then either one
    ///    `PUT ?digest=` with the whole body (monolithic; `chunkSize` nil), or
    ///    `PATCH`es of `chunkSize` bytes with `Content-Range` and a final `PUT`.
    ///
    /// After a failed request the upload resumes: `GET` on the upload URL tells
    /// how many bytes the registry holds (`Range: 0-<last>`), and the rest is
    /// sent with `PATCH`. When the registry lost or refused the upload
    /// (404, 400, 416), it starts over — after a `HEAD`, since a final `PUT`
    /// whose answer was lost may have completed it.
    ///
    /// Pushes of one blob to one repository run one after the other (two platforms of an
    /// image share their layers and push at once): the second finds the blob there. Sent
    /// twice at once, the reference registry can refuse one upload as DIGEST_INVALID.
    public func pushBlob(
        repository: String, digest: Digest, size: Int64, from source: BlobSource, mountFrom: [String] = [],
        chunkSize: Int64? = nil
    ) async throws -> BlobPushResult {
        let key = repository + "@" + digest.description
        await blobUploads.acquire(key)
        do {
            let result = try await pushBlobAlone(repository: repository, digest: digest, size: size, from: source,
                                                 mountFrom: mountFrom, chunkSize: chunkSize)
            await blobUploads.release(key)
            return result
        } catch {
            await blobUploads.release(key)
            throw error
        }
    }

    private func pushBlobAlone(
        repository: String, digest: Digest, size: Int64, from source: BlobSource, mountFrom: [String], chunkSize: Int64?
    ) async throws -> BlobPushResult {
        try Task.checkCancellation()
        if try await blobSize(repository: repository, digest: digest) != nil { return .alreadyPresent }
        let upload = Upload(client: self, repository: repository, digest: digest, size: size, source: source)
        var session: (location: String, offset: Int64)?
        var interrupted = false
        var mountsTried = false
        do {
            return try await retryPolicy.run { progress in
                if interrupted {
                    if let current = session {
                        session = try await upload.status(current.location)
                    }
                    if session == nil, try await headBlob(repository: repository, digest: digest) != nil {
                        return .uploaded
                    }
                }
                interrupted = true
                if session == nil {
                    // Mounts are tried until one answers (a transient failure tries them again).
                    if !mountsTried {
                        for other in mountFrom where other != repository {
                            switch try await upload.mount(from: other) {
                            case .mounted: return .mounted(from: other)
                            case .upload(let location): session = (location, 0)
                            }
                            if session != nil { break }
                        }
                        mountsTried = true
                    }
                    if session == nil { session = (try await upload.start(), 0) }
                }
                guard var current = session else { preconditionFailure("an upload session was just opened") }
                do {
                    if chunkSize == nil && current.offset == 0 {
                        try await upload.finish(current.location, body: source.body(offset: 0, length: size), length: size)
                    } else {
                        let step = max(1, chunkSize ?? size - current.offset)
                        while current.offset < size {
                            let length = min(step, size - current.offset)
                            current = try await upload.patch(current.location, offset: current.offset, length: length)
                            session = current
                            progress.reset()
                        }
                        try await upload.finish(current.location, body: .empty, length: 0)
                    }
                } catch let error as Registry.Error where [400, 404, 416].contains(error.status ?? 0) && !error.codes.contains("DIGEST_INVALID") {
                    session = nil
                    throw UploadLost(underlying: error)
                }
                interrupted = false
                return .uploaded
            }
        } catch let lost as UploadLost {
            throw lost.underlying
        }
    }
}

/// The requests of one blob upload; each is a single attempt, the loop in
/// `pushBlob` owns the retries.
struct Upload {
    enum MountResult {
        case mounted
        case upload(location: String)
    }

    let client: RegistryClient
    let repository: String
    let digest: Digest
    let size: Int64
    let source: BlobSource

    var target: String { client.target(repository, digest.description) }

    /// `POST …/blobs/uploads/?mount=<digest>&from=<other>`; needs pull on `other`.
    func mount(from other: String) async throws -> MountResult {
        let url = try client.url(repository, "blobs/uploads/?mount=\(percentEncoded(digest.description))&from=\(percentEncoded(other))")
        _ = try client.url(other, "")
        let call = RegistryClient.Call(
            method: "POST", url: url, scopes: [.push(repository), .pull(other)], target: target, accept: [201, 202])
        let response = try await client.attempt(call)
        _ = try await client.collect(response.body, limit: 64 << 10, target: target)
        if response.status == 201 { return .mounted }
        return .upload(location: try location(response))
    }

    /// `POST …/blobs/uploads/` → 202 with the upload's `Location`.
    func start() async throws -> String {
        let call = RegistryClient.Call(
            method: "POST", url: try client.url(repository, "blobs/uploads/"), scopes: [.push(repository)], target: target,
            accept: [202])
        let response = try await client.attempt(call)
        _ = try await client.collect(response.body, limit: 64 << 10, target: target)
        return try location(response)
    }

    /// `GET <location>` → 204 with `Range: 0-<last>`: where to resume. nil
    /// when the registry no longer has the upload (404) or gave it up (400,
    /// distribution's BLOB_UPLOAD_INVALID after a half-written chunk).
    func status(_ location: String) async throws -> (location: String, offset: Int64)? {
        let call = RegistryClient.Call(
            method: "GET", url: location, scopes: [.push(repository)], target: target, accept: [204, 200, 400, 404])
        let response = try await client.attempt(call)
        _ = try await client.collect(response.body, limit: 64 << 10, target: target)
        guard response.status == 204 || response.status == 200 else { return nil }
        let next = (try? self.location(response)) ?? location
        // Distribution answers `0-0` for an empty upload too: read as nothing
        // received; a wrong guess costs a 416 and a fresh start, never corrupt
        // data (the registry checks the final digest).
        let last = lastByte(response) ?? -1
        return (next, last <= 0 ? 0 : last + 1)
    }

    /// `PATCH <location>` with `Content-Range: <first>-<last>` (the spec's
    /// form, without a unit) → 202 with the next `Location` and `Range`.
    func patch(_ location: String, offset: Int64, length: Int64) async throws -> (location: String, offset: Int64) {
        var call = RegistryClient.Call(
            method: "PATCH", url: location, body: source.body(offset: offset, length: length), scopes: [.push(repository)],
            target: target, accept: [202])
        call.headers.set("Content-Type", "application/octet-stream")
        call.headers.set("Content-Range", "\(offset)-\(offset + length - 1)")
        call.headers.set("Content-Length", String(length))
        let response = try await client.attempt(call)
        _ = try await client.collect(response.body, limit: 64 << 10, target: target)
        return (try self.location(response), lastByte(response).map { $0 + 1 } ?? offset + length)
    }

    /// `PUT <location>&digest=…` (with the remaining bytes, or none) → 201;
    /// the registry's `Docker-Content-Digest`, when sent, must be ours.
    func finish(_ location: String, body: HTTPBody, length: Int64) async throws {
        let url = location + (location.contains("?") ? "&" : "?") + "digest=" + percentEncoded(digest.description)
        var call = RegistryClient.Call(method: "PUT", url: url, body: body, scopes: [.push(repository)], target: target, accept: [201, 204])
        call.headers.set("Content-Type", "application/octet-stream")
        call.headers.set("Content-Length", String(length))
        let response = try await client.attempt(call)
        _ = try await client.collect(response.body, limit: 64 << 10, target: target)
        if let answered = response.headers["Docker-Content-Digest"], answered != digest.description {
            throw Registry.Error.digestMismatch(target: target, expected: digest.description, actual: answered)
        }
    }

    private func location(_ response: HTTPStreamingResponse) throws -> String {
        try client.uploadLocation(response, target: target)
    }

    /// `<last>` of `Range: 0-<last>`.
    private func lastByte(_ response: HTTPStreamingResponse) -> Int64? {
        guard var range = response.headers["Range"] else { return nil }
        if range.hasPrefix("bytes=") { range.removeFirst(6) }
        let parts = range.split(separator: "-")
        guard parts.count == 2 else { return nil }
        return Int64(parts[1].trimmingCharacters(in: .whitespaces))
    }
}

/// The registry lost or refused an upload session (404 BLOB_UPLOAD_UNKNOWN,
/// 400 BLOB_UPLOAD_INVALID, 416 after a half-written chunk): transient for
/// the upload loop, which starts a new session.
struct UploadLost: Error {
    let underlying: Registry.Error
}

/// `length` bytes of a file from `offset`: one chunk of a chunked upload.
final class FileRangeStream: HTTPBodyStream {
    private let handle: FileHandle
    private var remaining: Int64

    init(path: String, offset: Int64, length: Int64) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Registry.Error.fileSystem(path: path, reason: "cannot open for reading")
        }
        try handle.seek(toOffset: UInt64(offset))
        self.handle = handle
        remaining = length
    }

    deinit {
        try? handle.close()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard remaining > 0 else { return 0 }
        guard let data = try handle.read(upToCount: Int(min(Int64(buffer.count), remaining))), !data.isEmpty else {
            return 0
        }
        remaining -= Int64(data.count)
        return data.copyBytes(to: buffer)
    }
}

/// One holder at a time per key (`repository@digest`); waiters are served in the order they
/// came. A waiter is never cancelled while it waits: it waits for one upload, which a
/// cancellation ends too, and checks for cancellation once it holds the key.
actor BlobUploadLocks {
    private var held: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ key: String) async {
        if held.insert(key).inserted { return }
        await withCheckedContinuation { waiting[key, default: []].append($0) }
    }

    /// Hands the key to the next waiter, or frees it.
    func release(_ key: String) {
        guard var queue = waiting[key], !queue.isEmpty else {
            held.remove(key)
            return
        }
        let next = queue.removeFirst()
        waiting[key] = queue.isEmpty ? nil : queue
        next.resume()
    }
}
