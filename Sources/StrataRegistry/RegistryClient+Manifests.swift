import Foundation
import StrataHTTP
import StrataHash

/// A manifest as the registry sent it: the exact bytes (what the digest
/// covers), their media type and digest.
public struct ManifestResponse: Sendable {
    public var bytes: [UInt8]
    public var mediaType: String
    public var digest: Digest

    /// The descriptor that points at this manifest.
    public var descriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }

    /// True for an OCI index or a Docker manifest list.
    public var isIndex: Bool { MediaType.indexes.contains(mediaType) }

    public func decodeManifest() throws -> ImageManifest {
        try JSONDecoder().decode(ImageManifest.self, from: Data(bytes))
    }

    public func decodeIndex() throws -> ImageIndex {
        try JSONDecoder().decode(ImageIndex.self, from: Data(bytes))
    }
}

extension RegistryClient {
    /// `GET /v2/<repository>/manifests/<reference>` (a tag or a digest),
    /// accepting every OCI and Docker manifest type. The bytes are checked
    /// against the digest asked for, and against `Docker-Content-Digest`.
    public func manifest(repository: String, reference: String, accept: [String] = MediaType.manifests) async throws
        -> ManifestResponse
    {
        let reference = try checkedReference(reference)
        var call = Call(
            method: "GET", url: try url(repository, "manifests/\(reference)"), scopes: [.pull(repository)],
            target: target(repository, reference))
        call.headers.set("Accept", accept.joined(separator: ", "))
        // Distribution spec: registries may refuse manifests over 4 MiB.
        let response = try await send(call, bodyLimit: 4 << 20)
        let digest = try SHA256.hash(response.body)
        for claimed in [reference.hasPrefix("sha256:") ? reference : nil, response.headers["Docker-Content-Digest"]] {
            if let claimed, claimed != digest.description {
                throw Registry.Error.digestMismatch(target: call.target, expected: claimed, actual: digest.description)
            }
        }
        let mediaType = response.headers["Content-Type"].map(Self.bareMediaType) ?? Self.sniffMediaType(response.body)
        return ManifestResponse(bytes: response.body, mediaType: mediaType, digest: digest)
    }

    /// `HEAD /v2/<repository>/manifests/<reference>`: the manifest's
    /// descriptor, or nil when the repository has no such tag or digest.
    /// One request: the way a remote cache lookup (`strata-<key>`) stays cheap.
    public func manifestDescriptor(repository: String, reference: String, accept: [String] = MediaType.manifests) async throws
        -> Descriptor?
    {
        try await manifestDescriptor(repository: repository, reference: reference, accept: accept, scope: .pull(repository))
    }

    /// The HEAD under `scope`: a push asks with its own (push implies pull), so that it
    /// needs no second token.
    private func manifestDescriptor(repository: String, reference: String, accept: [String], scope: Scope) async throws
        -> Descriptor?
    {
        let reference = try checkedReference(reference)
        var call = Call(
            method: "HEAD", url: try url(repository, "manifests/\(reference)"), scopes: [scope],
            target: target(repository, reference), accept: [200, 404])
        call.headers.set("Accept", accept.joined(separator: ", "))
        let response = try await send(call, bodyLimit: 0)
        guard response.status == 200 else { return nil }
        guard let digestText = response.headers["Docker-Content-Digest"], let digest = Digest(parsing: digestText),
            let size = response.headers["Content-Length"].flatMap({ Int64($0) }), let mediaType = response.headers["Content-Type"]
        else {
            // A registry that omits the digest on HEAD: read the manifest instead.
            return try await manifest(repository: repository, reference: reference, accept: accept).descriptor
        }
        if reference.hasPrefix("sha256:"), digestText != reference {
            throw Registry.Error.digestMismatch(target: call.target, expected: reference, actual: digestText)
        }
        return Descriptor(mediaType: Self.bareMediaType(mediaType), digest: digest, size: size)
    }

