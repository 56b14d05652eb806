import Testing
@testable import StrataFleet

/// The precise context with `COPY --exclude`: what a directory source leaves out is out of
/// the key; where the answer is not static, more files stay in, never fewer.
@Suite struct ContextSelectionTests {
    static func selection(_ text: String, args: [String: String] = [:]) throws -> ContextSelection {
        ContextSelection.of(try Dockerfile.parse(text, path: "Dockerfile"), target: nil, args: args, platform: nil)
    }

    @Test func excludesApplyBelowADirectorySource() throws {
        let selection = try Self.selection("FROM a\nCOPY --exclude=*.md --exclude=tests src/ /app/\nCOPY main.py /app/\n")
        #expect(selection == .sources([.init("main.py"), .init("src", excludes: ["*.md", "tests"])]))
        #expect(selection.includes("src/app.py"))
        #expect(selection.includes("main.py"))
        #expect(!selection.includes("src/README.md"))
        #expect(!selection.includes("src/tests/test_app.py"))
        // Relative to the source, with moby's matcher: `*.md` is one level deep only.
        #expect(selection.includes("src/docs/guide.md"))
        #expect(selection.includes("src/tests", isDirectory: true))
        #expect(!selection.includes("other.py"))
    }

    /// A stage built `FROM` an earlier stage inherits its ENVs (its image config carries
    /// them): a source that names one is known statically.
    @Test func envOfAnEarlierStageExpandsInALaterOne() throws {
        let text = "FROM a AS env\nENV SRC=conf\nFROM env AS middle\nENV MORE=${SRC}/x\nFROM middle\nCOPY ${SRC} ${MORE}.conf /d/\n"
        #expect(try Self.selection(text) == .sources([.init("conf"), .init("conf/x.conf")]))
        // A stage built on an external image does not inherit them: its ENVs are unknown.
        let unrelated = try Self.selection("FROM a AS env\nENV SRC=conf\nFROM b\nCOPY ${SRC} /d/\n")
        guard case .whole(let reason) = unrelated else {
            Issue.record("expected the whole context, got \(unrelated)")
            return
        }
        #expect(reason.contains("$SRC is not an ARG or ENV of the stage"))
    }

    @Test func anExcludeOnlyLimitsItsOwnInstruction() throws {
        let selection = try Self.selection("FROM a\nCOPY --exclude=*.md src/ /app/\nCOPY src/README.md /docs/\n")
        #expect(selection.includes("src/README.md"))
        #expect(!selection.includes("src/NOTES.md"))
    }

    @Test func theWholeContextWithExcludesIsPrecise() throws {
        let selection = try Self.selection("FROM a\nARG SKIP=build\nCOPY --exclude=${SKIP} --exclude=**/*.log . /app/\n")
        #expect(selection == .sources([.init(".", excludes: ["build", "**/*.log"])]))
        #expect(selection.includes("src/app.py"))
        #expect(!selection.includes("build/out.bin"))
        #expect(!selection.includes("deep/er/trace.log"))
        #expect(try Self.selection("FROM a\nCOPY . /app/\n") == .whole(reason: "the whole context is copied"))
    }

    /// On a file or a glob source BuildKit's relative paths differ; the excludes are not applied.
    @Test func fileAndGlobSourcesKeepEverythingTheyMatch() throws {
        let selection = try Self.selection("FROM a\nCOPY --exclude=*.py app.py lib/*.py /app/\n")
        #expect(selection.includes("app.py"))
        #expect(selection.includes("lib/util.py"))
    }

    /// Variables in sources are the stage's ARGs and ENVs; a name the stage does not declare
    /// may come from the base image's ENV, so the whole context counts.
    @Test func sourcesExpandWithTheStagesArgsAndEnvs() throws {
        let dockerfile = """
            ARG GLOBAL=lib
            FROM a
            ARG APP=web
            ARG GLOBAL
            ARG EMPTY
            ENV CONF=config/${APP}
            COPY ${APP}/ ${GLOBAL}/ ${CONF}.yaml x${EMPTY}.txt /app/
            """
        #expect(try Self.selection(dockerfile) == .sources([.init("config/web.yaml"), .init("lib"), .init("web"), .init("x.txt")]))
        #expect(try Self.selection(dockerfile, args: ["APP": "api"])
            == .sources([.init("api"), .init("config/api.yaml"), .init("lib"), .init("x.txt")]))
        let fromBase = try Self.selection("FROM python\nCOPY ${PYTHON_VERSION}/ /app/\n")
        #expect(fromBase == .whole(reason: "line 2: COPY source '${PYTHON_VERSION}/': $PYTHON_VERSION is not an ARG or ENV of the stage (the base image may set it)"))
        // A global ARG that the stage does not re-declare is not in scope either.
        #expect(try Self.selection("ARG DIR=src\nFROM a\nCOPY ${DIR}/main.py /app/\n") != .sources([.init("src/main.py")]))
    }
}
