import StrataHTTP
import StrataHash

extension RegistryClient {
    /// Uploads a blob while its bytes are still being produced, before its digest is known,
    /// the way docker pushes a layer as it compresses it: `POST …/blobs/uploads/` opens the
    /// upload, one `PATCH` streams `body` (chunked, without `Content-Range`), and once the
    /// body has ended `digest()` gives the digest for the closing `PUT ?digest=` — or nil to
    /// abandon the upload (`DELETE`). The registry checks the digest against what it received.
    ///
    /// No retries and no `HEAD` first: the bytes of a streamed body cannot be sent twice. A
    /// caller whose streamed upload failed pushes the finished blob the ordinary way
    /// (`pushBlob`). Returns whether the blob was stored.
    public func streamBlob(repository: String, body: HTTPBody, digest: @Sendable () async -> Digest?) async throws -> Bool {
        let target = target(repository, "(streamed upload)")
        let start = Call(method: "POST", url: try url(repository, "blobs/uploads/"), scopes: [.push(repository)],
                         target: target, accept: [202])
        var response = try await attempt(start)
        _ = try await collect(response.body, limit: 64 << 10, target: target)
        var location = try uploadLocation(response, target: target)
        var patch = Call(method: "PATCH", url: location, body: body, scopes: [.push(repository)], target: target, accept: [202])
        patch.headers.set("Content-Type", "application/octet-stream")
        response = try await attempt(patch)
        _ = try await collect(response.body, limit: 64 << 10, target: target)
        location = try uploadLocation(response, target: target)
        guard let digest = await digest() else {
            let cancel = Call(method: "DELETE", url: location, scopes: [.push(repository)], target: target, accept: [204, 404])
            _ = try? await collect(try await attempt(cancel).body, limit: 64 << 10, target: target)
            return false
        }
        try await Upload(client: self, repository: repository, digest: digest, size: 0, source: .bytes([]))
            .finish(location, body: .empty, length: 0)
        return true
    }

    /// The absolute `Location` of an upload response.
    func uploadLocation(_ response: HTTPStreamingResponse, target: String) throws -> String {
        guard let location = response.headers["Location"], !location.isEmpty else {
            throw Registry.Error.invalidResponse(target: target, reason: "HTTP \(response.status) without a Location header")
        }
        return absolute(location)
    }
}
