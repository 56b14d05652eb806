@testable import StrataEngine
import Testing

@Suite struct ProtobufReaderTests {
    @Test func readsVarintsAndLengthDelimitedFields() throws {
        // field 1 varint 150 (the encoding guide's example), field 2 "hi", field 3 fixed32, field 4 fixed64.
        var reader = ProtobufReader([0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69,
                                     0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0])
        let first = try #require(try reader.next())
        #expect(first.field == 1 && first.value.integer == 150)
        let second = try #require(try reader.next())
        #expect(second.field == 2 && second.value.string == "hi")
        let third = try #require(try reader.next())
        guard case .fixed32(1) = third.value else { Issue.record("\(third)"); return }
        let fourth = try #require(try reader.next())
        guard case .fixed64(2) = fourth.value else { Issue.record("\(fourth)"); return }
        #expect(try reader.next() == nil)
    }

    @Test(arguments: [
        ([0x0a, 0x05, 0x68], "runs past the end"),
        ([0x08, 0x96], "truncated"),
        ([0x0b], "wire type 3"),
        ([0x00, 0x01], "field number 0"),
    ] as [([UInt8], String)])
    func rejectsMalformedInput(bytes: [UInt8], reason: String) {
        var reader = ProtobufReader(bytes)
        #expect {
            while try reader.next() != nil {}
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func decodesAVertexWithTimestampsAndSkipsUnknownFields() throws {
        // Vertex{digest "d", name "n", cached true, started {1, 2}, error "e", field 9 varint}.
        let vertex: [UInt8] = [0x0a, 1, 0x64, 0x1a, 1, 0x6e, 0x20, 1, 0x2a, 4, 0x08, 1, 0x10, 2, 0x3a, 1, 0x65, 0x48, 7]
        let status = try BuildKitStatus(decoding: [0x0a, UInt8(vertex.count)] + vertex)
        #expect(status.vertexes == [BuildKitStatus.Vertex(
            digest: "d", name: "n", cached: true, started: .init(seconds: 1, nanos: 2), error: "e")])
    }
}
