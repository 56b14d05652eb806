import Testing
@testable import StrataFleet

@Suite struct DockerfileErrorTests {
    @Test(arguments: [
        // (Dockerfile, line, message)
        ("", 1, "file with no instructions"),
        ("# only a comment\n\n   # another\n", 3, "file with no instructions"),
        ("FROM a\nRUN <<EOF\necho\n\n", 4, "unterminated heredoc <<EOF (started on line 2)"),
        ("FROM a\nCOPY <<a <<-b /d\nx\na\ny\n", 5, "unterminated heredoc <<-b (started on line 2)"),
        ("# escape=x\nFROM a\n", 1, "invalid escape token 'x' does not match ` or \\"),
        ("# syntax=a\n# SYNTAX=b\nFROM a\n", 2, "only one syntax parser directive can be used"),
        ("FROM a\nRUN [\"a\", 1]\n", 2, "when using JSON array syntax, arrays must be comprised of strings only"),
        ("FROM a\nENV ONLYKEY\n", 2, "ENV must have two arguments"),
        ("FROM a\nLABEL a=1 b\n", 2, "Syntax error - can't find = in \"b\". Must be of the form: name=value"),
        ("FROM a\n\nFRON b\n", 3, "unknown instruction: FRON (did you mean from?)"),
        ("FROM a\nXYZZYPLUGH b\n", 2, "unknown instruction: XYZZYPLUGH"),
        ("RUN true\nFROM a\n", 1, "no build stage in current context: RUN before the first FROM (only ARG may come first)"),
        ("FROM\n", 1, "FROM requires either one or three arguments"),
        ("FROM --platform=linux/amd64\n", 1, "FROM requires either one or three arguments"),
        ("FROM a AS\n", 1, "FROM requires either one or three arguments"),
        ("FROM a b c\n", 1, "FROM requires either one or three arguments"),
        ("FROM a AS 1st\n", 1, "invalid name for build stage: \"1st\", name can't start with a number or contain symbols"),
        ("FROM a AS x\nFROM b AS X\n", 2, "duplicate stage name \"x\""),
        ("FROM --foo=bar a\n", 1, "unknown flag: foo"),
        ("FROM a\nCMD --port 80\n", 2, "unknown flag: port"),
        ("FROM a\nCOPY --link=maybe a b\n", 2, "expecting boolean value for flag link, not: maybe"),
        ("FROM a\nCOPY --from a b\n", 2, "missing a value on flag: from"),
        ("FROM a\nCOPY --from=x --from=y a b\n", 2, "duplicate flag specified: from"),
        ("FROM a\nCOPY only\n", 2, "COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("FROM a\nADD\n", 2, "ADD requires at least two arguments, but only one was provided. Destination could not be determined"),
        ("ARG\nFROM a\n", 1, "ARG requires at least one argument"),
        ("ARG =x\nFROM a\n", 1, "ARG names can not be blank"),
        ("FROM a\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
        ("FROM a\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
        ("FROM a\nUSER \\\n\n", 2, "USER requires exactly one argument"),
        ("FROM a\nSHELL /bin/sh -c\n", 2, "SHELL requires the arguments to be in JSON form"),
        ("FROM a\nVOLUME [\"\"]\n", 2, "VOLUME specified can not be an empty string"),
        ("FROM a\nHEALTHCHECK\n", 2, "HEALTHCHECK requires at least one argument"),
        ("FROM a\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"),
        ("FROM a\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK NONE takes no arguments"),
        ("FROM a\nHEALTHCHECK PING x\n", 2, "Unknown type \"PING\" in HEALTHCHECK (try CMD)"),
        ("FROM a\nONBUILD FROM b\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
        ("FROM a\nONBUILD onbuild RUN x\n", 2, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM a\nRUN a \\\n  b\nFOO \\\n  bar\n", 4, "unknown instruction: FOO"),
    ] as [(String, Int, String)])
    func error(text: String, line: Int, message: String) {
        #expect(throws: Dockerfile.ParseError(path: "svc/Dockerfile", line: line, message: message)) {
            try Dockerfile.parse(text, path: "svc/Dockerfile")
        }
    }

    @Test func descriptionIsOneLine() throws {
        let error = try #require(throws: Dockerfile.ParseError.self) {
            try Dockerfile.parse("FROM a\n\n\nRUN <<EOF\n\n\n\n\nx\n\n\n", path: "Dockerfile")
        }
        #expect(error.description == "Dockerfile:11: unterminated heredoc <<EOF (started on line 4)")
    }

    /// BuildKit checks the whole text before any instruction: a heredoc problem at the end
    /// wins over an unknown instruction earlier.
    @Test func firstPassErrorsComeFirst() {
        #expect(throws: Dockerfile.ParseError(path: "D", line: 3, message: "unterminated heredoc <<X (started on line 3)")) {
            try Dockerfile.parse("FROM a\nBOGUS x\nRUN <<X\n", path: "D")
        }
    }

    @Test(arguments: [
        "FROM a\nRUN [\"a\", 1\n",          // invalid JSON: shell form
        "FROM a\nRUN <<\n",                 // `<<` alone is no heredoc
        "FROM a\nRUN [\"<<EOF\"]\n",        // JSON form has no heredocs
        "FROM a\nUSER <<EOF\n",             // only RUN, COPY, ADD take heredocs
        "FROM a\nRUN \"<<EOF\"\n",          // a quoted word is no heredoc
        "FROM a\nONBUILD COPY x\n",         // a trigger is checked when a child builds
    ])
    func notErrors(text: String) throws {
        let file = try Dockerfile.parse(text, path: "D")
        #expect(file.stages[0].instructions.first?.heredocs == [])
    }
}
