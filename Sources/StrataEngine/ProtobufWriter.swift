/// Just enough protobuf encoding (protobuf.dev "Encoding") for fsutil's packets and gRPC's
/// health answer: proto3 fields, zero values left out.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        key(field, wireType: 0)
        raw(value)
    }

    mutating func bytes(_ field: Int, _ value: ArraySlice<UInt8>) {
        guard !value.isEmpty else { return }
        key(field, wireType: 2)
        raw(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String) {
        bytes(field, Array(value.utf8)[...])
    }

    /// An embedded message, written even when empty (its presence is what it says).
    mutating func message(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        raw(UInt64(value.count))
        bytes += value
    }

    private mutating func key(_ field: Int, wireType: UInt64) {
        raw(UInt64(field) << 3 | wireType)
    }

    private mutating func raw(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}
