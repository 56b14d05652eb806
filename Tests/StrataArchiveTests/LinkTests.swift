import Testing
@testable import StrataArchive

@Test func linksAgainstlibarchive() {
    #expect(libarchiveVersion().contains("libarchive"))
}
