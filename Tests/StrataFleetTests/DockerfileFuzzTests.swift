import Foundation
import Testing
@testable import StrataFleet

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny PRNG whose fixed seed makes every fuzz
/// run the same, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations aimed at the parser's corners: escapes, heredocs, expansions, quotes, JSON.
struct DockerfileMutator {
    static let tokens: [[UInt8]] = [
        "\\", "`", "<<", "<<-", "<<EOF", "EOF\n", "<<'EOF'", "${", "}", "$", "${A:-", "${A:?", "${A#", "'", "\"",
        "[", "]", "[\"a\", ", "\n", "\r\n", "#", "# escape=`\n", "# syntax=x\n", "--", "--from=", "=", " ", "\t",
        "FROM ", "AS ", "ARG ", "ONBUILD ", "RUN ", "COPY ", "HEALTHCHECK ", "\u{FEFF}", "\\\n", "\u{00e9}",
    ].map { Array($0.utf8) }

    var rng: SplitMix64

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let at = Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0:
                bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
            case 1 where at < bytes.count:
                bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &rng)))
            case 2 where at < bytes.count:
                bytes[at] = UInt8.random(in: 0...127, using: &rng)
            case 3:
                bytes = duplicatingLine(bytes, near: at)
            case 4:
                bytes.removeSubrange(at...)
            default:
                bytes.insert(contentsOf: Self.tokens.randomElement(using: &rng) ?? [], at: at)
            }
        }
        return bytes
    }

    private func duplicatingLine(_ bytes: [UInt8], near at: Int) -> [UInt8] {
        let start = bytes[..<at].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        let end = bytes[at...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.count
        var result = bytes
        result.insert(contentsOf: bytes[start..<end], at: start)
        return result
    }
}

@Suite struct DockerfileFuzzTests {
    /// Physical lines as BuildKit counts them: a final line without `\n` counts too.
    /// (Decoding invalid UTF-8 never creates or removes a `\n`, so the raw bytes do.)
    static func lineCount(_ bytes: [UInt8]) -> Int {
        var newlines = 0
        for byte in bytes where byte == UInt8(ascii: "\n") { newlines += 1 }
        return newlines + (bytes.last.map { $0 == UInt8(ascii: "\n") ? 0 : 1 } ?? 0)
    }

    @Test func mutatedDockerfilesNeverCrash() throws {
        let iterations = ProcessInfo.processInfo.environment["STRATA_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 100_000
        let seeds = try fixtureNames.map { Array(try dockerfileFixture($0).utf8) }
        var mutator = DockerfileMutator(rng: SplitMix64(seed: 0x5EED_D0C7_F11E))
        let clock = ContinuousClock()
        var parsed = 0, rejected = 0
        let elapsed = clock.measure {
            for iteration in 0..<iterations {
                let seed = seeds[iteration % seeds.count]
                let mutated = mutator.mutate(seed)
                let text = String(decoding: mutated, as: UTF8.self)
                let lines = Self.lineCount(mutated)
                do throws(Dockerfile.ParseError) {
                    let file = try Dockerfile.parse(text, path: "fuzz")
                    parsed += 1
                    for instruction in file.stages.flatMap({ [$0.from] + $0.instructions }) {
                        guard 1 <= instruction.line, instruction.line <= instruction.endLine, instruction.endLine <= lines else {
                            Issue.record("iteration \(iteration): \(instruction.keyword) at \(instruction.line)...\(instruction.endLine) of \(lines) lines")
                            return
                        }
                        let lexer = ShellLexer(escape: file.escape)
                        _ = try? lexer.expand(instruction.rest) { $0.count % 2 == 0 ? $0 : nil }
                        _ = lexer.references(in: instruction.rest)
                    }
                    for stage in file.stages { _ = try? file.stageBaseReference(stage, buildArgs: ["A": "x"]) }
                } catch {
                    rejected += 1
                    if error.line < 1 || error.line > max(lines, 1) {
                        Issue.record("iteration \(iteration): error line \(error.line) of \(lines): \(error)")
                        return
                    }
                }
                // The lexer on a window of the raw mutated text, with both escapes.
                let from = Int.random(in: 0...mutated.count, using: &mutator.rng)
                let window = String(decoding: mutated[from..<min(mutated.count, from + 256)], as: UTF8.self)
                _ = try? ShellLexer().expand(window) { $0 }
                _ = try? ShellLexer(escape: "`").expandWords(window) { _ in nil }
            }
        }
        print("fuzz: \(iterations) mutated Dockerfiles in \(elapsed): \(parsed) parsed, \(rejected) rejected")
        #expect(parsed + rejected == iterations)
        #expect(parsed > 0 && rejected > 0)
    }
}
