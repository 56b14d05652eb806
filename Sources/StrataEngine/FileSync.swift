import Foundation

/// What a build sends over a session instead of a tar body: BuildKit asks for named
/// directories (`context`, `dockerfile`) and strata answers with the entries it selected,
/// through BuildKit's `FileSync/DiffCopy` (the docker CLI's own transfer).
public struct SessionContext: Sendable {
    /// Names the content: BuildKit keeps what it received under this key and, on the next
    /// build with the same key, asks only for what changed.
    public var sharedKey: String
    /// The Dockerfile's name inside the `dockerfile` directory.
    public var dockerfileName: String
    /// The entries of a directory BuildKit asks for, filtered as it asks; nil for a name
    /// this build does not serve.
    public var directory: @Sendable (SessionDirectoryRequest) -> [SessionFile]?
    /// The value of a build secret BuildKit asks for (`RUN --mount=type=secret,id=…`); nil
    /// for an id this build does not provide.
    public var secret: @Sendable (String) -> [UInt8]?
    /// The user name and password for a registry host BuildKit pulls from (a private base),
    /// nil for none (BuildKit then pulls anonymously). Runs on the session's thread: a
    /// credential helper may take its time there.
    public var credentials: @Sendable (String) -> (username: String, password: String)?

    public init(sharedKey: String, dockerfileName: String,
                secret: @escaping @Sendable (String) -> [UInt8]? = { _ in nil },
                credentials: @escaping @Sendable (String) -> (username: String, password: String)? = { _ in nil },
                directory: @escaping @Sendable (SessionDirectoryRequest) -> [SessionFile]?) {
        self.sharedKey = sharedKey
        self.dockerfileName = dockerfileName
        self.secret = secret
        self.credentials = credentials
        self.directory = directory
    }
}

/// One `DiffCopy` request: which directory, and the filters BuildKit applies to it
/// (gRPC metadata `dir-name`, `include-patterns`, `exclude-patterns`, `followpaths`).
public struct SessionDirectoryRequest: Sendable, Equatable {
    public var name: String
    public var includePatterns: [String]
    public var excludePatterns: [String]
    public var followPaths: [String]

    public init(name: String, includePatterns: [String] = [], excludePatterns: [String] = [], followPaths: [String] = []) {
        self.name = name
        self.includePatterns = includePatterns
        self.excludePatterns = excludePatterns
        self.followPaths = followPaths
    }
}

/// An entry served over a session.
public struct SessionFile: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file
        case directory
        case symlink
    }

    /// Where a file's bytes come from.
    public enum Contents: Sendable, Equatable {
        case path(String)
        case bytes([UInt8])
    }

    /// Relative, "/"-separated.
    public var path: String
    public var kind: Kind
    /// Permission bits with setuid, setgid and sticky (`0o7777`).
    public var mode: UInt32
    public var size: Int64
    /// Nanoseconds since the epoch.
    public var mtime: Int64
    public var contents: Contents?
    public var linkTarget: String?

    public init(path: String, kind: Kind, mode: UInt32, size: Int64 = 0, mtime: Int64,
                contents: Contents? = nil, linkTarget: String? = nil) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.size = size
        self.mtime = mtime
        self.contents = contents
        self.linkTarget = linkTarget
    }

    /// The mode as Go's `os.FileMode`, which fsutil's `Stat.mode` carries.
    var goFileMode: UInt32 {
        var mode = self.mode & 0o777
        if self.mode & 0o4000 != 0 { mode |= 1 << 23 }
        if self.mode & 0o2000 != 0 { mode |= 1 << 22 }
        if self.mode & 0o1000 != 0 { mode |= 1 << 20 }
        switch kind {
        case .file: break
        case .directory: mode |= 1 << 31
        case .symlink: mode |= 1 << 27
        }
        return mode
    }
}

/// The sending side of fsutil's `DiffCopy` (tonistiigi/fsutil `send.go`), the protocol
/// BuildKit's `FileSync` service speaks: every entry's stat in walk order (its index is
/// its ID), an empty stat to end the list, then the files the receiver asks for
/// (`REQ id`), each as data packets ended by an empty one, until the receiver says `FIN`.
enum FileSyncSender {
    /// fsutil's packet types (`types/wire.proto`).
    enum PacketType: UInt64 {
        case stat = 0
        case request = 1
        case data = 2
        case fin = 3
        case error = 4
    }

    /// How much of a file one data packet carries (fsutil's buffer).
    static let chunkSize = 32 * 1024

    /// A sent packet's fields that the sender reads.
    struct Packet: Equatable {
        var type: UInt64
        var id: UInt32
        var data: [UInt8]
    }

