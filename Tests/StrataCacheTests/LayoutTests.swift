#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import StrataCache

@Test func layoutIsCreatedWithOCIFiles() throws {
    let fixture = try CacheFixture()
    for folder in ["keys", "nodes", "files", "blobs/sha256"] {
        #expect(try FileSystem.status(fixture.cache.path + "/" + folder)?.isDirectory == true, "\(folder)")
    }
    #expect(try fixture.read("oci-layout") == Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
    #expect(try fixture.read("index.json") == Array(#"{"manifests":[],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#.utf8))
    #expect(try FileSystem.status(fixture.cache.lockPath) != nil)
    #expect(fixture.cache.filesDirectory == fixture.cache.path + "/files")
    #expect(fixture.cache.verify().isClean)
}

@Test func openingAgainKeepsWhatIsThere() throws {
    let fixture = try CacheFixture()
    let image = try fixture.storeImage(key: String(repeating: "a", count: 64), name: "base", layers: ["layer"])
    try fixture.cache.addManifest(image.manifest)
    let index = try fixture.read("index.json")

    let reopened = try CacheDirectory(path: fixture.cache.path + "/")
    #expect(reopened.path == fixture.cache.path)
    #expect(try fixture.read("index.json") == index)
    #expect(try reopened.manifests() == [image.manifest])
}

@Test func creationFailureNamesThePathAndReason() throws {
    let fixture = try CacheFixture()
    try fixture.overwrite("plain-file", [])
    let path = fixture.cache.path + "/plain-file/cache"
    let error = #expect(throws: CacheDirectory.Error.self) { try CacheDirectory(path: path) }
    #expect(error?.description == "cannot create cache directory \(path): Not a directory")
}

@Test func errorDescriptionsAreOneLineAndActionable() {
    let errors: [(CacheDirectory.Error, String)] = [
        (.cannotCreateDirectory(path: "/x/keys", errno: EACCES), "cannot create cache directory /x/keys: Permission denied"),
        (.busy(path: "/x"), "the cache /x is in use by another strata process; try again when it finishes"),
        (.invalidKey("zz"), "invalid cache key \"zz\": a key is 64 lowercase hex digits"),
    ]
    for (error, text) in errors {
        #expect(error.description == text)
        #expect(!error.description.contains("\n"))
    }
}
