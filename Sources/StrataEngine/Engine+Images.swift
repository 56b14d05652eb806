import Foundation
import StrataHTTP

extension Engine {
    /// `GET /images/{name}/json`; nil on 404. From API 1.48 on, the containerd image store
    /// reports the image's `Descriptor` (the classic store never does), which tells the store.
    public func inspectImage(_ reference: String) async throws -> ImageInfo? {
        let path = "/images/\(Self.pathSegment(reference))/json"
        let response = try await send("GET", path) { HTTPClient.isSuccess($0) || $0 == 404 }
        guard response.status != 404 else { return nil }
        struct Inspect: Decodable {
            struct Config: Decodable {
                var Labels: [String: String]?
            }
            struct Descriptor: Decodable {
                var digest: String
            }
            var Id: String
            var Size: Int64?
            var RepoTags: [String]?
            var RepoDigests: [String]?
            var Config: Config?
            var Descriptor: Descriptor?
        }
        do {
            let image = try JSONDecoder().decode(Inspect.self, from: Data(response.body))
            let store: ImageStore? = features.imageDescriptor ? (image.Descriptor == nil ? .classic : .containerd) : nil
            return ImageInfo(id: image.Id, size: image.Size ?? 0, repoTags: image.RepoTags ?? [],
                             repoDigests: image.RepoDigests ?? [], labels: image.Config?.Labels ?? [:], store: store)
        } catch {
            throw Error.unexpectedResponse(request: requestName("GET", target(path)), detail: "\(error)")
        }
    }

    /// `POST /images/{image}/tag?repo=…&tag=…`.
    public func tagImage(_ image: String, as reference: String) async throws {
        let (repository, tag) = Self.splitReference(reference)
        _ = try await send("POST", "/images/\(Self.pathSegment(image))/tag", query: [("repo", repository), ("tag", tag)])
    }

    /// `DELETE /images/{name}?noprune=1`: removes the reference (the image goes
    /// with its last reference), keeps untagged parents. Missing is not an error;
    /// an image in use is (`Error.conflict`, with the engine's explanation).
    public func removeImage(_ reference: String) async throws {
        _ = try await send("DELETE", "/images/\(Self.pathSegment(reference))", query: [("noprune", "1")]) {
            HTTPClient.isSuccess($0) || $0 == 404
        }
    }

