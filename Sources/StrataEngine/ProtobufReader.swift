/// Just enough of the protobuf wire format (protobuf.dev "Encoding") to read
/// BuildKit's `StatusResponse`: varints and length-delimited fields, with
/// fixed-width fields skipped. Unknown fields are skipped, as proto3 requires,
/// so a newer BuildKit adding fields does not break the decoder.
struct ProtobufReader {
    /// A field's value as the wire carries it.
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed64(UInt64)
        case fixed32(UInt32)
    }

    struct Error: Swift.Error, Equatable, CustomStringConvertible {
        var offset: Int
        var reason: String

        var description: String { "malformed protobuf at byte \(offset): \(reason)" }
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    init(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(Error) -> (field: Int, value: Value)? {
        guard position < bytes.endIndex else { return nil }
        let start = position
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        guard field > 0 else { throw Error(offset: start - bytes.startIndex, reason: "field number 0") }
        switch key & 7 {
        case 0:
            return (field, .varint(try varint()))
        case 1:
            return (field, .fixed64(try fixed(8)))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - position) else {
                throw Error(offset: position - bytes.startIndex, reason: "length \(length) runs past the end")
            }
            let value = bytes[position..<position + Int(length)]
            position += Int(length)
            return (field, .bytes(value))
        case 5:
            return (field, .fixed32(UInt32(try fixed(4))))
        case let wireType:
            // 3 and 4 are the deprecated groups, which proto3 messages never contain.
            throw Error(offset: start - bytes.startIndex, reason: "unsupported wire type \(wireType)")
        }
    }

    private mutating func varint() throws(Error) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.endIndex {
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { break }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw Error(offset: position - bytes.startIndex, reason: "truncated or overlong varint")
    }

    private mutating func fixed(_ width: Int) throws(Error) -> UInt64 {
        guard bytes.endIndex - position >= width else {
            throw Error(offset: position - bytes.startIndex, reason: "truncated fixed-width field")
        }
        var result: UInt64 = 0
        for index in 0..<width {
            result |= UInt64(bytes[position + index]) << (8 * UInt64(index))
        }
        position += width
        return result
    }
}

extension ProtobufReader.Value {
    var string: String? {
        if case .bytes(let bytes) = self { String(decoding: bytes, as: UTF8.self) } else { nil }
    }

    var data: ArraySlice<UInt8>? {
        if case .bytes(let bytes) = self { bytes } else { nil }
    }

    var integer: Int64? {
        if case .varint(let value) = self { Int64(bitPattern: value) } else { nil }
    }
}
