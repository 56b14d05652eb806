import Testing
@testable import StrataHTTP

@Test func linksAgainstlibcurl() {
    #expect(libcurlVersion().contains("libcurl"))
}