    /// `PUT /v2/<repository>/manifests/<reference>` with the exact bytes, unless a `HEAD`
    /// shows the registry has exactly these bytes under `reference` already (a second push
    /// rewrites nothing). Blobs (and, for an index, manifests) it refers to must be there
    /// first. Returns the manifest's digest, checked against the registry's.
    @discardableResult
    public func putManifest(repository: String, reference: String, bytes: [UInt8], mediaType: String) async throws -> Descriptor {
        let reference = try checkedReference(reference)
        let digest = try SHA256.hash(bytes)
        if reference.hasPrefix("sha256:"), reference != digest.description {
            throw Registry.Error.digestMismatch(target: target(repository, reference), expected: reference, actual: digest.description)
        }
        let present = try await manifestDescriptor(repository: repository, reference: reference, accept: [mediaType],
                                                   scope: .push(repository))
        if present?.digest == digest {
            return Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
        }
        var call = Call(
            method: "PUT", url: try url(repository, "manifests/\(reference)"), body: .bytes(bytes), scopes: [.push(repository)],
            target: target(repository, reference), accept: [201, 200])
        call.headers.set("Content-Type", mediaType)
        let response = try await send(call)
        if let answered = response.headers["Docker-Content-Digest"], answered != digest.description {
            throw Registry.Error.digestMismatch(target: call.target, expected: digest.description, actual: answered)
        }
        return Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }

    /// Encodes `manifest` canonically and pushes it under `reference`.
    @discardableResult
    public func putManifest(repository: String, reference: String, manifest: ImageManifest) async throws -> Descriptor {
        try await putManifest(
            repository: repository, reference: reference, bytes: CanonicalJSON.encode(manifest),
            mediaType: manifest.mediaType ?? MediaType.ociManifest)
    }

    /// Encodes `index` canonically and pushes it under `reference`.
    @discardableResult
    public func putIndex(repository: String, reference: String, index: ImageIndex) async throws -> Descriptor {
        try await putManifest(
            repository: repository, reference: reference, bytes: CanonicalJSON.encode(index),
            mediaType: index.mediaType ?? MediaType.ociIndex)
    }

    /// Every tag of `repository` (`GET /v2/<repository>/tags/list`), following
    /// `Link: <…>; rel="next"` pages (distribution spec "Listing Tags").
    public func tags(repository: String, pageSize: Int? = nil) async throws -> [String] {
        var next: String? = try url(repository, "tags/list" + (pageSize.map { "?n=\($0)" } ?? ""))
        var tags: [String] = []
        var pages = 0
        while let page = next {
            pages += 1
            guard pages <= 10_000 else {
                throw Registry.Error.invalidResponse(target: target(repository), reason: "more than 10000 pages of tags")
            }
            let response = try await send(Call(method: "GET", url: page, scopes: [.pull(repository)], target: target(repository)))
            struct Page: Decodable {
                var tags: [String]?
            }
            guard let decoded = try? JSONDecoder().decode(Page.self, from: Data(response.body)) else {
                throw Registry.Error.invalidResponse(target: target(repository), reason: "the tag list is not JSON")
            }
            tags += decoded.tags ?? []
            next = Self.nextLink(response.headers.values("Link")).map(absolute)
        }
        return tags
    }

    /// The target of `rel="next"` in `Link` values (RFC 8288): `</v2/…?last=x>; rel="next"`.
    static func nextLink(_ values: [String]) -> String? {
        for value in values {
            for link in value.split(separator: ",") {
                let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let first = parts.first, first.hasPrefix("<"), first.hasSuffix(">") else { continue }
                let isNext = parts.dropFirst().contains { parameter in
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    return pair.count == 2 && pair[0].lowercased() == "rel"
                        && pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ").contains("next")
                }
                if isNext { return String(first.dropFirst().dropLast()) }
            }
        }
        return nil
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func bareMediaType(_ contentType: String) -> String {
        contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? contentType
    }

    /// The `mediaType` field of a manifest, for a registry that sent no
    /// `Content-Type`; OCI manifest when absent.
    static func sniffMediaType(_ bytes: [UInt8]) -> String {
        struct Probe: Decodable {
            var mediaType: String?
            var manifests: [Descriptor]?
        }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: Data(bytes)) else { return MediaType.ociManifest }
        return probe.mediaType ?? (probe.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest)
    }
}
