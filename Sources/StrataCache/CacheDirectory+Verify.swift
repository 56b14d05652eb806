import StrataHash

/// What `CacheDirectory.verify()` found.
public struct VerifyReport: Sendable, Equatable {
    /// One damaged or inconsistent file.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong with the file.
        public enum Kind: Sendable, Hashable {
            /// The blob's content hashes to `actual`, not to its name.
            case digestMismatch(actual: String)
            /// A file that does not belong where it is (a name that is not a digest or key).
            case unexpectedFile
            case unreadable(reason: String)
            case unparsable(reason: String)
            /// A record stored under another key's name.
            case misnamedRecord(recordKey: String)
            /// A record whose inputs hash to another key.
            case inputsMismatch(computed: String)
            /// A node pointer to a key with no readable record.
            case danglingPointer(key: String)
            /// A manifest, config or layer that something refers to is not in the layout.
            case missingBlob(digest: String, referrer: String)
            case unsupportedLayoutVersion(String)
        }

        /// The file, relative to the cache directory.
        public var path: String
        public var kind: Kind

        public var description: String {
            switch kind {
            case let .digestMismatch(actual): return "\(path): content hashes to \(actual); the blob is damaged"
            case .unexpectedFile: return "\(path): not a file the cache writes"
            case let .unreadable(reason): return "\(path): cannot be read: \(reason)"
            case let .unparsable(reason): return "\(path): does not parse: \(reason)"
            case let .misnamedRecord(recordKey): return "\(path): holds the record of key \(recordKey)"
            case let .inputsMismatch(computed): return "\(path): inputs hash to \(computed), not to the recorded key"
            case let .danglingPointer(key): return "\(path): points at key \(key), which has no readable record"
            case let .missingBlob(digest, referrer): return "\(path): blob \(digest) named by \(referrer) is missing"
            case let .unsupportedLayoutVersion(version): return "\(path): imageLayoutVersion \(version), expected 1.0.0"
            }
        }
    }

    /// Damage and inconsistencies, each with its file.
    public var problems: [Problem] = []
    /// Temporary files (relative paths) left by interrupted writes: harmless,
    /// never read, removed by `gc` once an hour old.
    public var leftovers: [String] = []
    /// How many blobs were re-hashed and records parsed.
    public var blobsChecked = 0
    public var recordsChecked = 0

    /// Whether nothing is damaged (leftovers do not count).
    public var isClean: Bool { problems.isEmpty }
}

extension CacheDirectory {
    /// Checks the whole cache without changing it: every blob is re-hashed against
    /// its name, every key record parsed and checked against its file name and its
    /// inputs, every node pointer followed, and `oci-layout` and `index.json`
    /// parsed with every manifest they list (and its config and layers) present.
    /// Run it under the shared lock, so `gc` does not remove files mid-check.
    public func verify() -> VerifyReport {
        var report = VerifyReport()
        verifyBlobs(into: &report)
        verifyRecords(into: &report)
        verifyPointers(into: &report)
        verifyLayout(into: &report)
        return report
    }

    private func verifyBlobs(into report: inout VerifyReport) {
        var digests: [Digest] = []
        for name in list("blobs/sha256", into: &report) {
            if let digest = Digest(parsing: name), digest.hex == name {
                digests.append(digest)
            } else {
                report.problems.append(.init(path: "blobs/sha256/" + name, kind: .unexpectedFile))
            }
        }
        report.blobsChecked = digests.count
        // All cores at once; only when a file fails is each one hashed alone to name it.
        if let actual = try? SHA256.hashFiles(digests.map(blobPath)) {
            for (digest, hash) in zip(digests, actual) where hash != digest {
                report.problems.append(.init(path: "blobs/sha256/" + digest.hex, kind: .digestMismatch(actual: hash.description)))
            }
            return
        }
        for digest in digests {
            do throws(SHA256.Error) {
                let hash = try SHA256.hashFile(path: blobPath(digest))
                if hash != digest {
                    report.problems.append(.init(path: "blobs/sha256/" + digest.hex, kind: .digestMismatch(actual: hash.description)))
                }
            } catch {
                report.problems.append(.init(path: "blobs/sha256/" + digest.hex, kind: .unreadable(reason: error.description)))
            }
        }
    }

