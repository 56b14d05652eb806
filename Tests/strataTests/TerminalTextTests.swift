import Testing
@testable import strata

/// What reaches a terminal or a CI log from a Dockerfile or a build log cannot drive it.
@Suite struct TerminalTextTests {
    @Test(arguments: [
        ("RUN echo hi", "RUN echo hi"),
        ("tab\tkept", "tab\tkept"),
        ("title \u{1B}]0;owned\u{07}set", "title set"),
        ("title \u{1B}]2;owned\u{1B}\\set", "title set"),
        ("\u{1B}[2J\u{1B}[1;1Hclear", "clear"),
        ("red \u{1B}[31mtext\u{1B}[0m", "red text"),
        ("over\rwrite", "overwrite"),
        ("bell\u{07} and del\u{7F} and c1\u{9B}31m", "bell and del and c131m"),
        ("ünïcödé ✓", "ünïcödé ✓"),
        ("trailing \u{1B}", "trailing "),
    ])
    func controlCharactersAndEscapesAreRemoved(text: String, expected: String) {
        #expect(TerminalText.clean(text) == expected)
    }

    @Test func buildkitProgressChoosesTheModeWhenTheFlagDoesNot() {
        #expect(ProgressMode.auto.resolved(environment: ["BUILDKIT_PROGRESS": "plain", "GITHUB_ACTIONS": "true"]) == .plain)
        // tty is only taken where there is a terminal (the test's stderr is not one).
        #expect(ProgressMode.auto.resolved(environment: ["BUILDKIT_PROGRESS": "tty"]) == .plain)
        #expect(ProgressMode.auto.resolved(environment: ["BUILDKIT_PROGRESS": "rawjson", "GITHUB_ACTIONS": "true"]) == .github)
        #expect(ProgressMode.github.resolved(environment: ["BUILDKIT_PROGRESS": "plain"]) == .github)
    }
}
