@testable import StrataEngine
import Testing

@Suite struct HPACKTests {
    /// One header block of an RFC 7541 Appendix C example, with the fields and
    /// dynamic table (newest first) the RFC lists after it.
    struct Step {
        var block: String
        var headers: [HPACKHeader]
        var table: [HPACKHeader]
        var tableSize: Int
    }

    /// The bytes of a hex dump as the RFC prints it; spaces are ignored.
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = hex.compactMap(\.hexDigitValue)
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(digits[$0] << 4 | digits[$0 + 1]) }
    }

    /// Feeds the steps' blocks, in order, to one decoder.
    func run(_ steps: [Step], maxTableSize: Int = 4096) throws {
        var decoder = HPACKDecoder(maxTableSize: maxTableSize)
        for step in steps {
            #expect(try decoder.decode(Self.bytes(step.block)) == step.headers, "\(step.block)")
            #expect(decoder.dynamicTable == step.table, "\(step.block)")
            #expect(decoder.tableSize == step.tableSize, "\(step.block)")
        }
    }

    // MARK: RFC 7541 Appendix C

    @Test func singleFields() throws {
        // C.2.1 literal with indexing, C.2.2 without indexing, C.2.3 never indexed, C.2.4 indexed.
        try run([Step(block: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
                      headers: [HPACKHeader("custom-key", "custom-header")],
                      table: [HPACKHeader("custom-key", "custom-header")], tableSize: 55)])
        try run([Step(block: "040c 2f73 616d 706c 652f 7061 7468",
                      headers: [HPACKHeader(":path", "/sample/path")], table: [], tableSize: 0)])
        try run([Step(block: "1008 7061 7373 776f 7264 0673 6563 7265 74",
                      headers: [HPACKHeader("password", "secret")], table: [], tableSize: 0)])
        try run([Step(block: "82", headers: [HPACKHeader(":method", "GET")], table: [], tableSize: 0)])
    }

    /// C.3 and C.4: three requests on one connection; `blocks` are their encodings.
    static func requests(_ blocks: [String]) -> [Step] {
        let authority = HPACKHeader(":authority", "www.example.com")
        let cacheControl = HPACKHeader("cache-control", "no-cache")
        let custom = HPACKHeader("custom-key", "custom-value")
        let get = [HPACKHeader(":method", "GET"), HPACKHeader(":scheme", "http"), HPACKHeader(":path", "/"), authority]
        return [
            Step(block: blocks[0], headers: get, table: [authority], tableSize: 57),
            Step(block: blocks[1], headers: get + [cacheControl], table: [cacheControl, authority], tableSize: 110),
            Step(block: blocks[2],
                 headers: [HPACKHeader(":method", "GET"), HPACKHeader(":scheme", "https"),
                           HPACKHeader(":path", "/index.html"), authority, custom],
                 table: [custom, cacheControl, authority], tableSize: 164),
        ]
    }

    @Test func requestsWithoutHuffman() throws {
        try run(Self.requests([
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ]))
    }

    @Test func requestsWithHuffman() throws {
        try run(Self.requests([
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ]))
    }

    /// C.5 and C.6: three responses through a 256-octet table, which evicts.
    static func responses(_ blocks: [String]) -> [Step] {
        let status302 = HPACKHeader(":status", "302")
        let status307 = HPACKHeader(":status", "307")
        let privateCache = HPACKHeader("cache-control", "private")
        let date21 = HPACKHeader("date", "Mon, 21 Oct 2013 20:13:21 GMT")
        let date22 = HPACKHeader("date", "Mon, 21 Oct 2013 20:13:22 GMT")
        let location = HPACKHeader("location", "https://www.example.com")
        let gzip = HPACKHeader("content-encoding", "gzip")
        let cookie = HPACKHeader("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")
        return [
            Step(block: blocks[0], headers: [status302, privateCache, date21, location],
                 table: [location, date21, privateCache, status302], tableSize: 222),
            // :status 307 evicts :status 302.
            Step(block: blocks[1], headers: [status307, privateCache, date21, location],
                 table: [status307, location, date21, privateCache], tableSize: 222),
            Step(block: blocks[2],
                 headers: [HPACKHeader(":status", "200"), privateCache, date22, location, gzip, cookie],
                 table: [cookie, gzip, date22], tableSize: 215),
        ]
    }

    @Test func responsesWithoutHuffman() throws {
        try run(Self.responses([
            """
            4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a
            3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d
            """,
            "4803 3330 37c1 c0bf",
            """
            88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04
            677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49
            553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31
            """,
        ]), maxTableSize: 256)
    }

    @Test func responsesWithHuffman() throws {
        try run(Self.responses([
            """
            4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
            919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3
            """,
            "4883 640e ffc1 c0bf",
            """
            88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7
            821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed
            4ee5 b106 3d50 07
            """,
        ]), maxTableSize: 256)
    }

    // MARK: Table size

    @Test func tableSizeUpdatesEvictAndBoundTheTable() throws {
        var decoder = HPACKDecoder()
        _ = try decoder.decode(Self.bytes("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))
        #expect(decoder.tableSize == 55)
        // Size 0 empties the table; then 4096 (31 + 97 + 31 << 7), the SETTINGS limit, is allowed.
        #expect(try decoder.decode([0x20, 0x3f, 0xe1, 0x1f]) == [])
        #expect(decoder.dynamicTable == [] && decoder.tableSize == 0 && decoder.tableCapacity == 4096)
        // Size 50, then a 55-octet entry: too large for the table, so it is not kept but still decoded.
        let block = [0x3f, 0x13] + Self.bytes("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")
        #expect(try decoder.decode(block) == [HPACKHeader("custom-key", "custom-header")])
        #expect(decoder.dynamicTable == [] && decoder.tableCapacity == 50)
    }

    // MARK: Malformed input

    @Test(arguments: [
        ([0x40, 0x0a, 0x63], HPACKError.truncated),  // name of 10 octets, 1 present
        ([0xff], .truncated),  // integer continues past the end
        ([0x00, 0x01, 0x61], .truncated),  // value missing
        ([0x80], .badIndex(0)),
        ([0xbe], .badIndex(62)),  // dynamic table is empty
        ([0x7f, 0x00, 0x00], .badIndex(63)),  // name index 63, dynamic table empty
        ([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], .integerOverflow),
        ([0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], .integerOverflow),  // zero padding past 31 bits
        ([0x00, 0x84, 0xff, 0xff, 0xff, 0xff], .badHuffman),  // EOS (30 ones) inside a string
        ([0x00, 0x82, 0x1f, 0xff], .badHuffman),  // "a" then 11 bits of padding
        ([0x00, 0x81, 0x18], .badHuffman),  // "a" then padding of zeros
        ([0x3f, 0xe2, 0x1f], .tableSizeTooLarge(4097)),
        ([0x82, 0x20], .misplacedTableSizeUpdate),
    ] as [([UInt8], HPACKError)])
    func rejectsMalformedBlocks(block: [UInt8], error: HPACKError) {
        var decoder = HPACKDecoder()
        #expect(throws: error) { try decoder.decode(block) }
        #expect(!error.description.isEmpty && !error.description.contains("\n"))
    }

    // MARK: Huffman

    @Test func huffmanCodeIsCompleteAndEveryByteRoundTrips() throws {
        // A complete prefix code satisfies Kraft's equality: the sum of 2^-length is 1.
        #expect(HPACKHuffman.lengths.reduce(0) { $0 + 1 << (30 - Int($1)) } == 1 << 30)
        let input = (0...255).map(UInt8.init) + Array("a:b/c-d".utf8)
        var bits: [Bool] = []
        for byte in input {
            let code = HPACKHuffman.codes[Int(byte)], length = Int(HPACKHuffman.lengths[Int(byte)])
            bits += (0..<length).reversed().map { code >> UInt32($0) & 1 == 1 }
        }
        bits += Array(repeating: true, count: (8 - bits.count % 8) % 8)  // EOS prefix as padding
        let packed = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        #expect(try HPACKHuffman.decode(packed[...]) == input)
    }

    @Test func decodesValidPadding() throws {
        #expect(try HPACKHuffman.decode([0x1f][...]) == Array("a".utf8))  // 00011 + 111
        #expect(try HPACKHuffman.decode([][...]) == [])
    }

    // MARK: Encoder

    @Test func encoderOutputDecodesBackWithoutTouchingTheTable() throws {
        let headers = [
            HPACKHeader(":status", "200"),
            HPACKHeader("content-type", "application/grpc"),
            HPACKHeader("grpc-status", "0"),
            HPACKHeader("grpc-message", String(repeating: "x", count: 300)),  // multi-byte length
            HPACKHeader("trace-bin", "AAECAw=="),
            HPACKHeader(":status", "404"),
        ]
        let block = HPACKEncoder.encode(headers)
        #expect(block.first == 0x88)
        var decoder = HPACKDecoder()
        #expect(try decoder.decode(block) == headers)
        #expect(decoder.dynamicTable == [])
    }

    @Test func encoderWritesLiteralsWithoutIndexing() {
        #expect(HPACKEncoder.encode([HPACKHeader("grpc-status", "0")])
            == [0x00, 0x0b] + Array("grpc-status".utf8) + [0x01] + Array("0".utf8))
        // 127 needs the continuation byte 0x00 after the full 7-bit prefix.
        let long = String(repeating: "v", count: 127)
        #expect(HPACKEncoder.encode([HPACKHeader("k", long)]).prefix(5) == [0x00, 0x01, 0x6b, 0x7f, 0x00])
    }

    @Test func aBlockThatExpandsPastTheHeaderListLimitIsRefused() throws {
        // 100 one-byte references to `:authority` (index 1, 42 bytes each as RFC 9113 counts).
        var decoder = HPACKDecoder(maxHeaderListSize: 1000)
        #expect(throws: HPACKError.headerListTooLarge(1000)) { try decoder.decode([UInt8](repeating: 0x81, count: 100)) }
        var roomy = HPACKDecoder(maxHeaderListSize: 5000)
        #expect(try roomy.decode([UInt8](repeating: 0x81, count: 100)).count == 100)
    }
}

private extension HPACKHeader {
    init(_ name: String, _ value: String) {
        self.init(name: name, value: value)
    }
}
