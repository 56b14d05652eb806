// HPACK (RFC 7541), the header compression of HTTP/2: a decoder with the
// dynamic table the peer (grpc-go) fills, and a stateless encoder that never
// adds to the peer's table.

/// One header field. Names and values are decoded as UTF-8, with invalid
/// bytes replaced; gRPC metadata is ASCII.
struct HPACKHeader: Equatable, Sendable {
    var name: String
    var value: String

    /// The static table of RFC 7541 Appendix A; index 1 is element 0.
    static let staticTable: [HPACKHeader] = [
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
        ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
        ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
        ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
        ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
        ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
        ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""),
        ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""), ("set-cookie", ""),
        ("strict-transport-security", ""), ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""),
        ("via", ""), ("www-authenticate", ""),
    ].map { HPACKHeader(name: $0.0, value: $0.1) }
}

/// Why a header block could not be decoded; HTTP/2 answers any of them with
/// a connection error of type COMPRESSION_ERROR.
enum HPACKError: Error, Equatable, CustomStringConvertible {
    /// The block ends inside a field.
    case truncated
    /// An index names no entry of the static or dynamic table.
    case badIndex(Int)
    /// An integer is larger than 2^31 - 1.
    case integerOverflow
    /// A Huffman string contains EOS, or ends in padding that is longer than
    /// 7 bits or not all ones.
    case badHuffman
    /// A dynamic table size update asks for more than the SETTINGS limit.
    case tableSizeTooLarge(Int)
    /// A dynamic table size update follows a header field (RFC 7541 §4.2).
    case misplacedTableSizeUpdate
    /// The decoded fields exceed the header list size limit (RFC 9113 §6.5.2).
    case headerListTooLarge(Int)

    var description: String {
        switch self {
        case .truncated: "HPACK block ends inside a field"
        case .badIndex(let index): "HPACK index \(index) is in neither the static nor the dynamic table"
        case .integerOverflow: "HPACK integer exceeds 2^31 - 1"
        case .badHuffman: "HPACK Huffman string holds EOS or bad padding"
        case .tableSizeTooLarge(let size): "HPACK dynamic table size update to \(size) exceeds the SETTINGS limit"
        case .misplacedTableSizeUpdate: "HPACK dynamic table size update after a header field"
        case .headerListTooLarge(let limit): "HPACK header list exceeds \(limit) bytes"
        }
    }
}

/// Decodes the header blocks of one connection's direction; the dynamic
/// table carries over from block to block, so use one decoder per connection
/// and feed it every block in order.
struct HPACKDecoder {
    /// A dynamic table entry, with the octet lengths the peer counted
    /// (lossy UTF-8 decoding can change a string's length).
    private struct Entry {
        var header: HPACKHeader
        var nameLength: Int
        var valueLength: Int
        /// The size RFC 7541 §4.1 charges against the table.
        var size: Int { nameLength + valueLength + 32 }
    }

    /// The largest table size the peer may ask for: our SETTINGS_HEADER_TABLE_SIZE.
    let maxTableSize: Int
    /// The table size in force, as last set by the peer (initially `maxTableSize`).
    private(set) var tableCapacity: Int
    /// The sum of the entries' sizes.
    private(set) var tableSize = 0
    /// Newest first: element 0 is index 62.
    private var entries: [Entry] = []

    /// The most a block may decode to, counted as RFC 9113's SETTINGS_MAX_HEADER_LIST_SIZE
    /// (name + value + 32 per field): a block of one-byte indexed fields must not expand
    /// into gigabytes.
    let maxHeaderListSize: Int

    init(maxTableSize: Int = 4096, maxHeaderListSize: Int = 1 << 20) {
        self.maxTableSize = maxTableSize
        self.maxHeaderListSize = maxHeaderListSize
        tableCapacity = maxTableSize
    }

    /// The dynamic table, newest entry (index 62) first.
    var dynamicTable: [HPACKHeader] { entries.map(\.header) }

