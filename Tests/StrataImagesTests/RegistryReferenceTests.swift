import Testing
@testable import StrataImages

struct RegistryReferenceTests {
    @Test(arguments: [
        ("127.0.0.1:5000/team/web:1.0", "127.0.0.1:5000", "team/web", "1.0"),
        ("ghcr.io/acme/base-python", "ghcr.io", "acme/base-python", nil),
        ("localhost/web@sha256:" + String(repeating: "a", count: 64), "localhost", "web", "sha256:" + String(repeating: "a", count: 64)),
        ("127.0.0.1:5000/web", "127.0.0.1:5000", "web", nil),
    ] as [(String, String, String, String?)])
    func parses(_ text: String, host: String, repository: String, reference: String?) throws {
        let parsed = try RegistryReference(parsing: text)
        #expect(parsed.host == host)
        #expect(parsed.repository == repository)
        #expect(parsed.reference == reference)
        #expect(parsed.description == text)
    }

    @Test(arguments: ["web:1.0", "acme/web", "127.0.0.1:5000/", "ghcr.io/acme/web:"])
    func refusesWhatNamesNoRegistry(_ text: String) {
        #expect(throws: ImageTransfer.RegistryError.self) { try RegistryReference(parsing: text) }
    }
}
