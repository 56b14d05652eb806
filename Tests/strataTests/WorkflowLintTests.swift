import Foundation
import StrataProcess
import Testing

/// The workflow `strata ci github` prints, checked by the tools GitHub users run on theirs:
/// actionlint (with shellcheck on every `run:`), zizmor's offline audits (default persona)
/// and GitHub's workflow schema. Each must report nothing. scripts/test installs them
/// (scripts/lib/setup.sh); under CI a missing one fails the test rather than skipping it.
@Suite(.enabled(if: WorkflowLinters.required || WorkflowLinters.missing.isEmpty,
                "actionlint, zizmor, check-jsonschema or shellcheck is missing: scripts/test installs them"))
struct WorkflowLintTests {
    enum Fleet: String, CaseIterable, CustomTestStringConvertible {
        case demo, demoWithInstallCommand, largeWave
        var testDescription: String { rawValue }
    }

    @Test(arguments: Fleet.allCases)
    func generatedWorkflowHasNoFindings(_ fleet: Fleet) throws {
        try #require(WorkflowLinters.missing.isEmpty, "missing linters: \(WorkflowLinters.missing.joined(separator: ", "))")
        let folder = try TemporaryFolder()
        let arguments: [String]
        switch fleet {
        case .demo:
            arguments = ["-C", MatrixCommandTests.images, "ci", "github"]
        case .demoWithInstallCommand:
            arguments = ["-C", MatrixCommandTests.images, "ci", "github", "--registry", "registry.example.com/acme",
                         "--strata-install", "pipx install strata-cli\nstrata version"]
        case .largeWave:
            try WorkflowFleets.writeLargeWave(in: folder, services: 300)
            let check = try StrataBinary.run(["-C", folder.path + "/fleet", "check"])
            #expect(check.status == 0, "\(check.stderr.suffix(2000))")
            arguments = ["-C", folder.path + "/fleet", "ci", "github"]
        }
        let generated = try StrataBinary.run(arguments)
        try #require(generated.status == 0, "\(generated.stderr)")
        if fleet == .largeWave {
            #expect(generated.stdout.contains("\n  wave1_0:\n") && generated.stdout.contains("\n  wave1_1:\n"))
        }
        try folder.write(".github/workflows/strata.yml", generated.stdout)
        let file = folder.path + "/.github/workflows/strata.yml"

        for (tool, toolArguments) in [("actionlint", ["-no-color", file]),
                                      ("zizmor", ["--offline", "--no-progress", "--color", "never", file]),
                                      ("check-jsonschema", ["--builtin-schema", "vendor.github-workflows", file])] {
            let result = try ChildProcess.run(try #require(ChildProcess.find(tool)), toolArguments, directory: folder.path,
                                              timeout: .seconds(300))
            #expect(result.succeeded, "\(tool) on the \(fleet.rawValue) workflow:\n\(result.output)\n\(result.errorOutput)")
        }
    }
}

/// Which linters the workflow tests need, and whether a missing one is a failure.
enum WorkflowLinters {
    static let names = ["actionlint", "zizmor", "check-jsonschema", "shellcheck"]

    static var missing: [String] { names.filter { ChildProcess.find($0) == nil } }

    /// CI sets CI=true: there the linters must be installed, never skipped.
    static var required: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
}

/// Fleets made for the workflow tests.
enum WorkflowFleets {
    /// `fleet/strata.yaml`: one base image and `services` images built `FROM` it, so that
    /// wave 1 holds more nodes than a GitHub matrix runs.
    static func writeLargeWave(in folder: TemporaryFolder, services: Int) throws {
        var manifest = "registry: registry.example.com:5000/acme\nimages:\n  base:\n    context: base\n"
        try folder.write("fleet/base/Dockerfile", "FROM scratch\nCOPY hello /hello\n")
        try folder.write("fleet/base/hello", "hello\n")
        for number in 0..<services {
            let name = "svc" + String(format: "%03d", number)
            manifest += "  \(name):\n    context: \(name)\n"
            try folder.write("fleet/\(name)/Dockerfile", "FROM base\n")
        }
        try folder.write("fleet/strata.yaml", manifest)
    }
}
