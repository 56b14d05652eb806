import Testing
@testable import strata

@Test func rootCommandName() {
    #expect(Strata.configuration.commandName == "strata")
}