    /// The entries in the order fsutil's walker produces and its receiver validates:
    /// each directory before its children, siblings sorted by name; a directory that is
    /// only implied by a deeper path is added (mode 0755, the mtime of what implies it).
    static func walkOrder(_ files: [SessionFile]) -> [SessionFile] {
        var byPath: [String: SessionFile] = [:]
        for file in files { byPath[file.path] = file }
        for file in files {
            var components = file.path.split(separator: "/")
            components.removeLast()
            var prefix = ""
            for component in components {
                prefix = prefix.isEmpty ? String(component) : prefix + "/" + component
                if byPath[prefix] == nil {
                    byPath[prefix] = SessionFile(path: prefix, kind: .directory, mode: 0o755, mtime: file.mtime)
                }
            }
        }
        return byPath.values.sorted { precedes($0.path, $1.path) }
    }

    /// Component-wise order: `a`, `a/b`, `a.txt` (a byte-wise sort would put `a.txt` first).
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        let left = lhs.split(separator: "/", omittingEmptySubsequences: false)
        let right = rhs.split(separator: "/", omittingEmptySubsequences: false)
        for (a, b) in zip(left, right) where a != b {
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
        return left.count < right.count
    }

    /// Runs the protocol over one stream: returns when the receiver said `FIN`; throws
    /// when it reported an error, ended early, or a file could not be read (after telling
    /// the receiver, whose build then fails with the same message).
    static func send(_ files: [SessionFile], over stream: GRPCServerStream) throws(SessionError) {
        var requestable: [UInt32: SessionFile] = [:]
        for (index, file) in files.enumerated() {
            if file.kind == .file { requestable[UInt32(index)] = file }
            try stream.send(encodeStat(file))
        }
        try stream.send([])  // a stat packet without a stat: the end of the list
        while true {
            guard let message = try stream.receive() else {
                throw .protocolViolation("the engine ended the file transfer before it finished")
            }
            let packet = try decode(message)
            switch PacketType(rawValue: packet.type) {
            case .request:
                guard let file = requestable.removeValue(forKey: packet.id) else {
                    throw .protocolViolation("the engine asked for file \(packet.id), which is not a file of the list")
                }
                try sendContents(of: file, id: packet.id, over: stream)
            case .fin:
                try stream.send(encode(type: .fin))
                return
            case .error:
                throw .peer("the engine's file transfer failed: \(String(decoding: packet.data, as: UTF8.self))")
            default:
                continue
            }
        }
    }

    static func sendContents(of file: SessionFile, id: UInt32, over stream: GRPCServerStream) throws(SessionError) {
        switch file.contents {
        case .bytes(let bytes):
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + chunkSize, bytes.count)
                try stream.send(encode(type: .data, id: id, data: bytes[offset..<end]))
                offset = end
            }
        case .path(let path):
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { try fail("cannot read \(path): \(String(cString: strerror(errno)))", stream) }
            defer { close(descriptor) }
            var buffer = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunkSize) }
                if count < 0 {
                    if errno == EINTR { continue }
                    try fail("cannot read \(path): \(String(cString: strerror(errno)))", stream)
                }
                if count == 0 { break }
                try stream.send(encode(type: .data, id: id, data: buffer[0..<count]))
            }
        case nil:
            break
        }
        try stream.send(encode(type: .data, id: id))
    }

    /// Tells the receiver why the transfer stops, then stops it.
    static func fail(_ message: String, _ stream: GRPCServerStream) throws(SessionError) -> Never {
        try? stream.send(encode(type: .error, data: Array(message.utf8)[...]))
        throw .local(message)
    }

    // MARK: - Wire format

    static func encodeStat(_ file: SessionFile) -> [UInt8] {
        var stat = ProtobufWriter()
        stat.string(1, file.path)
        stat.varint(2, UInt64(file.goFileMode))
        // uid and gid (3, 4) are 0: the docker CLI resets them too.
        if file.kind == .file { stat.varint(5, UInt64(bitPattern: file.size)) }
        stat.varint(6, UInt64(bitPattern: file.mtime))
        if file.kind == .symlink, let target = file.linkTarget { stat.string(7, target) }
        var packet = ProtobufWriter()
        packet.message(2, stat.bytes)
        return packet.bytes
    }

    static func encode(type: PacketType, id: UInt32 = 0, data: ArraySlice<UInt8> = []) -> [UInt8] {
        var packet = ProtobufWriter()
        packet.varint(1, type.rawValue)
        packet.varint(3, UInt64(id))
        packet.bytes(4, data)
        return packet.bytes
    }

    static func decode(_ message: [UInt8]) throws(SessionError) -> Packet {
        var reader = ProtobufReader(message)
        var packet = Packet(type: 0, id: 0, data: [])
        do {
            while let (field, value) = try reader.next() {
                switch (field, value) {
                case (1, .varint(let type)): packet.type = type
                case (3, .varint(let id)): packet.id = UInt32(truncatingIfNeeded: id)
                case (4, .bytes(let data)): packet.data = Array(data)
                default: continue
                }
            }
        } catch {
            throw .protocolViolation("a file transfer packet is \(error)")
        }
        return packet
    }
}
