import Foundation
import Testing
@testable import StrataFleet

/// Compose interpolation as the compose specification writes it, and the `build:` keys strata
/// does not honour said with their lines.
@Suite struct ComposeInterpolationTests {
    static let variables = ComposeInterpolation(environment: ["SET": "value", "EMPTY": ""], dotEnv: ["SET": "from-dotenv", "FILE": "dotenv"])

    @Test(arguments: [
        ("$SET", "value"), ("${SET}", "value"), ("a${SET}b", "avalueb"), ("$SET.x", "value.x"),
        ("${FILE}", "dotenv"),
        ("${UNSET:-default}", "default"), ("${EMPTY:-default}", "default"), ("${EMPTY-default}", ""),
        ("${UNSET-default}", "default"), ("${SET:-default}", "value"),
        ("${SET:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"), ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}-x}", "value-x"),
        ("$$SET", "$SET"), ("cost: $5", "cost: $5"), ("trailing $", "trailing $"),
        ("acme/web:${TAG:-latest}", "acme/web:latest"),
    ])
    func valuesInterpolateAsComposeDoes(text: String, expected: String) throws {
        var unset: [String] = []
        #expect(try Self.variables.interpolate(text, unset: &unset) == expected)
        #expect(unset.isEmpty)
    }

    @Test func unsetVariablesAreEmptyAndNamed() throws {
        var unset: [String] = []
        #expect(try Self.variables.interpolate("a${NOPE}b$ALSO_NOT", unset: &unset) == "ab")
        #expect(unset == ["NOPE", "ALSO_NOT"])
    }

    @Test(arguments: [
        ("${NOPE:?set NOPE first}", "required variable NOPE is missing a value: set NOPE first"),
        ("${EMPTY:?}", "required variable EMPTY is missing a value"),
        ("${SET", "invalid interpolation format in '${SET': a '${' is not closed"),
        ("${1X}", "invalid interpolation format in '${1X}': '${1X}' does not start with a variable name"),
        ("${SET#x}", "invalid interpolation format in '${SET#x}': '${SET#x}'"),
    ])
    func requiredAndMalformedAreErrors(text: String, message: String) {
        var unset: [String] = []
        let failure = #expect(throws: ComposeInterpolation.Failure.self) { try Self.variables.interpolate(text, unset: &unset) }
        #expect(failure?.message == message)
    }

    @Test func dotEnvFilesReadAsComposeWritesThem() throws {
        let tree = try TempTree([".env": "# comment\nA=1\nexport B = two \nC='lit $X'\nD=\"q\\\"uote\"\nE=v # note\n\nbroken\n"])
        #expect(ComposeInterpolation.readDotEnv(tree.path(".env")) == ["A": "1", "B": "two", "C": "lit $X", "D": "q\"uote", "E": "v"])
        #expect(ComposeInterpolation.readDotEnv(tree.path("missing")) == nil)
    }

    @Test func everyStringOfABuildIsInterpolatedTheEnvironmentOverDotEnv() throws {
        let tree = try TempTree([
            ".env": "APP_ENV=staging\nTAG=2.0\n",
            "docker-compose.yml": """
            services:
              web:
                image: acme/web:${TAG:-latest}
                build:
                  context: ${WEB_DIR:-web}
                  dockerfile: Dockerfile.${APP_ENV}
                  target: ${TARGET-runtime}
                  args:
                    APP_ENV: ${APP_ENV}
                    PRICE: $$5
                    FROM_ENV:
                  labels: ["owner=${OWNER}"]
            """,
        ])
        let manifest = try ManifestLoader.load(path: tree.path("docker-compose.yml"),
                                               environment: ["APP_ENV": "production", "FROM_ENV": "e"])
        let web = try #require(manifest.images.first)
        #expect(web.imageReference == "acme/web:2.0")
        #expect(web.tags == ["2.0"])
        #expect(web.context == "web")
        #expect(web.dockerfile == "web/Dockerfile.production")
        #expect(web.target == "runtime")
        #expect(web.settings.args == ["APP_ENV": "production", "PRICE": "$5", "FROM_ENV": "e"])
        #expect(web.settings.labels == ["owner": ""])
        #expect(manifest.warnings.map(\.description) == [
            "docker-compose.yml:12: warning: services.web.build.labels.0: the OWNER variable is not set; it is an empty string here [compose-variable]"
                + " (set it in the environment or in .env, or write ${OWNER:-default})",
        ])
    }

    @Test func aRequiredVariableStopsTheLoadAtItsLine() throws {
        let tree = try TempTree(["docker-compose.yml": "services:\n  web:\n    build:\n      context: ${DIR:?name the folder}\n"])
        let error = #expect(throws: Manifest.Error.self) {
            try ManifestLoader.load(path: tree.path("docker-compose.yml"), environment: [:])
        }
        #expect(error?.location.line == 4)
        #expect(error?.message == "services.web.build.context: required variable DIR is missing a value: name the folder")
    }

    @Test func buildKeysStrataDoesNotHonourAreWarningsWithTheirLines() throws {
        let tree = try TempTree(["docker-compose.yml": """
            services:
              web:
                build:
                  context: .
                  cache_from: [type=registry,ref=acme/web:cache]
                  secrets: [npm]
                  contxt: typo
                  x-notes: ignored
            """])
        let manifest = try ManifestLoader.load(path: tree.path("docker-compose.yml"), environment: [:])
        #expect(manifest.warnings.map(\.line) == [5, 7, 6])
        #expect(manifest.warnings.map(\.rule) == ["compose-unsupported", "compose-unknown-key", "compose-unsupported"])
        #expect(manifest.warnings[0].message.hasPrefix("services.web.build.cache_from is not honoured by strata: "))
        #expect(manifest.warnings[1].hint == "did you mean 'context'?")
        let fleet = Fleet.load(manifest)
        #expect(fleet.findings.filter { $0.rule.hasPrefix("compose-") }.count == 3)
    }
}