    /// Decodes one complete header block (HEADERS plus any CONTINUATION
    /// payloads, joined), updating the dynamic table. After an error the
    /// table may be half updated: the connection must end (COMPRESSION_ERROR).
    mutating func decode(_ block: [UInt8]) throws(HPACKError) -> [HPACKHeader] {
        var reader = Reader(bytes: block)
        var headers: [HPACKHeader] = []
        var listSize = 0
        func append(_ entry: Entry) throws(HPACKError) {
            listSize += entry.size
            guard listSize <= maxHeaderListSize else { throw .headerListTooLarge(maxHeaderListSize) }
            headers.append(entry.header)
        }
        while let first = reader.peek() {
            if first & 0x80 != 0 {  // 1xxxxxxx: indexed field
                try append(entry(at: reader.integer(prefix: 7)))
            } else if first & 0x40 != 0 {  // 01xxxxxx: literal with incremental indexing
                let entry = try literal(&reader, prefix: 6)
                insert(entry)
                try append(entry)
            } else if first & 0x20 != 0 {  // 001xxxxx: dynamic table size update
                guard headers.isEmpty else { throw .misplacedTableSizeUpdate }
                let size = try reader.integer(prefix: 5)
                guard size <= maxTableSize else { throw .tableSizeTooLarge(size) }
                tableCapacity = size
                evict(toFit: 0)
            } else {  // 0001xxxx never indexed, 0000xxxx without indexing
                try append(literal(&reader, prefix: 4))
            }
        }
        return headers
    }

    /// The entry at an RFC 7541 §2.3.3 index: 1...61 static, then dynamic.
    private func entry(at index: Int) throws(HPACKError) -> Entry {
        let staticCount = HPACKHeader.staticTable.count
        if index >= 1 && index <= staticCount {
            let header = HPACKHeader.staticTable[index - 1]
            return Entry(header: header, nameLength: header.name.utf8.count, valueLength: header.value.utf8.count)
        }
        guard index > staticCount && index - staticCount <= entries.count else { throw .badIndex(index) }
        return entries[index - staticCount - 1]
    }

    /// A literal field whose name index has a `prefix`-bit prefix; index 0
    /// means the name follows as a string.
    private func literal(_ reader: inout Reader, prefix: Int) throws(HPACKError) -> Entry {
        let nameIndex = try reader.integer(prefix: prefix)
        let name: (text: String, length: Int)
        if nameIndex == 0 {
            name = try reader.string()
        } else {
            let indexed = try entry(at: nameIndex)
            name = (indexed.header.name, indexed.nameLength)
        }
        let value = try reader.string()
        return Entry(header: HPACKHeader(name: name.text, value: value.text),
                     nameLength: name.length, valueLength: value.length)
    }

    /// Adds an entry, evicting the oldest ones to make room; an entry larger
    /// than the whole table empties it and is not added (RFC 7541 §4.4).
    private mutating func insert(_ entry: Entry) {
        guard entry.size <= tableCapacity else {
            entries.removeAll()
            tableSize = 0
            return
        }
        evict(toFit: entry.size)
        entries.insert(entry, at: 0)
        tableSize += entry.size
    }

    /// Evicts the oldest entries until `extra` more octets fit.
    private mutating func evict(toFit extra: Int) {
        while tableSize + extra > tableCapacity, let oldest = entries.popLast() {
            tableSize -= oldest.size
        }
    }

    /// A cursor over a header block.
    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        func peek() -> UInt8? {
            position < bytes.count ? bytes[position] : nil
        }

        /// An integer with a `prefix`-bit prefix (RFC 7541 §5.1), at most 2^31 - 1.
        mutating func integer(prefix: Int) throws(HPACKError) -> Int {
            guard position < bytes.count else { throw .truncated }
            let mask = (1 << prefix) - 1
            var value = Int(bytes[position]) & mask
            position += 1
            guard value == mask else { return value }
            var shift = 0
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                value += Int(byte & 0x7f) << shift
                guard value <= Int(Int32.max) else { throw .integerOverflow }
                if byte & 0x80 == 0 { return value }
                shift += 7
                // Past 28 bits any further byte either overflows or pads with zeros.
                guard shift <= 28 else { throw .integerOverflow }
            }
            throw .truncated
        }

        /// A string literal (RFC 7541 §5.2) and its length in octets once decoded.
        mutating func string() throws(HPACKError) -> (text: String, length: Int) {
            guard let first = peek() else { throw .truncated }
            let length = try integer(prefix: 7)
            guard length <= bytes.count - position else { throw .truncated }
            let raw = bytes[position..<position + length]
            position += length
            let octets = try first & 0x80 != 0 ? HPACKHuffman.decode(raw) : Array(raw)
            return (String(decoding: octets, as: UTF8.self), octets.count)
        }
    }
}

