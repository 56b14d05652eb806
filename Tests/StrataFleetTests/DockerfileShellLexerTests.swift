import Testing
@testable import StrataFleet

@Suite struct DockerfileShellLexerTests {
    static let env = ["A": "a", "EMPTY": "", "SP": "x  y", "PATHV": "/usr/local/bin:/usr/bin", "FILE": "archive.tar.gz"]
    static func lookup(_ name: String) -> String? { env[name] }

    @Test(arguments: [
        ("$A", "a"), ("${A}b", "ab"), ("$Ab", ""), ("${UNSET}", ""), ("pre-$A-post", "pre-a-post"),
        ("${UNSET:-def}", "def"), ("${EMPTY:-def}", "def"), ("${EMPTY-def}", ""), ("${UNSET-def}", "def"),
        ("${A:-def}", "a"), ("${A:+alt}", "alt"), ("${EMPTY:+alt}", ""), ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""), ("${UNSET:-${A}x}", "ax"), ("${UNSET:-'q  }'}", "q  }"), ("${A:?}", "a"),
        ("\\$A", "$A"), ("'$A'", "$A"), ("\"$A  $SP\"", "a  x  y"), ("\"\\$A \\\" \\x\"", "$A \" \\x"),
        ("$", "$"), ("a$", "a$"), ("$1x", "x"), ("$$", ""), ("abc\\", "abc"), ("a\\ b", "a b"),
        ("${FILE%.*}", "archive.tar"), ("${FILE%%.*}", "archive"), ("${FILE#*.}", "tar.gz"), ("${FILE##*.}", "gz"),
        ("${FILE#[ab]rch}", "ive.tar.gz"), ("${FILE%?z}", "archive.tar."), ("${FILE#x}", "archive.tar.gz"),
        ("${PATHV/bin/sbin}", "/usr/local/sbin:/usr/bin"), ("${PATHV//bin/sbin}", "/usr/local/sbin:/usr/sbin"),
        ("${PATHV//\\/usr}", "/local/bin:/bin"), ("é$A€", "éa€"),
    ])
    func expand(word: String, expected: String) throws {
        #expect(try ShellLexer().expand(word, Self.lookup) == expected)
    }

    @Test(arguments: [
        ("`$A", "$A"), (#"C:\app\$A"#, #"C:\app\a"#), ("\"`\"x\"", "\"x"),
    ])
    func backtickEscape(word: String, expected: String) throws {
        #expect(try ShellLexer(escape: "`").expand(word, Self.lookup) == expected)
    }

    @Test(arguments: [
        ("${UNSET:?must be set}", "UNSET: must be set"),
        ("${UNSET?}", "UNSET: is not allowed to be unset"),
        ("${UNSET:?}", "UNSET: is not allowed to be unset"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("${A", "syntax error: missing '}'"),
        ("${A:-x", "syntax error: missing '}'"),
        ("${", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:-x}", "syntax error: bad substitution"),
        ("${A:x}", "unsupported modifier (x) in substitution"),
        ("${A/x", "syntax error: missing '}'"),
        ("${A x}", "unsupported modifier ( ) in substitution"),
        ("'abc", "unexpected end of statement while looking for matching single-quote"),
        ("\"abc", "unexpected end of statement while looking for matching double-quote"),
    ])
    func expansionErrors(word: String, message: String) {
        #expect(throws: ShellLexer.Error(message: message)) {
            try ShellLexer().expand(word, Self.lookup)
        }
    }

    @Test(arguments: [
        ("a $SP 'b c' \"d  e\"", ["a", "x", "y", "b c", "d  e"]),
        ("x${EMPTY}y  z", ["xy", "z"]),
        ("'' \"\"", []),
        ("  ", []),
        ("a\\ b c", ["a b", "c"]),
        ("\"$SP\"", ["x  y"]),
    ])
    func expandWords(text: String, expected: [String]) throws {
        #expect(try ShellLexer().expandWords(text, Self.lookup) == expected)
    }

    @Test func references() {
        let refs = ShellLexer().references(in: "${A:-x} $B ${C?} ${D:+y} ${E:-$F} '$X' \\$Y \"$G\" ${H%%.*}")
        #expect(refs == [
            VariableReference(name: "A", modifier: .defaultIfUnsetOrEmpty),
            VariableReference(name: "B", modifier: .none),
            VariableReference(name: "C", modifier: .errorIfUnset),
            VariableReference(name: "D", modifier: .alternativeIfNotEmpty),
            VariableReference(name: "F", modifier: .none),
            VariableReference(name: "E", modifier: .defaultIfUnsetOrEmpty),
            VariableReference(name: "G", modifier: .none),
            VariableReference(name: "H", modifier: .removeLongestSuffix),
        ])
        #expect(refs.map(\.hasFallback) == [true, false, false, true, false, true, false, false])
        // Deep nesting is refused instead of exhausting the stack.
        let deep = String(repeating: "${A:-\"", count: 50_000)
        #expect(throws: ShellLexer.Error(message: "syntax error: substitutions nested more than 64 deep")) {
            try ShellLexer().expand(deep) { _ in nil }
        }
        #expect(ShellLexer().references(in: deep).isEmpty)
        // A syntax error keeps what was found before it.
        #expect(ShellLexer().references(in: "$A ${B").map(\.name) == ["A"])
    }
}
