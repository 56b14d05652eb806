import Testing
@testable import strata

@Test func rootCommandName() {
    #expect(Strata.configuration.commandName == "strata")
}

/// A mistyped command is named as such, after global options too, with the nearest command.
@Test(arguments: [
    (["-C", "images", "chek"], "strata: unknown command 'chek' (did you mean 'check'?)\n"),
    (["biuld", "web-api"], "strata: unknown command 'biuld' (did you mean 'build'?)\n"),
    (["frobnicate"], "strata: unknown command 'frobnicate'; the commands are check, graph, plan, context, build, push, tag, promote, matrix, ci, cache, version\n"),
])
func unknownCommandsAreNamed(arguments: [String], stderr: String) throws {
    let result = try StrataBinary.run(arguments, in: MatrixCommandTests.package)
    #expect(result.status == 2)
    #expect(result.stderr == stderr)
}

@Test func editDistance() {
    #expect(Strata.editDistance("chek", "check") == 1)
    #expect(Strata.editDistance("", "ab") == 2)
    #expect(Strata.editDistance("ab", "") == 2)
    #expect(Strata.editDistance("plan", "plan") == 0)
}
