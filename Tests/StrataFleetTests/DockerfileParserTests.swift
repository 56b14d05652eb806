import Foundation
import Testing
@testable import StrataFleet

/// Reads a fixture from `Fixtures/dockerfiles`.
func dockerfileFixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "Dockerfile",
                                              subdirectory: "Fixtures/dockerfiles"))
    return try String(contentsOf: url, encoding: .utf8)
}

let fixtureNames = ["multistage", "heredocs", "crlf", "continuations"]

@Suite struct DockerfileParserTests {
    @Test func multistageFixture() throws {
        let file = try Dockerfile.parse(try dockerfileFixture("multistage"), path: "multistage.Dockerfile")
        #expect(file.directives == ["syntax": "docker/dockerfile:1.7", "check": "skip=JSONArgsRecommended"])
        #expect(file.globalArgs == [
            ArgDeclaration(name: "REGISTRY", defaultValue: "ghcr.io/acme", line: 4),
            ArgDeclaration(name: "PYTHON_VERSION", defaultValue: "3.11", line: 5),
            ArgDeclaration(name: "DEBIAN", defaultValue: "bookworm", line: 5),
            ArgDeclaration(name: "BASE", defaultValue: "${REGISTRY}/base-python:${PYTHON_VERSION}-${DEBIAN}", line: 6),
        ])
        #expect(file.stages.map(\.name) == ["builder", "test", "runtime"])
        #expect(file.stages.map(\.index) == [0, 1, 2])
        #expect(file.stages.map(\.baseReference) == ["${BASE}", "builder", "${REGISTRY}/base-utils:latest"])
        #expect(file.stages.map(\.from.line) == [8, 18, 21])

        let builder = file.stages[0]
        #expect(builder.platform == "$BUILDPLATFORM")
        #expect(builder.instructions.map(\.keyword) == ["ARG", "WORKDIR", "COPY", "RUN"])
        #expect(builder.instructions[0].argDeclarations == [ArgDeclaration(name: "PIP_INDEX", defaultValue: nil, line: 9)])
        let run = builder.instructions[3]
        #expect((run.line, run.endLine) == (12, 16))
        #expect(run.flagValues("mount") == ["type=cache,target=/root/.cache/pip", "type=secret,id=netrc"])
        #expect(run.rest == "pip install -r requirements.txt     && pip check")
        #expect(run.arguments == ["pip", "install", "-r", "requirements.txt", "&&", "pip", "check"])
        #expect(!run.isJSON)
        #expect(builder.instructions[2].flag("chown") == "app:app")

        let runtime = file.stages[2]
        let env = try #require(runtime.instructions.first)
        #expect(env.envPairs.map { "\($0.key)=\($0.value)" } == ["APP_HOME=/app", "PATH=\"/app/bin:$PATH\""])
        #expect(runtime.instructions[1].envPairs.map { "\($0.key)=\($0.value)" } == ["LEGACY=the whole rest"])
        #expect(runtime.instructions[2].envPairs.map(\.key) == ["org.opencontainers.image.title", "version"])
        let copy = runtime.instructions[3]
        #expect(copy.flags == [InstructionFlag(name: "from", value: "builder"), InstructionFlag(name: "link", value: nil)])
        #expect(copy.arguments == ["/src", "/app"])
        let healthcheck = runtime.instructions[6]
        #expect(healthcheck.flag("interval") == "30s")
        #expect(healthcheck.isJSON)
        #expect(healthcheck.arguments == ["CMD", "curl", "-f", "http://localhost:7212/health"])
        #expect(runtime.instructions.last?.arguments == ["--port", "7212"])
        #expect(runtime.instructions.last?.isJSON == true)
    }

    @Test func stageBaseReferencesExpandOnlyGlobalArgs() throws {
        let file = try Dockerfile.parse(try dockerfileFixture("multistage"), path: "Dockerfile")
        #expect(try file.stageBaseReference(file.stages[0], buildArgs: [:]) == "ghcr.io/acme/base-python:3.11-bookworm")
        #expect(try file.stageBaseReference(file.stages[0], buildArgs: ["PYTHON_VERSION": "3.12", "PIP_INDEX": "x"])
                == "ghcr.io/acme/base-python:3.12-bookworm")
        #expect(try file.stageBaseReference(file.stages[2], buildArgs: ["REGISTRY": "localhost:5000"])
                == "localhost:5000/base-utils:latest")
        #expect(try file.stagePlatform(file.stages[0], buildArgs: [:]) == "")
        #expect(try file.stagePlatform(file.stages[0], buildArgs: ["BUILDPLATFORM": "linux/arm64"]) == "linux/arm64")
        #expect(file.stage(named: "BUILDER")?.index == 0)

        // A stage ARG is not in scope for a later FROM, an undeclared build arg neither.
        let scoped = try Dockerfile.parse("ARG A\nFROM x\nARG B=1\nFROM ${B}${A}${C}\n", path: "D")
        #expect(try scoped.stageBaseReference(scoped.stages[1], buildArgs: ["C": "c"]) == "")
        #expect(try scoped.stageBaseReference(scoped.stages[1], buildArgs: ["A": "a"]) == "a")
    }

    @Test func keyedLinesAreWhatBuildKitParsesCommentsAndBlankLinesOut() throws {
        let text = """
            # syntax=docker/dockerfile:1
            # escape=\\
            # a comment after the directives

            FROM strata-busybox:1
            RUN echo a \\
              # a comment inside the continuation
              && echo b
            COPY <<EOF /etc/conf
            # inside a heredoc: content, kept

            EOF
            # trailing comment

            """
        let file = try Dockerfile.parse(text, path: "Dockerfile")
        #expect(file.keyedLines == [
            "# escape=\\", "# syntax=docker/dockerfile:1",
            "FROM strata-busybox:1",
            "RUN echo a   && echo b",
            "COPY <<EOF /etc/conf", "<<EOF", "# inside a heredoc: content, kept\n\n",
        ])
        let quoted = try Dockerfile.parse("FROM a\nRUN <<'EOF'\necho $X\nEOF\n", path: "Dockerfile")
        #expect(quoted.keyedLines.suffix(2) == ["<<'EOF", "echo $X\n"])
    }

    @Test func heredocFixture() throws {
        let file = try Dockerfile.parse(try dockerfileFixture("heredocs"), path: "heredocs.Dockerfile")
        let stage = try #require(file.stages.first)
        let all = stage.instructions
        #expect(all.map(\.keyword) == ["ARG", "RUN", "RUN", "COPY", "RUN", "ONBUILD", "CMD"])
        #expect(all.map(\.line) == [2, 3, 7, 11, 16, 19, 22])
        #expect(all.map(\.endLine) == [2, 6, 10, 15, 18, 21, 22])
        #expect(all[1].heredocs == [Heredoc(name: "EOF", content: "echo \"hello $NAME\"\necho done\n", expand: true, stripTabs: false)])
        #expect(all[2].heredocs == [Heredoc(name: "SCRIPT", content: "echo \"not expanded: $NAME\"\ndeeper\n", expand: false, stripTabs: true)])
        #expect(all[2].arguments == ["<<-'SCRIPT'", "sh", "-x"])
        #expect(all[3].heredocs == [
            Heredoc(name: "a.txt", content: "alpha\n", expand: true, stripTabs: false),
            Heredoc(name: "b.txt", content: "beta $NAME\n", expand: false, stripTabs: false),
        ])
        #expect(all[3].arguments == ["<<a.txt", "<<\"b.txt\"", "/dst/"])
        #expect(all[4].heredocs.map(\.content) == ["print(\"<<not a heredoc>>\")\n"])
        #expect(all[5].heredocs.map(\.content) == ["echo trigger\n"])
        #expect(all[6].heredocs.isEmpty)
    }

    @Test func crlfFixture() throws {
        let file = try Dockerfile.parse(try dockerfileFixture("crlf"), path: "crlf.Dockerfile")
        let run = try #require(file.stages.first?.instructions.first)
        #expect(run.rest == "echo one     two")
        #expect((run.line, run.endLine) == (2, 3))
        #expect(file.stages[0].instructions.last?.line == 6)
        #expect(file.stages[0].baseReference == "busybox")
    }

    @Test func backtickEscapeFixture() throws {
        let file = try Dockerfile.parse(try dockerfileFixture("continuations"), path: "continuations.Dockerfile")
        #expect(file.escape == "`")
        #expect(file.directives == ["escape": "`"])
        let all = try #require(file.stages.first).instructions
        #expect(all.map(\.keyword) == ["SHELL", "RUN", "COPY", "WORKDIR", "RUN", "ENV"])
        #expect((all[1].line, all[1].endLine) == (5, 9))
        #expect(all[1].rest == "Write-Host one;" + String(repeating: " ", count: 9) + "Write-Host two"
                + String(repeating: " ", count: 5) + "; Write-Host three")
        #expect(all[2].arguments == [#"C:\src\app"#, #"C:\app\"#])
        #expect(all[3].rest == #"C:\app"#)
        #expect(all[4].arguments == ["echo", "\"a ``quoted`` b\"", "c"])
        #expect(all[5].envPairs.map(\.value) == [#""C:\app;${PATH}""#])
    }

    @Test(arguments: [
        // (text, expected directives, escape)
        ("# syntax=x\n# ESCAPE = `\nFROM a\n", ["syntax": "x", "escape": "`"], "`"),
        ("\u{FEFF}# syntax=x\nFROM a\n", ["syntax": "x"], "\\"),
        ("   #   Syntax   =   a b  \nFROM a\n", ["syntax": "a b"], "\\"),
        // A blank line, another comment or an unknown key ends the directives.
        ("\n# escape=`\nFROM a\n", [:], "\\"),
        ("# hello\n# escape=`\nFROM a\n", [:], "\\"),
        ("# foo=bar\n# escape=`\nFROM a\n", [:], "\\"),
        ("FROM a\n# escape=`\n", [:], "\\"),
        ("# check=skip=all;error=true\nFROM a\n", ["check": "skip=all;error=true"], "\\"),
    ] as [(String, [String: String], Character)])
    func directives(text: String, expected: [String: String], escape: Character) throws {
        let file = try Dockerfile.parse(text, path: "D")
        #expect(file.directives == expected)
        #expect(file.escape == escape)
    }

    @Test(arguments: [
        // (instruction, arguments, rest, isJSON)
        ("RUN [\"a\", \"b c\"]", ["a", "b c"], "[\"a\", \"b c\"]", true),
        ("RUN [\"a\"] trailing ignored", ["a"], "[\"a\"] trailing ignored", true),
        ("RUN [\"\\u00e9\\n\"]", ["é\n"], "[\"\\u00e9\\n\"]", true),
        ("RUN []", [], "[]", true),
        ("RUN [a, b]", ["[a,", "b]"], "[a, b]", false),
        ("RUN ['a']", ["['a']"], "['a']", false),
        ("CMD echo 'a  b' \"c d\" e\\ f", ["echo", "'a  b'", "\"c d\"", "e\\ f"], "echo 'a  b' \"c d\" e\\ f", false),
        ("COPY [\"a b\", \"/c\"]", ["a b", "/c"], "[\"a b\", \"/c\"]", true),
        ("VOLUME /a /b", ["/a", "/b"], "/a /b", false),
        ("RUN echo # not a comment", ["echo", "#", "not", "a", "comment"], "echo # not a comment", false),
        ("run   lower  case", ["lower", "case"], "lower  case", false),
        ("RUN -- --x", ["--x"], "--x", false),
        ("RUN echo <<EOF", ["echo", "<<EOF"], "echo <<EOF", false),
    ] as [(String, [String], String, Bool)])
    func argumentForms(line: String, arguments: [String], rest: String, isJSON: Bool) throws {
        let source = "FROM a\n\(line)\n" + (line.hasSuffix("<<EOF") ? "body\nEOF\n" : "")
        let instruction = try #require(try Dockerfile.parse(source, path: "D").stages.first?.instructions.first)
        #expect(instruction.arguments == arguments)
        #expect(instruction.rest == rest)
        #expect(instruction.isJSON == isJSON)
    }

    @Test(arguments: [
        ("COPY --from=build --chmod=0755 --link --exclude=*.md --exclude=docs a b",
         [InstructionFlag(name: "from", value: "build"), InstructionFlag(name: "chmod", value: "0755"), InstructionFlag(name: "link", value: nil),
          InstructionFlag(name: "exclude", value: "*.md"), InstructionFlag(name: "exclude", value: "docs")]),
        ("ADD --parents --link=false --checksum=sha256:abc a b",
         [InstructionFlag(name: "parents", value: nil), InstructionFlag(name: "link", value: "false"), InstructionFlag(name: "checksum", value: "sha256:abc")]),
        ("RUN --network=host --security=insecure --mount=\"type=bind,source=a b\" true",
         [InstructionFlag(name: "network", value: "host"), InstructionFlag(name: "security", value: "insecure"),
          InstructionFlag(name: "mount", value: "type=bind,source=a b")]),
        ("HEALTHCHECK --timeout=3s --start-period=5s NONE",
         [InstructionFlag(name: "timeout", value: "3s"), InstructionFlag(name: "start-period", value: "5s")]),
    ] as [(String, [InstructionFlag])])
    func flags(line: String, flags: [InstructionFlag]) throws {
        let instruction = try #require(try Dockerfile.parse("FROM a\n\(line)\n", path: "D").stages.first?.instructions.first)
        #expect(instruction.flags == flags)
    }

    @Test(arguments: [
        ("ARG a=1 b c=\"x y\" d=", [("a", "1"), ("b", nil), ("c", "\"x y\""), ("d", "")]),
        ("ARG only", [("only", nil)]),
    ] as [(String, [(String, String?)])])
    func argDeclarations(line: String, expected: [(String, String?)]) throws {
        let file = try Dockerfile.parse("\(line)\nFROM a\n\(line)\n", path: "D")
        #expect(file.globalArgs.map(\.name) == expected.map(\.0))
        #expect(file.globalArgs.map(\.defaultValue) == expected.map(\.1))
        #expect(file.stages[0].instructions[0].argDeclarations == file.globalArgs.map {
            ArgDeclaration(name: $0.name, defaultValue: $0.defaultValue, line: 3)
        })
    }

    @Test func continuationsCommentsAndBlankLines() throws {
        let text = """
            # leading comment

              FROM a  \\
            \t
            # inside
               \\
            AS one
            RUN echo \\\\
            RUN a\\
            b \\
            """
        let file = try Dockerfile.parse(text, path: "D")
        #expect(file.stages[0].name == "one")
        #expect((file.stages[0].from.line, file.stages[0].from.endLine) == (3, 7))
        #expect(file.stages[0].from.rest == "a     AS one")
        let runs = file.stages[0].instructions
        // An escaped escape at the end is no continuation; a file may end inside one.
        #expect(runs.map(\.rest) == ["echo \\\\", "ab"])
        #expect(runs.map(\.line) == [8, 9])
        #expect(runs.map(\.endLine) == [8, 10])
    }

    @Test func onlyArgsMeansNoStages() throws {
        let file = try Dockerfile.parse("ARG A=1\n", path: "D")
        #expect(file.stages.isEmpty)
        #expect(file.globalArgs.count == 1)
    }
}
