import FoundationEssentials
import StrataHash

/// What `CacheDirectory.gc` removed.
public struct GCReport: Sendable, Equatable {
    /// Records removed, oldest first.
    public var removedRecords: [KeyRecord] = []
    /// Nodes whose pointer was removed because its record is gone.
    public var removedPointers: [String] = []
    /// `index.json` entries dropped because the key they were exported for is gone.
    public var removedManifests: [OCIDescriptor] = []
    /// Blobs no manifest in `index.json` (or in a kept record) leads to any more.
    public var removedBlobs: [Digest] = []
    /// `diffids/` entries (diff_id hex) whose blob is gone.
    public var removedLayerEntries: [String] = []
    /// Temporary files (relative paths) older than an hour.
    public var removedLeftovers: [String] = []
    /// Bytes of every removed file.
    public var bytesFreed: Int64 = 0
    /// Why unreferenced blobs were kept, when a manifest could not be read (what
    /// it leads to is unknown, so nothing is provably garbage).
    public var blobsKeptBecause: String?
}

extension CacheDirectory {
    /// How old a temporary file must be before `gc` takes it for a leftover of a
    /// crashed writer rather than a write in progress.
    public static let leftoverAge: TimeInterval = 3600

    /// Every readable record, sorted by node, then by creation.
    public func list() throws(Error) -> [KeyRecord] {
        try allRecords().sorted { ($0.node, $0.created, $0.key) < ($1.node, $1.created, $1.key) }
    }

    /// Removes what the cache no longer needs, holding the cache lock alone:
    ///
    /// 1. records created more than `maxAge` before `now`;
    /// 2. then the oldest records until the sum of the kept records' `size` (the
    ///    image sizes the engine reported, which is what `cache ls` shows) is at
    ///    most `maxSize`; records without a size count as 0. This bounds what the
    ///    records stand for, not the bytes of `blobs/`;
    /// 3. node pointers whose record is gone, and `index.json` entries whose
    ///    `dev.strata.key` names a key that has no record;
    /// 4. blobs that no manifest left in `index.json`, nor any manifest digest of
    ///    a kept record, leads to;
    /// 5. temporary files older than `leftoverAge`.
    ///
    /// Throws `.busy` at once when a build holds the lock, unless `wait` is true.
    /// A damaged `index.json` stops it before anything is removed.
    public func gc(maxAge: TimeInterval?, maxSize: Int64?, now: Date, wait: Bool = false) throws(Error) -> GCReport {
        let held = try lock(.exclusive, wait: wait)
        defer { held.release() }
        // With index.json unreadable the roots are unknown: stop before removing anything.
        _ = try readIndex()
        var report = GCReport()
        var kept = try allRecords().sorted { ($0.created, $0.key) < ($1.created, $1.key) }
        var removed: [KeyRecord] = []
        if let maxAge {
            removed = kept.filter { now.timeIntervalSince($0.created) > maxAge }
            kept.removeAll { now.timeIntervalSince($0.created) > maxAge }
        }
        if let maxSize {
            var total = kept.reduce(Int64(0)) { $0 + ($1.size ?? 0) }
            while total > maxSize, !kept.isEmpty {
                let oldest = kept.removeFirst()
                total -= oldest.size ?? 0
                removed.append(oldest)
            }
        }
        // Pointers first, then the records they point at: a gc killed in between
        // leaves records without pointers (harmless), never pointers to removed
        // records, which `verify` reports as damage. The sweep also catches
        // pointers left dangling by damaged records.
        try removePointers(keeping: Set(kept.map(\.key)), into: &report)
        for record in removed {
            let file = try recordPath(forKey: record.key)
            report.bytesFreed += try FileSystem.status(file)?.size ?? 0
            try FileSystem.remove(file)
        }
        report.removedRecords = removed
        try sweepIndex(keeping: Set(kept.map(\.key)), into: &report)
        try sweepBlobs(kept: kept, into: &report)
        try sweepLayerEntries(into: &report)
        try removeLeftovers(olderThan: now.addingTimeInterval(-Self.leftoverAge), into: &report)
        return report
    }