/// Encodes header blocks without touching the peer's dynamic table: exact
/// static-table matches as indexed fields, everything else as literals
/// without indexing, with new names and plain (non-Huffman) strings.
enum HPACKEncoder {
    static func encode(_ headers: [HPACKHeader]) -> [UInt8] {
        var block: [UInt8] = []
        for header in headers {
            if let index = HPACKHeader.staticTable.firstIndex(of: header) {
                appendInteger(index + 1, prefix: 7, flags: 0x80, to: &block)
            } else {
                block.append(0x00)
                appendString(header.name, to: &block)
                appendString(header.value, to: &block)
            }
        }
        return block
    }

    /// Appends `value` with a `prefix`-bit prefix (RFC 7541 §5.1); `flags`
    /// fills the first byte's bits above the prefix.
    private static func appendInteger(_ value: Int, prefix: Int, flags: UInt8, to block: inout [UInt8]) {
        let mask = (1 << prefix) - 1
        guard value >= mask else {
            block.append(flags | UInt8(value))
            return
        }
        block.append(flags | UInt8(mask))
        var rest = value - mask
        while rest >= 0x80 {
            block.append(UInt8(rest & 0x7f) | 0x80)
            rest >>= 7
        }
        block.append(UInt8(rest))
    }

    private static func appendString(_ string: String, to block: inout [UInt8]) {
        appendInteger(string.utf8.count, prefix: 7, flags: 0, to: &block)
        block.append(contentsOf: string.utf8)
    }
}

/// The Huffman code of RFC 7541 Appendix B.
enum HPACKHuffman {
    /// Decodes a Huffman-coded string, rejecting EOS and padding that is
    /// longer than 7 bits or not all ones (RFC 7541 §5.2).
    static func decode(_ bytes: ArraySlice<UInt8>) throws(HPACKError) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 8 / 5)
        var node = 0
        var pendingBits = 0  // bits read since the last symbol
        var pendingAllOnes = true
        for byte in bytes {
            for shift in stride(from: 7, through: 0, by: -1) {
                let bit = Int(byte >> UInt8(shift)) & 1
                pendingBits += 1
                pendingAllOnes = pendingAllOnes && bit == 1
                let next = tree[2 * node + bit]
                guard next < 0 else {
                    node = Int(next)
                    continue
                }
                let symbol = -Int(next) - 1
                guard symbol < 256 else { throw .badHuffman }
                output.append(UInt8(symbol))
                node = 0
                pendingBits = 0
                pendingAllOnes = true
            }
        }
        guard pendingBits <= 7 && pendingAllOnes else { throw .badHuffman }
        return output
    }

    /// The code as a binary tree: node n's children for bits 0 and 1 are at
    /// 2n and 2n + 1; a child ≥ 0 is an inner node, a child -(s + 1) is the
    /// leaf of symbol s. Node 0 is the root. The code is complete, so every
    /// bit path reaches a leaf.
    static let tree: [Int32] = {
        var tree: [Int32] = [0, 0]
        for symbol in codes.indices {
            let code = codes[symbol]
            var node = 0
            for depth in stride(from: Int(lengths[symbol]) - 1, to: 0, by: -1) {
                let slot = 2 * node + Int(code >> UInt32(depth) & 1)
                if tree[slot] == 0 {
                    tree[slot] = Int32(tree.count / 2)
                    tree += [0, 0]
                }
                node = Int(tree[slot])
            }
            tree[2 * node + Int(code & 1)] = -Int32(symbol) - 1
        }
        return tree
    }()

    /// Code of each symbol, right-aligned; symbol 256 is EOS.
    static let codes: [UInt32] = [
        0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
        0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
        0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
        0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
        0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
        0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
        0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
        0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
        0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
        0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
        0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
        0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
        0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
        0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
        0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
        0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
        0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
        0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
        0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
        0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
        0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
        0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
        0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
        0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
        0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
        0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
        0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
        0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
        0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
        0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
        0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
        0x3fffffff,
    ]
    /// Length in bits of each symbol's code.
    static let lengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ]
}
