import StrataHash

/// The blobs an image layout's roots lead to, found by walking manifests: an
/// index or manifest list leads to the manifests it lists; a manifest leads to
/// its config and layers (OCI image spec, "Image Manifest" and "Image Index";
/// Docker's schema 2 has the same fields).
struct Reachability {
    /// Hex digests of every blob reached, present or not.
    var reachable: Set<String> = []
    /// Reached digests the layout does not hold, with what referred to them.
    var missing: [(digest: String, referrer: String)] = []
    /// Manifests whose references could not be read; what they lead to is unknown.
    var unreadable: [(digest: String, reason: String)] = []
}

extension CacheDirectory {
    /// Walks from `roots` (manifest digests, each with who names it) through every
    /// manifest and index blob they lead to.
    func reachability(from roots: [(digest: String, referrer: String)]) -> Reachability {
        var result = Reachability()
        var pending = roots.map { (digest: $0.digest, referrer: $0.referrer, isManifest: true) }
        while let next = pending.popLast() {
            guard let digest = Digest(parsing: next.digest), next.digest.hasPrefix("sha256:") else {
                result.unreadable.append((next.digest, "referred to by \(next.referrer) with a digest that is not sha256:<hex>"))
                continue
            }
            guard result.reachable.insert(digest.hex).inserted else { continue }
            guard hasBlob(digest) else {
                result.missing.append((next.digest, next.referrer))
                continue
            }
            guard next.isManifest else { continue }
            let bytes: [UInt8]
            do throws(Error) {
                bytes = try readBlob(digest) ?? []
            } catch {
                result.unreadable.append((next.digest, error.description))
                continue
            }
            switch CanonicalJSON.decode(ManifestReferences.self, from: bytes) {
            case .success(let references):
                let referrer = "blobs/sha256/" + digest.hex
                pending += (references.manifests ?? []).map { ($0.digest, referrer, true) }
                pending += ([references.config].compactMap { $0 } + (references.layers ?? [])).map { ($0.digest, referrer, false) }
            case .failure(let failure):
                result.unreadable.append((next.digest, failure.reason))
            }
        }
        return result
    }

    /// The roots of the layout: every manifest `index.json` lists.
    func indexRoots(_ index: ImageIndex) -> [(digest: String, referrer: String)] {
        index.manifests.map { ($0.digest, "index.json") }
    }
}
