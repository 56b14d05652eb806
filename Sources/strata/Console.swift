import ArgumentParser
import Foundation

/// stdout is for results, stderr for progress and logs: `strata plan --format json | jq` must
/// always work.
enum Console {
    static func output(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(("strata: " + text + "\n").utf8))
    }

    /// Sorted-keys JSON (same input, same bytes), one document on stdout.
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        output(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Runs `body`; its error becomes one line on stderr and exit status 1 (a busy lock, an
    /// unreadable file, an engine that does not answer).
    static func failingInOneLine<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }

    /// `failingInOneLine` for asynchronous work (connecting to the engine).
    static func failingInOneLine<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
    }
}

/// An optional field of a JSON document written as `null` when absent (synthesized
/// `Encodable` leaves absent optionals out): every documented key is always there, so
/// scripts can rely on the shape.
@propertyWrapper
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension Nullable: Equatable where Value: Equatable {}
