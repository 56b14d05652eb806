import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// A SHA-256 digest, printed as `sha256:<hex>` (the OCI digest form).
public struct Digest: Hashable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 hex digits, with or without a `sha256:` prefix.
    public init?(parsing text: String) {
        let hex = text.hasPrefix("sha256:") ? text.dropFirst(7) : Substring(text)
        let digits = hex.utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        guard digits.count == 64, hex.utf8.count == 64 else { return nil }
        self.init(bytes: stride(from: 0, to: 64, by: 2).map { digits[$0] << 4 | digits[$0 + 1] })
    }

    /// Lowercase hex, 64 characters.
    public var hex: String {
        let table = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(table[Int(byte >> 4)])
            text.append(table[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { "sha256:" + hex }
}

/// SHA-256 through OpenSSL's EVP interface (OpenSSL 3 `EVP_DigestInit(3)`), which
/// picks the fastest implementation the CPU offers (SHA-NI, AVX2).
public enum SHA256 {
    /// What went wrong while hashing.
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// An EVP call failed; `reason` is OpenSSL's own error string.
        case openSSL(call: String, reason: String)
        case cannotOpen(path: String, errno: Int32)
        case cannotRead(path: String, errno: Int32)

        public var description: String {
            switch self {
            case let .openSSL(call, reason): return "OpenSSL \(call) failed: \(reason)"
            case let .cannotOpen(path, code): return "cannot open \(path) for hashing: \(String(cString: strerror(code)))"
            case let .cannotRead(path, code): return "cannot read \(path) while hashing: \(String(cString: strerror(code)))"
            }
        }
    }

    /// Size of the read buffer for file hashing: large enough that the read(2)
    /// calls cost nothing next to the hashing itself.
    public static let bufferSize = 1 << 20

    /// The digest of `bytes`.
    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) throws(Error) -> Digest {
        var hasher = try SHA256Hasher()
        try hasher.update(Array(bytes))
        return try hasher.finalize()
    }

    /// The digest of the file's contents, read with a 1 MiB buffer.
    public static func hashFile(path: String) throws(Error) -> Digest {
        var hasher = try SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        return try hasher.hashFile(path: path, buffer: buffer)
    }
}

/// An incremental SHA-256 computation. Copies are independent (the EVP context
/// is duplicated on write). Not `Sendable`: use one hasher per task.
public struct SHA256Hasher {
    private var context: EVPContext

    public init() throws(SHA256.Error) {
        context = try EVPContext()
    }

    /// Feeds `bytes` into the digest.
    public mutating func update(_ bytes: [UInt8]) throws(SHA256.Error) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(SHA256.Error) in try update(raw) }
        }
        try result.get()
    }

    /// Feeds the bytes of `buffer` into the digest.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) throws(SHA256.Error) {
        try makeUnique()
        try check(EVP_DigestUpdate(context.pointer, buffer.baseAddress, buffer.count), "EVP_DigestUpdate")
    }

    /// Returns the digest and resets the hasher for a new message.
    public mutating func finalize() throws(SHA256.Error) -> Digest {
        try makeUnique()
        var bytes = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        try check(EVP_DigestFinal_ex(context.pointer, &bytes, &length), "EVP_DigestFinal_ex")
        try context.reset()
        // EVP_sha256 always yields 32 bytes; anything else is an OpenSSL fault.
        guard let digest = Digest(bytes: Array(bytes.prefix(Int(length)))) else {
            throw .openSSL(call: "EVP_DigestFinal_ex", reason: "returned \(length) bytes for SHA-256")
        }
        return digest
    }

    /// Hashes a whole file with the caller's buffer (so parallel workers reuse one
    /// buffer each), with a plain read(2) loop.
    mutating func hashFile(path: String, buffer: UnsafeMutableRawBufferPointer) throws(SHA256.Error) -> Digest {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        defer { close(descriptor) }
        // The kernel may read ahead more aggressively for a sequential scan.
        _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw .cannotRead(path: path, errno: errno)
            }
            try update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return try finalize()
    }

    private mutating func makeUnique() throws(SHA256.Error) {
        if !isKnownUniquelyReferenced(&context) {
            context = try context.copy()
        }
    }
}

/// The one owner of an `EVP_MD_CTX`, freed in `deinit`.
private final class EVPContext {
    let pointer: OpaquePointer

    init() throws(SHA256.Error) {
        guard let pointer = EVP_MD_CTX_new() else { throw openSSLError("EVP_MD_CTX_new") }
        self.pointer = pointer
        try reset()
    }

    private init(adopting pointer: OpaquePointer) {
        self.pointer = pointer
    }

    func reset() throws(SHA256.Error) {
        try check(EVP_DigestInit_ex(pointer, EVP_sha256(), nil), "EVP_DigestInit_ex")
    }

    func copy() throws(SHA256.Error) -> EVPContext {
        guard let duplicate = EVP_MD_CTX_new() else { throw openSSLError("EVP_MD_CTX_new") }
        let copied = EVPContext(adopting: duplicate)
        try check(EVP_MD_CTX_copy_ex(duplicate, pointer), "EVP_MD_CTX_copy_ex")
        return copied
    }

    deinit {
        EVP_MD_CTX_free(pointer)
    }
}

/// EVP functions return 1 on success (OpenSSL `EVP_DigestInit(3)`, RETURN VALUES).
private func check(_ result: Int32, _ call: String) throws(SHA256.Error) {
    guard result == 1 else { throw openSSLError(call) }
}

/// The error for a failed `call`, with OpenSSL's message from its thread-local
/// error queue (`ERR_get_error(3)`, `ERR_error_string_n(3)`).
private func openSSLError(_ call: String) -> SHA256.Error {
    let code = ERR_get_error()
    guard code != 0 else { return .openSSL(call: call, reason: "no error reported") }
    var message = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &message, message.count)
    // Leave no stale entries behind for the next call on this thread.
    ERR_clear_error()
    return .openSSL(call: call, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}
