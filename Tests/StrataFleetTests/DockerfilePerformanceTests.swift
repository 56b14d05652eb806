import Testing
@testable import StrataFleet

/// Guards against quadratic behaviour; the bounds are loose because tests run in debug
/// builds on shared machines (release parses a 500-file fleet in a few milliseconds).
@Suite struct DockerfilePerformanceTests {
    @Test func fleetOfFiveHundred() throws {
        let texts = try fixtureNames.map(dockerfileFixture)
        let clock = ContinuousClock()
        var stages = 0
        let elapsed = try clock.measure {
            for i in 0..<500 {
                stages += try Dockerfile.parse(texts[i % texts.count], path: "svc\(i)/Dockerfile").stages.count
            }
        }
        print("parsed 500 Dockerfiles in \(elapsed)")
        #expect(stages == 125 * (3 + 1 + 1 + 1))
        #expect(elapsed < .seconds(5))
    }

    @Test func hugeInstructionsStayLinear() throws {
        let count = 20_000
        let text = "FROM a\nRUN a \\\n" + String(repeating: "  b \\\n", count: count) + "  c\n"
            + "RUN <<EOF\n" + String(repeating: "line\n", count: count) + "EOF\n"
            + String(repeating: "ENV A=1\n", count: count)
        let clock = ContinuousClock()
        var file: Dockerfile?
        let elapsed = try clock.measure { file = try Dockerfile.parse(text, path: "D") }
        let instructions = try #require(file?.stages.first?.instructions)
        #expect(instructions.count == 2 + count)
        #expect((instructions[0].line, instructions[0].endLine) == (2, count + 3))
        #expect(instructions[1].heredocs.first?.content.utf8.count == 5 * count)
        #expect(instructions.last?.line == 2 * count + 6 + count - 1)
        #expect(elapsed < .seconds(5))
    }
}
