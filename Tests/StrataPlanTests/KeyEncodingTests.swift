import StrataCache
import StrataFleet
import StrataHash
import Testing
@testable import StrataPlan

/// The context digest is an unambiguous encoding: no two different sets of entries hash
/// alike, whatever bytes their names and link targets hold.
@Suite struct KeyEncodingTests {
    static func link(_ path: String, _ target: String) -> ContextFile {
        ContextFile(path: path, kind: .symlink, mode: 0o120777, size: Int64(target.utf8.count), mtime: 0, inode: 0, device: 0,
                    linkTarget: target)
    }

    static func file(_ path: String) -> ContextFile {
        ContextFile(path: path, kind: .file, mode: 0o100644, size: 1, mtime: 0, inode: 0, device: 0)
    }

    static func digest(_ entries: [ContextFile], _ digests: [String: Digest] = [:]) throws -> Digest {
        try KeyComputer.contextDigest(entries, digests: digests).0
    }

    /// v1 wrote `path NUL kind NUL mode NUL target LF`: a symlink `a` → `t\nx` followed by a
    /// file `y` encoded exactly like a symlink `a` → `t` followed by a file named `x\0f\0…\ny`.
    @Test func aLinkTargetHoldingTheSeparatorsEncodesApart() throws {
        let sneaky = "t\n" + "x\u{0}f\u{0}644\u{0}"
        let one = try Self.digest([Self.link("a", sneaky), Self.file("y")], ["y": try SHA256.hash([1])])
        let other = try Self.digest([Self.link("a", "t"), Self.file("x\u{0}f\u{0}644\u{0}\ny")],
                                    ["x\u{0}f\u{0}644\u{0}\ny": try SHA256.hash([1])])
        #expect(one != other)
    }

    @Test(arguments: [
        ([("a", "bc")], [("ab", "c")]),
        ([("a", "")], [("a\n", "")]),
        ([("a", "b,c")], [("a", "b"), ("c", "")]),
        ([("1:a", "b")], [("1", "a:b")]),
    ])
    func fieldsCannotBleedIntoEachOther(left: [(String, String)], right: [(String, String)]) throws {
        let one = try Self.digest(left.map { Self.link($0.0, $0.1) })
        let other = try Self.digest(right.map { Self.link($0.0, $0.1) })
        #expect(one != other)
    }

    @Test func theEncodingIsTheDocumentedNetstrings() throws {
        var expected: [UInt8] = []
        for field in ["a", "l", "777", "t"] {
            expected += Array("\(field.utf8.count):\(field),".utf8)
        }
        #expect(try Self.digest([Self.link("a", "t")]) == SHA256.hash(expected))
        #expect(KeyInputs.currentVersion == "strata-key-v3")
    }
}
