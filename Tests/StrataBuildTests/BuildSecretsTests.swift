import Foundation
import StrataBuild
import Testing

@Suite struct BuildSecretsTests {
    @Test func secretsComeFromFilesAndTheEnvironment() throws {
        let folder = FileManager.default.temporaryDirectory.path + "/strata-secrets-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data("from-file".utf8).write(to: URL(fileURLWithPath: folder + "/token"))
        try Data("named-file".utf8).write(to: URL(fileURLWithPath: folder + "/bare"))
        let secrets = try BuildSecrets(["id=a,src=token", "id=b,env=B_VALUE", "id=c,source=\(folder)/token", "id=ENVED", "id=bare",
                                        "type=env,id=t,src=B_VALUE"],
                                       environment: ["B_VALUE": "from-env", "ENVED": "bare-env"], directory: folder)
        #expect(secrets.ids == ["a", "b", "c", "ENVED", "bare", "t"])
        #expect(secrets.value("a") == Array("from-file".utf8))
        #expect(secrets.value("b") == Array("from-env".utf8))
        #expect(secrets.value("c") == Array("from-file".utf8))
        #expect(secrets.value("ENVED") == Array("bare-env".utf8))
        #expect(secrets.value("bare") == Array("named-file".utf8))
        #expect(secrets.value("t") == Array("from-env".utf8))
        #expect(secrets.value("z") == nil)
        #expect(!"\(secrets)".contains("from-"), "a value in the description: \(secrets)")
    }

    @Test(arguments: [
        (["src=x"], "--secret src=x: no id="),
        (["id=a,src="], "--secret id=a,src=: expected id=ID[,src=FILE|,env=VAR]"),
        (["id=a,mode=0400"], "--secret id=a,mode=0400: unknown field 'mode' (id, src, env, type)"),
        (["id=a,type=ssh"], "--secret id=a,type=ssh: type is file or env, not 'ssh'"),
        (["id=a,env=UNSET_VARIABLE"], "--secret id=a: the environment variable UNSET_VARIABLE is not set"),
        (["id=a,src=/nonexistent/file"], "--secret id=a: cannot read /nonexistent/file"),
        (["id=a,env=V", "id=a,env=V"], "--secret: id 'a' is given twice"),
    ])
    func aSecretThatCannotBeUsedIsNamedWithoutItsValue(specifications: [String], message: String) {
        let error = #expect(throws: BuildSecrets.Error.self) {
            try BuildSecrets(specifications, environment: ["V": "the-value"], directory: "/")
        }
        #expect(error?.description == message)
        #expect(error?.description.contains("the-value") == false)
    }
}
