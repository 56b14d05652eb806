@testable import StrataEngine
import Foundation
import Testing

@Suite struct BuildProgressTests {
    /// Feeds a captured stream through `BuildProgress` as `build` does.
    func replay(_ fixture: String) throws -> (BuildProgress, [BuildEvent]) {
        var progress = BuildProgress()
        var events: [BuildEvent] = []
        for line in try Fixture.lines(fixture) {
            events += try progress.consume(line)
        }
        events += progress.finish()
        return (progress, events)
    }

    func steps(_ events: [BuildEvent]) -> [BuildEvent.Step] {
        events.compactMap { if case .step(let step) = $0 { step } else { nil } }
    }

    @Test(arguments: ["buildkit-stream.jsonl", "buildkit-stream-failed.jsonl"])
    func everyTraceOfTheCapturedStreamsDecodes(fixture: String) throws {
        for line in try Fixture.lines(fixture) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard object["id"] as? String == "moby.buildkit.trace" else { continue }
            let aux = try #require(object["aux"] as? String)
            let bytes = try #require(Data(base64Encoded: aux))
            _ = try BuildKitStatus(decoding: Array(bytes))
        }
    }

    @Test func successfulStreamGivesStepsLogsAndTheImageID() throws {
        let (progress, events) = try replay("buildkit-stream.jsonl")
        #expect(progress.imageID == "sha256:e34bf3857174eac58f85af6991d8aa5cd0112524d18122b51bc8a5ae62e78897")
        #expect(progress.failure == nil)
        let steps = steps(events)
        var names: [String] = []
        for step in steps where !names.contains(step.name) { names.append(step.name) }
        #expect(names == [
            "[internal] load remote build context",
            "copy /context /",
            "[internal] load metadata for docker.io/library/strata-busybox:1",
            "[1/3] FROM docker.io/library/strata-busybox:1",
            "[2/3] RUN echo hi > /x",
            "[3/3] RUN cat /x && echo built",
            "exporting to image",
        ])
        for name in names {
            let last = try #require(steps.last { $0.name == name })
            #expect(last.started && last.completed, "\(name) should end started and completed")
            #expect(last.error == nil)
        }
        // A step is reported once per change: never twice the same state in a row.
        for id in Set(steps.map(\.id)) {
            let states = steps.filter { $0.id == id }
            #expect(zip(states, states.dropFirst()).allSatisfy { $0 != $1 })
        }
        let run = try #require(steps.last { $0.name.hasPrefix("[3/3]") })
        let output = events.compactMap { if case .log(run.id, let line) = $0 { line } else { nil } }
        #expect(output == ["hi", "built"])
        // The step's start comes before its output, its completion after.
        let started = try #require(events.firstIndex { if case .step(let step) = $0 { step.id == run.id && step.started } else { false } })
        let completed = try #require(events.firstIndex { if case .step(let step) = $0 { step.id == run.id && step.completed } else { false } })
        let firstLog = try #require(events.firstIndex { if case .log(run.id, _) = $0 { true } else { false } })
        #expect(started < firstLog && firstLog < completed)
    }

    @Test func failedStreamGivesTheFailingStepItsMessageAndItsLines() throws {
        let (progress, events) = try replay("buildkit-stream-failed.jsonl")
        let failure = try #require(progress.failure)
        #expect(failure == BuildFailure(
            step: "[2/2] RUN echo about to fail && exit 3",
            message: "executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3",
            logs: ["about to fail"]))
        #expect(failure.description == "[2/2] RUN echo about to fail && exit 3: "
            + "executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3")
        let failed = try #require(steps(events).last { $0.name.hasPrefix("[2/2]") })
        #expect(failed.error == failure.message)
        #expect(progress.imageID == nil)
    }

    @Test func logChunksAreSplitIntoLinesKeepingPartialLinesPerStep() {
        var progress = BuildProgress()
        func log(_ vertex: String, _ text: String, stream: Int64 = 1) -> BuildKitStatus.VertexLog {
            BuildKitStatus.VertexLog(vertex: vertex, stream: stream, message: Array(text.utf8))
        }
        var events = progress.apply(BuildKitStatus(vertexes: [
            .init(digest: "a", name: "[1/2] RUN a", started: .init()),
            .init(digest: "b", name: "[2/2] RUN b", started: .init()),
        ]))
        events += progress.apply(BuildKitStatus(logs: [
            log("a", "one\ntw"), log("b", "x"), log("a", "err", stream: 2), log("a", "o\r\n\nthr"),
        ]))
        events += progress.apply(BuildKitStatus(logs: [log("a", "ee")]))
        let lines = events.compactMap { if case .log(let id, let line) = $0 { "\(id):\(line)" } else { nil } }
        #expect(lines == ["a:one", "a:two", "a:"])
        // Completing a step ends its unfinished lines, stdout and stderr alike, before the completion.
        let done = progress.apply(BuildKitStatus(vertexes: [
            .init(digest: "a", name: "[1/2] RUN a", started: .init(), completed: .init()),
        ]))
        #expect(done.count == 3)
        #expect(Array(done.prefix(2)) == [.log(stepID: "a", line: "three"), .log(stepID: "a", line: "err")])
        // The end of the response ends the rest.
        #expect(progress.finish() == [.log(stepID: "b", line: "x")])
    }

    @Test func failureKeepsTheLastThirtyLinesOfTheFailingStep() throws {
        var progress = BuildProgress()
        let text = (1...40).map { "line \($0)\n" }.joined()
        _ = progress.apply(BuildKitStatus(
            vertexes: [.init(digest: "a", name: "[1/1] RUN x", started: .init())],
            logs: [.init(vertex: "a", stream: 1, message: Array(text.utf8))]))
        _ = progress.apply(BuildKitStatus(vertexes: [
            .init(digest: "a", name: "[1/1] RUN x", started: .init(), completed: .init(), error: "exit code: 1"),
            .init(digest: "b", name: "[1/1] RUN y", started: .init(), completed: .init(), error: "context canceled"),
        ]))
        _ = try progress.consume(#"{"errorDetail":{"message":"exit code: 1"},"error":"exit code: 1"}"#)
        let failure = try #require(progress.failure)
        #expect(failure.step == "[1/1] RUN x")
        #expect(failure.logs == (11...40).map { "line \($0)" })
    }

    @Test func aBrokenTraceIsSkippedButABrokenLineIsAnError() throws {
        var progress = BuildProgress()
        #expect(try progress.consume(#"{"id":"moby.buildkit.trace","aux":"////"}"#).isEmpty)
        #expect(throws: Engine.Error.self) { try progress.consume("not json") }
    }
}