    /// `POST /images/create?fromImage=…&tag=…` (what `docker pull` does), with the
    /// registry's credentials in `X-Registry-Auth` when there are some.
    public func pullImage(_ reference: String, credentials: (username: String, password: String)?) async throws {
        let (repository, tag) = Self.splitReference(reference)
        let digest = reference.split(separator: "@", maxSplits: 1).dropFirst().first.map(String.init)
        var headers: HTTPHeaders = [:]
        if let credentials {
            let auth = ["username": credentials.username, "password": credentials.password,
                        "serveraddress": String(repository.split(separator: "/").first ?? "")]
            let json = try JSONSerialization.data(withJSONObject: auth, options: [.sortedKeys])
            headers.set("X-Registry-Auth", json.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
        }
        _ = try await progressMessages("POST", "/images/create", query: [("fromImage", repository), ("tag", digest ?? tag)],
                                       body: .empty, headers: headers)
    }

    /// `POST /images/create?fromSrc=-` (what `docker import` does): makes an image
    /// of one layer from a root file system tarball, streamed from disk. Returns
    /// the new image's ID.
    @discardableResult
    public func importImage(tarballPath: String, reference: String) async throws -> String {
        let (repository, tag) = Self.splitReference(reference)
        let body = try Self.fileBody(tarballPath)
        let messages = try await progressMessages(
            "POST", "/images/create", query: [("fromSrc", "-"), ("repo", repository), ("tag", tag)], body: body)
        guard let id = messages.compactMap(\.status).last(where: { $0.hasPrefix("sha256:") }) else {
            throw Error.unexpectedResponse(request: requestName("POST", target("/images/create")),
                                           detail: "no image ID in the answer")
        }
        return id
    }

    /// `GET /images/get?names=…` (what `docker save` does), streamed to a temporary
    /// file next to `path` and renamed into place: never held in memory, never half
    /// written; not synced to disk (an export reads it once and removes it). The format
    /// is the engine's: `manifest.json` + `<id>/layer.tar` before Docker 25, an OCI
    /// layout from Docker 25 on.
    public func saveImages(_ references: [String], to path: String) async throws {
        let target = target("/images/get", query: references.map { ("names", $0) })
        let name = requestName("GET", target)
        let temporary = "\(path).partial-\(UUID().uuidString)"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
              let file = FileHandle(forWritingAtPath: temporary) else {
            throw Error.file(path: temporary, reason: "cannot create the file")
        }
        do {
            defer { try? file.close() }
            try await mappingErrors(name) {
                let response = try await client.stream(HTTPRequest(url: endpoint.baseURL + target, lowSpeedLimit: nil, bulk: true))
                for try await chunk in response.body {
                    do {
                        try file.write(contentsOf: chunk)
                    } catch {
                        throw Error.file(path: temporary, reason: "\(error)")
                    }
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw Error.file(path: path, reason: reason)
        }
    }

    /// `POST /images/load?quiet=1` (what `docker load` does), the archive streamed
    /// from disk. Returns what the engine reports loading: references
    /// (`name:tag`) or, for untagged images, IDs (`sha256:…`).
    @discardableResult
    public func loadImages(from path: String) async throws -> [String] {
        let messages = try await progressMessages(
            "POST", "/images/load", query: [("quiet", "1")], body: try Self.fileBody(path))
        let prefixes = ["Loaded image: ", "Loaded image ID: "]
        return messages.compactMap(\.stream).flatMap { $0.split(separator: "\n") }.compactMap { line in
            prefixes.first { line.hasPrefix($0) }.map { String(line.dropFirst($0.count)) }
        }
    }

    /// `repository:tag` → (`repository`, `tag`): the tag follows the last `:`
    /// after the last `/` (`localhost:5000/app` has no tag); no tag is `latest`.
    static func splitReference(_ reference: String) -> (repository: String, tag: String) {
        let name = reference.split(separator: "@", maxSplits: 1).first.map(String.init) ?? reference
        let lastSlash = name.lastIndex(of: "/") ?? name.startIndex
        guard let colon = name[lastSlash...].lastIndex(of: ":") else { return (name, "latest") }
        return (String(name[..<colon]), String(name[name.index(after: colon)...]))
    }

    static func fileBody(_ path: String) throws -> HTTPBody {
        do {
            return try HTTPBody.file(path)
        } catch {
            throw Error.file(path: path, reason: "cannot read it: \(error.localizedDescription)")
        }
    }

    /// One line of the engine's JSON progress streams (`/images/create`, `/images/load`).
    struct ProgressMessage: Decodable {
        struct Detail: Decodable {
            var message: String?
        }
        var stream: String?
        var status: String?
        var error: String?
        var errorDetail: Detail?
    }

    /// Sends a request whose answer is a JSON progress stream and reads it to the
    /// end; an error in the stream (the status is already 200 then) throws `Error.failed`.
    func progressMessages(_ method: String, _ path: String, query: [(String, String)],
                          body: HTTPBody, headers: HTTPHeaders = [:]) async throws -> [ProgressMessage] {
        let target = target(path, query: query)
        let name = requestName(method, target)
        var headers = headers
        headers.set("Content-Type", "application/x-tar")
        let request = HTTPRequest(method: method, url: endpoint.baseURL + target, headers: headers, body: body)
        return try await mappingErrors(name) {
            var messages: [ProgressMessage] = []
            for try await line in try await client.lines(request) {
                guard let message = try? JSONDecoder().decode(ProgressMessage.self, from: Data(line.utf8)) else {
                    throw Error.unexpectedResponse(request: name, detail: "not JSON: " + String(line.prefix(200)))
                }
                if let error = message.errorDetail?.message ?? message.error {
                    throw Error.failed(request: name, message: error)
                }
                messages.append(message)
            }
            return messages
        }
    }
}
