import StrataHash

extension CacheDirectory {
    /// Adds an image to `index.json`. The manifest blob must already be in the
    /// layout (OCI image-layout spec: every descriptor in `index.json` refers to a
    /// blob of the layout). An entry equal to `descriptor`, or with the same
    /// `org.opencontainers.image.ref.name`, is replaced, as a tag moves.
    ///
    /// Concurrent writers in any process lose nothing: each re-reads, merges and
    /// renames while holding the `index.json` lock.
    public func addManifest(_ descriptor: OCIDescriptor) throws(Error) {
        guard let digest = Digest(parsing: descriptor.digest), descriptor.digest.hasPrefix("sha256:") else {
            throw .invalidDigest(descriptor.digest)
        }
        guard hasBlob(digest) else { throw .missingBlob(digest) }
        let name = descriptor.annotations?[OCIDescriptor.refNameAnnotation]
        try updateIndex { manifests in
            manifests.removeAll { existing in
                existing == descriptor || (name != nil && existing.annotations?[OCIDescriptor.refNameAnnotation] == name)
            }
            manifests.append(descriptor)
        }
    }

    /// The images `index.json` lists, in the order they were added.
    public func manifests() throws(Error) -> [OCIDescriptor] {
        try readIndex().manifests
    }

    /// Re-reads `index.json`, applies `change` and renames the result into place,
    /// all under the `index.json` lock. A damaged `index.json` is not overwritten:
    /// the error asks for `verify`, which shows it.
    func updateIndex(_ change: (inout [OCIDescriptor]) -> Void) throws(Error) {
        try withIndexLock { () throws(Error) in
            var index = try readIndex()
            let before = index.manifests
            change(&index.manifests)
            guard index.manifests != before else { return }
            try FileSystem.writeAtomically(try index.encoded(), to: indexPath)
        }
    }

    /// `index.json` parsed; a missing one is an empty index (a layout being created).
    func readIndex() throws(Error) -> ImageIndex {
        guard let bytes = try FileSystem.readFile(indexPath) else { return ImageIndex() }
        switch CanonicalJSON.decode(ImageIndex.self, from: bytes) {
        case .success(let index): return index
        case .failure(let failure): throw .unparsable(path: indexPath, reason: failure.reason)
        }
    }
}