    private func removePointers(keeping keys: Set<String>, into report: inout GCReport) throws(Error) {
        for name in try FileSystem.list(nodesDirectory) where !name.hasPrefix(FileSystem.temporaryPrefix) {
            let file = nodesDirectory + "/" + name
            guard let bytes = try FileSystem.readFile(file),
                  case .success(let pointer) = CanonicalJSON.decode(NodePointer.self, from: bytes),
                  !keys.contains(pointer.key) else { continue }
            report.bytesFreed += Int64(bytes.count)
            try FileSystem.remove(file)
            report.removedPointers.append(pointer.node)
        }
    }

    private func sweepIndex(keeping keys: Set<String>, into report: inout GCReport) throws(Error) {
        var dropped: [OCIDescriptor] = []
        try updateIndex { manifests in
            dropped = manifests.filter { entry in
                entry.annotations?[OCIDescriptor.keyAnnotation].map { !keys.contains($0) } ?? false
            }
            manifests.removeAll { dropped.contains($0) }
        }
        report.removedManifests = dropped
    }

    private func sweepBlobs(kept: [KeyRecord], into report: inout GCReport) throws(Error) {
        let index = try readIndex()
        // A kept record's pushed manifest may also be in the layout; keep it and
        // what it leads to, even when index.json no longer lists it.
        let recordRoots = kept.flatMap { record in
            record.manifests.values.compactMap { digest in
                Digest(parsing: digest).flatMap { hasBlob($0) ? (digest, "keys/" + record.key) : nil }
            }
        }
        let walk = reachability(from: indexRoots(index) + recordRoots)
        if let unreadable = walk.unreadable.first {
            report.blobsKeptBecause = "manifest \(unreadable.digest) cannot be read (\(unreadable.reason)); run `strata cache verify`"
            return
        }
        for name in try FileSystem.list(blobsDirectory) {
            guard let digest = Digest(parsing: name), digest.hex == name, !walk.reachable.contains(name) else { continue }
            let size = try FileSystem.status(blobPath(digest))?.size ?? 0
            guard try FileSystem.remove(blobPath(digest)) else { continue }
            report.removedBlobs.append(digest)
            report.bytesFreed += size
        }
        FileSystem.syncDirectory(blobsDirectory)
    }

    /// Drops `diffids/` entries that name a blob the layout no longer has (or nothing
    /// readable): the layer would be compressed again anyway.
    private func sweepLayerEntries(into report: inout GCReport) throws(Error) {
        for name in try FileSystem.list(diffIDsDirectory) where !name.hasPrefix(FileSystem.temporaryPrefix) {
            let file = diffIDsDirectory + "/" + name
            let bytes = try FileSystem.readFile(file) ?? []
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if let digest = Digest(parsing: text), hasBlob(digest) { continue }
            guard try FileSystem.remove(file) else { continue }
            report.removedLayerEntries.append(name)
            report.bytesFreed += Int64(bytes.count)
        }
    }

    private func removeLeftovers(olderThan cutoff: Date, into report: inout GCReport) throws(Error) {
        var folders = ["", "nodes", "blobs/sha256", "diffids"]
        folders += try FileSystem.list(keysDirectory).filter { $0.utf8.count == 2 }.map { "keys/" + $0 }
        for folder in folders {
            let absolute = folder.isEmpty ? path : path + "/" + folder
            for name in try FileSystem.list(absolute) where name.hasPrefix(FileSystem.temporaryPrefix) {
                guard let status = try FileSystem.status(absolute + "/" + name),
                      !status.isDirectory, Double(status.mtime) < cutoff.timeIntervalSince1970 else { continue }
                try FileSystem.remove(absolute + "/" + name)
                report.bytesFreed += status.size
                report.removedLeftovers.append(folder.isEmpty ? name : folder + "/" + name)
            }
        }
    }
}
