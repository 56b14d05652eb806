import Foundation

extension HTTPBody {
    /// A body read from the file at `path` in chunks, with its current size as `Content-Length`.
    public static func file(_ path: String) throws -> HTTPBody {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes[.size] as? NSNumber)?.int64Value
        return .stream(length: size) { try FileBodyStream(path: path) }
    }

    /// A fresh stream over this body, for one attempt.
    func open() throws -> any HTTPBodyStream {
        switch self {
        case .empty: BytesBodyStream(bytes: [])
        case .bytes(let bytes): BytesBodyStream(bytes: bytes)
        case .stream(_, let open): try open()
        }
    }
}

/// A body held in memory.
struct BytesBodyStream: HTTPBodyStream {
    let bytes: [UInt8]
    var offset = 0

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
        }
        offset += count
        return count
    }
}

/// A body read from a file; the file is closed when the stream is released.
public final class FileBodyStream: HTTPBodyStream {
    private let handle: FileHandle

    /// Opens `path` for reading.
    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        self.handle = handle
    }

    deinit {
        try? handle.close()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let data = try handle.read(upToCount: buffer.count) else { return 0 }
        return data.copyBytes(to: buffer)
    }
}