    private func verifyRecords(into report: inout VerifyReport) {
        for fanout in list("keys", into: &report) {
            let folder = "keys/" + fanout
            for name in list(folder, into: &report) {
                let relative = folder + "/" + name
                let key = name.hasSuffix(".json") ? String(name.dropLast(5)) : ""
                guard Self.isKey(key), key.hasPrefix(fanout) else {
                    report.problems.append(.init(path: relative, kind: .unexpectedFile))
                    continue
                }
                report.recordsChecked += 1
                guard let record = parse(KeyRecord.self, relative, into: &report) else { continue }
                if record.key != key {
                    report.problems.append(.init(path: relative, kind: .misnamedRecord(recordKey: record.key)))
                }
                do throws(Error) {
                    let computed = try record.inputs.key
                    if computed != record.key {
                        report.problems.append(.init(path: relative, kind: .inputsMismatch(computed: computed)))
                    }
                } catch {
                    report.problems.append(.init(path: relative, kind: .unreadable(reason: error.description)))
                }
            }
        }
    }

    private func verifyPointers(into report: inout VerifyReport) {
        for name in list("nodes", into: &report) {
            let relative = "nodes/" + name
            guard let pointer = parse(NodePointer.self, relative, into: &report) else { continue }
            let target = try? record(forKey: pointer.key)
            if target == nil {
                report.problems.append(.init(path: relative, kind: .danglingPointer(key: pointer.key)))
            }
        }
    }

    private func verifyLayout(into report: inout VerifyReport) {
        struct Layout: Decodable { var imageLayoutVersion: String }
        if let layout = parse(Layout.self, "oci-layout", into: &report), layout.imageLayoutVersion != "1.0.0" {
            report.problems.append(.init(path: "oci-layout", kind: .unsupportedLayoutVersion(layout.imageLayoutVersion)))
        }
        // Listed only for the leftovers of interrupted index.json and oci-layout writes.
        _ = list("", into: &report)
        guard let index = parse(ImageIndex.self, "index.json", into: &report) else { return }
        let walk = reachability(from: indexRoots(index))
        for missing in walk.missing {
            report.problems.append(.init(path: "index.json", kind: .missingBlob(digest: missing.digest, referrer: missing.referrer)))
        }
        for unreadable in walk.unreadable {
            report.problems.append(.init(path: "index.json", kind: .unparsable(reason: "manifest \(unreadable.digest): \(unreadable.reason)")))
        }
    }

    /// The names in a folder of the cache, with temporary files moved to
    /// `leftovers`; a folder that cannot be read is a problem.
    private func list(_ relative: String, into report: inout VerifyReport) -> [String] {
        let names: [String]
        do throws(Error) {
            names = try FileSystem.list(relative.isEmpty ? path : path + "/" + relative)
        } catch {
            report.problems.append(.init(path: relative.isEmpty ? "." : relative, kind: .unreadable(reason: error.description)))
            return []
        }
        let prefix = relative.isEmpty ? "" : relative + "/"
        var kept: [String] = []
        for name in names.sorted() {
            if name.hasPrefix(FileSystem.temporaryPrefix) {
                report.leftovers.append(prefix + name)
            } else {
                kept.append(name)
            }
        }
        return kept
    }

    /// The file decoded, or nil with the reason recorded as a problem.
    private func parse<T: Decodable>(_ type: T.Type, _ relative: String, into report: inout VerifyReport) -> T? {
        let bytes: [UInt8]?
        do throws(Error) {
            bytes = try FileSystem.readFile(path + "/" + relative)
        } catch {
            report.problems.append(.init(path: relative, kind: .unreadable(reason: error.description)))
            return nil
        }
        guard let bytes else {
            report.problems.append(.init(path: relative, kind: .unreadable(reason: "missing")))
            return nil
        }
        switch CanonicalJSON.decode(type, from: bytes) {
        case .success(let value): return value
        case .failure(let failure):
            report.problems.append(.init(path: relative, kind: .unparsable(reason: failure.reason)))
            return nil
        }
    }
}
