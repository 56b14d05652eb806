import Testing
@testable import StrataHash

@Test func linksAgainstOpenSSL() {
    #expect(openSSLVersion().contains("OpenSSL"))
}
