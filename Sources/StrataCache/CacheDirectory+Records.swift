import FoundationEssentials

/// `nodes/<node>.json`: which key was recorded last for a node.
struct NodePointer: Codable, Equatable {
    var node: String
    var key: String
}

extension CacheDirectory {
    /// Stores `record` at `keys/<ab>/<key>.json` and points its node at it. The
    /// record must be consistent (`key == inputs.key`), so that every stored
    /// record passes `verify`. Recording a key again replaces its record.
    public func record(_ record: KeyRecord) throws(Error) {
        let computed = try record.inputs.key
        guard record.key == computed else { throw .keyMismatch(recorded: record.key, computed: computed) }
        let path = try recordPath(forKey: record.key)
        try FileSystem.makeDirectory(FileSystem.parent(of: path))
        try FileSystem.writeAtomically(try CanonicalJSON.encode(record), to: path)
        let pointer = NodePointer(node: record.node, key: record.key)
        try FileSystem.writeAtomically(try CanonicalJSON.encode(pointer), to: pointerPath(forNode: record.node))
    }

    /// The record for `key`; nil when there is none or when its file does not
    /// parse (a damaged record is a miss: the node is rebuilt and recorded anew,
    /// and `verify` reports the damage).
    public func record(forKey key: String) throws(Error) -> KeyRecord? {
        guard let bytes = try FileSystem.readFile(try recordPath(forKey: key)) else { return nil }
        guard case .success(let record) = CanonicalJSON.decode(KeyRecord.self, from: bytes), record.key == key else {
            return nil
        }
        return record
    }

    /// The record last stored for `node`, for explaining a miss against it; nil
    /// when the node has none or its pointer or record is damaged.
    public func lastRecord(forNode node: String) throws(Error) -> KeyRecord? {
        guard let bytes = try FileSystem.readFile(pointerPath(forNode: node)),
              case .success(let pointer) = CanonicalJSON.decode(NodePointer.self, from: bytes),
              pointer.node == node, Self.isKey(pointer.key) else { return nil }
        return try record(forKey: pointer.key)
    }

    /// Every record that parses, in no particular order. Reads one small file per
    /// key and nothing else, so thousands of records take milliseconds.
    public func allRecords() throws(Error) -> [KeyRecord] {
        var records: [KeyRecord] = []
        for file in try recordFiles() {
            guard let bytes = try FileSystem.readFile(file.path),
                  case .success(let record) = CanonicalJSON.decode(KeyRecord.self, from: bytes),
                  record.key == file.key else { continue }
            records.append(record)
        }
        return records
    }

    /// Removes the record for `key`, and its node's pointer when that points at
    /// it (a damaged record names no node; `gc` removes such dangling pointers).
    /// Returns whether there was a record file.
    @discardableResult
    public func removeRecord(key: String) throws(Error) -> Bool {
        let path = try recordPath(forKey: key)
        let existing = try record(forKey: key)
        guard try FileSystem.remove(path) else { return false }
        if let node = existing?.node, try pointedKey(forNode: node) == key {
            try FileSystem.remove(pointerPath(forNode: node))
        }
        FileSystem.syncDirectory(FileSystem.parent(of: path))
        return true
    }

    /// `keys/<first two hex digits>/<key>.json`: the fan-out keeps folders small
    /// (256 of them) however many keys there are, as git does for objects.
    func recordPath(forKey key: String) throws(Error) -> String {
        guard Self.isKey(key) else { throw .invalidKey(key) }
        return keysDirectory + "/" + key.prefix(2) + "/" + key + ".json"
    }

    /// `nodes/<percent-encoded node>.json`. Node names hold `/` (an image path)
    /// and `@` (a variant); everything but letters, digits, `-`, `_` and a
    /// non-leading `.` is encoded as `%XX`, so no name can escape the folder or
    /// collide with a temporary file.
    func pointerPath(forNode node: String) -> String {
        nodesDirectory + "/" + Self.percentEncoded(node) + ".json"
    }

    /// The key a node's pointer names, or nil.
    func pointedKey(forNode node: String) throws(Error) -> String? {
        guard let bytes = try FileSystem.readFile(pointerPath(forNode: node)),
              case .success(let pointer) = CanonicalJSON.decode(NodePointer.self, from: bytes) else { return nil }
        return pointer.key
    }

    /// Every file under `keys/` named like a record, with the key its name says.
    func recordFiles() throws(Error) -> [(key: String, path: String)] {
        var files: [(key: String, path: String)] = []
        for fanout in try FileSystem.list(keysDirectory) where fanout.utf8.count == 2 {
            let folder = keysDirectory + "/" + fanout
            for name in try FileSystem.list(folder) where name.hasSuffix(".json") {
                let key = String(name.dropLast(5))
                if Self.isKey(key), key.hasPrefix(fanout) { files.append((key, folder + "/" + name)) }
            }
        }
        return files
    }

    /// Whether `text` is 64 lowercase hex digits.
    static func isKey(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func percentEncoded(_ name: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var encoded: [UInt8] = []
        for (offset, byte) in name.utf8.enumerated() {
            let plain = (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || (byte == UInt8(ascii: ".") && offset > 0)
            if plain {
                encoded.append(byte)
            } else {
                encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}
