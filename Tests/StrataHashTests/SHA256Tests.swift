#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import StrataHash

/// Known answers: FIPS 180-2 examples, and `openssl dgst -sha256` of 1 MiB of zeros.
@Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
])
func knownVectors(_ input: String, _ hex: String) throws {
    #expect(try SHA256.hash(Array(input.utf8)).hex == hex)
}

@Test func oneMebibyteOfZerosMatchesOpenSSLCommandLine() throws {
    let digest = try SHA256.hash([UInt8](repeating: 0, count: 1 << 20))
    #expect(digest.description == "sha256:30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58")
}

@Test func incrementalUpdatesAndCopiesAreIndependent() throws {
    var hasher = try SHA256Hasher()
    try hasher.update(Array("a".utf8))
    var copy = hasher
    try hasher.update(Array("bc".utf8))
    try copy.update(Array("xy".utf8))
    #expect(try hasher.finalize() == SHA256.hash(Array("abc".utf8)))
    #expect(try copy.finalize() == SHA256.hash(Array("axy".utf8)))
    // finalize resets for the next message.
    #expect(try hasher.finalize().hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
}

@Test func digestParsesItsOwnText() throws {
    let digest = try SHA256.hash(Array("abc".utf8))
    #expect(Digest(parsing: digest.description) == digest)
    #expect(Digest(parsing: digest.hex) == digest)
    #expect(Digest(parsing: "sha256:abc") == nil)
    #expect(Digest(parsing: String(repeating: "g", count: 64)) == nil)
}

@Test func fileHashingMatchesInMemoryHashing() throws {
    let directory = try HashTestDirectory()
    // Larger than the 1 MiB buffer, and not a multiple of it.
    let content = (0..<(3 << 20) + 12345).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try directory.write("big.bin", content)
    try directory.write("small.txt", Array("abc".utf8))
    #expect(try SHA256.hashFile(path: directory.path + "/big.bin") == SHA256.hash(content))
    let digests = try SHA256.hashFiles([directory.path + "/small.txt", directory.path + "/big.bin"])
    #expect(digests == [try SHA256.hash(Array("abc".utf8)), try SHA256.hash(content)])
}

@Test func missingFileErrorNamesThePath() {
    #expect(throws: SHA256.Error.cannotOpen(path: "/nonexistent/file", errno: ENOENT)) {
        try SHA256.hashFile(path: "/nonexistent/file")
    }
    #expect(throws: SHA256.Error.cannotOpen(path: "/nonexistent/b", errno: ENOENT)) {
        try SHA256.hashFiles(["/etc/hostname", "/nonexistent/b"])
    }
}
