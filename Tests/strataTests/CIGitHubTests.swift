import Foundation
import StrataBuild
import StrataProcess
import Testing
import Yams
@testable import strata

/// `strata ci github`: the workflow parses as YAML and has the jobs, needs, conditions,
/// permissions and matrices that make the waves run in order, push only from the branches,
/// and go on past a failed branch of the graph.
@Suite struct CIGitHubTests {
    static let images = MatrixCommandTests.images

    static func workflow(_ arguments: [String] = []) throws -> (String, [String: Any]) {
        let result = try StrataBinary.run(["-C", images, "ci", "github"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try Yams.load(yaml: result.stdout) as? [String: Any])
        return (result.stdout, document)
    }

    static func steps(_ job: [String: Any]) throws -> [[String: Any]] {
        try #require(job["steps"] as? [[String: Any]])
    }

    /// What a step is, for comparing step lists: its action without the pinned commit, else its name.
    static func label(_ step: [String: Any]) -> String {
        if let uses = step["uses"] as? String { return String(uses.prefix { $0 != "@" }) }
        return step["name"] as? String ?? "?"
    }

    static let checkout = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"

    @Test func workflowForTheDemoFleet() throws {
        let (text, workflow) = try Self.workflow()
        let on = try #require(workflow["on"] as? [String: Any])
        #expect((on["push"] as? [String: Any])?["branches"] as? [String] == ["main"])
        #expect(on.keys.sorted() == ["pull_request", "push"])
        #expect(workflow["permissions"] as? [String: String] == ["contents": "read"])
        let env = try #require(workflow["env"] as? [String: String])
        #expect(env["STRATA_REGISTRY"] == "ghcr.io/strata-demo")
        #expect(env["STRATA_MANIFEST"] == "images/strata.yaml")

        let jobs = try #require(workflow["jobs"] as? [String: Any])
        #expect(jobs.keys.sorted() == ["plan", "wave0", "wave1", "wave2", "wave3", "wave4", "wave5"])

        let plan = try #require(jobs["plan"] as? [String: Any])
        #expect(plan["runs-on"] as? String == "ubuntu-24.04")
        #expect(plan["timeout-minutes"] as? Int == 60)
        #expect(plan["permissions"] as? [String: String] == ["contents": "read", "packages": "read"])
        #expect((plan["container"] as? [String: String])?["image"] == "swift:6.3.1-noble")
        let outputs = try #require(plan["outputs"] as? [String: String])
        #expect(outputs.count == 2 + 2 * 6)
        #expect(outputs["wave3"] == "${{ steps.matrix.outputs.wave3 }}")
        #expect(outputs["has_wave5"] == "${{ steps.matrix.outputs.has_wave5 }}")
        let planSteps = try Self.steps(plan)
        #expect(planSteps.map(Self.label) == ["actions/checkout", "Build strata", "Check this workflow against the fleet",
                                             "actions/upload-artifact", "Plan the waves"])
        #expect(planSteps[0]["uses"] as? String == Self.checkout)
        #expect((planSteps[0]["with"] as? [String: Any])?["persist-credentials"] as? Bool == false)
        #expect(planSteps[1]["run"] as? String == """
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends libarchive-dev libcurl4-openssl-dev libssl-dev pkg-config
            swift build -c release --product strata --static-swift-stdlib
            echo "$PWD/.build/release" >> "$GITHUB_PATH"

            """)
        #expect(planSteps[2]["run"] as? String == """
            workflow=${WORKFLOW_REF#*/*/}
            strata -f "$STRATA_MANIFEST" ci github --check "${workflow%@refs/*}" --runs-on ubuntu-24.04 --branch main

            """)
        let upload = try #require(planSteps[3]["with"] as? [String: Any])
        #expect(upload["name"] as? String == "strata")
        #expect(upload["path"] as? String == ".build/release/strata")
        #expect(upload["if-no-files-found"] as? String == "error")
        #expect(planSteps[4]["id"] as? String == "matrix")
        #expect(planSteps[4]["env"] as? [String: String] == ["GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"])
        #expect(planSteps[4]["run"] as? String == #"strata -f "$STRATA_MANIFEST" matrix --changed --remote-cache --format github"#)

        for wave in 0..<6 {
            let job = try #require(jobs["wave\(wave)"] as? [String: Any])
            #expect(job["needs"] as? [String] == ["plan"] + (wave == 0 ? [] : ["wave\(wave - 1)"]))
            // No clause on earlier waves' results: a failure in one branch does not stop the others.
            #expect(job["if"] as? String == "${{ !cancelled() && needs.plan.result == 'success' && "
                    + "needs.plan.outputs.has_wave\(wave) == 'true' }}")
            #expect(job["timeout-minutes"] as? Int == 120)
            #expect(job["permissions"] as? [String: String] == ["contents": "read", "packages": "write"])
            #expect(job["container"] == nil)
            let strategy = try #require(job["strategy"] as? [String: Any])
            #expect(strategy["fail-fast"] as? Bool == false)
            #expect(strategy["matrix"] as? String == "${{ fromJSON(needs.plan.outputs.wave\(wave)) }}")
            let steps = try Self.steps(job)
            #expect(steps.map(Self.label) == ["actions/checkout", "actions/download-artifact", "Install strata",
                                              "Build ${{ matrix.node }}"])
            #expect((steps[0]["with"] as? [String: Any])?["persist-credentials"] as? Bool == false)
            #expect(steps[1]["with"] as? [String: String] == ["name": "strata", "path": "${{ runner.temp }}/strata"])
            #expect(steps[3]["env"] as? [String: String] == ["NODE": "${{ matrix.node }}", "EVENT": "${{ github.event_name }}",
                                                             "GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"])
            #expect(steps[3]["run"] as? String == Self.buildScript)
        }
        // Every action is pinned to a commit, with its release in a comment.
        let uses = text.split(separator: "\n").filter { $0.contains("uses:") }
        #expect(uses.count == 2 + 6 * 2)
        let pinned = try Regex(#" {6}- uses: [a-z-]+/[a-z-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+"#)
        for line in uses {
            let match = try pinned.wholeMatch(in: String(line))
            #expect(match != nil, "\(line)")
        }
        #expect(!text.contains("docker/login-action"))
        #expect(!text.contains("--push --remote-cache"))
        // The comments that tell a reader how to change it.
        #expect(text.contains("--runs-on LABEL       the runner of every job"))
        #expect(text.contains("--registry R          where images are pushed"))
        #expect(text.contains("--branch B            a branch whose pushes push"))
    }

    static let buildScript = """
        # A pull request pushes nothing, so later waves cannot find its parents in the
        # registry: it builds them (those that changed) in each job instead.
        mode=()
        if [ "$EVENT" = push ]; then mode=(--no-deps --push); fi
        status=0
        strata -f "$STRATA_MANIFEST" build "${mode[@]}" "$NODE" --remote-cache || status=$?
        if [ "$status" -eq 3 ]; then
          echo "::warning title=strata::$NODE skipped: a parent is neither built nor in the registry"
          exit 0
        fi
        exit "$status"

        """

    /// Runs a step's script with bash, as GitHub does (`shell: bash`), with a `strata` on PATH
    /// that records its arguments and exits with `status`.
    static func runStep(_ script: String, environment: [String: String], strataStatus: Int32) throws
        -> (status: Int32, output: String, arguments: String) {
        let folder = try TemporaryFolder()
        try folder.write("bin/strata", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"\(folder.path)/arguments\"\nexit \(strataStatus)\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path + "/bin/strata")
        try folder.write("step.sh", script)
        let bash = try #require(ChildProcess.find("bash"))
        var merged = ProcessInfo.processInfo.environment
        merged["PATH"] = folder.path + "/bin:" + (merged["PATH"] ?? "/usr/bin:/bin")
        merged["STRATA_MANIFEST"] = "images/strata.yaml"
        merged.merge(environment) { _, new in new }
        let result = try ChildProcess.run(bash, ["--noprofile", "--norc", "-eo", "pipefail", folder.path + "/step.sh"],
                                          environment: merged, timeout: .seconds(60))
        let arguments = (try? String(contentsOfFile: folder.path + "/arguments", encoding: .utf8)) ?? ""
        return (result.status, result.output, arguments)
    }

    @Test(arguments: [("push", Int32(0), Int32(0), true), ("pull_request", 0, 0, false), ("pull_request", 3, 0, false),
                      ("push", 3, 0, true), ("push", 1, 1, true), ("pull_request", 2, 2, false)])
    func waveStepPushesOnlyOnPushAndWarnsOnSkipped(event: String, strataStatus: Int32, expected: Int32, pushes: Bool) throws {
        let (status, output, arguments) = try Self.runStep(Self.buildScript, environment: ["EVENT": event, "NODE": "chat@pc2"],
                                                           strataStatus: strataStatus)
        #expect(status == expected)
        let expectedArguments = ["-f", "images/strata.yaml", "build"] + (pushes ? ["--no-deps", "--push"] : [])
            + ["chat@pc2", "--remote-cache"]
        #expect(arguments == expectedArguments.joined(separator: "\n") + "\n")
        #expect(output.contains("::warning title=strata::chat@pc2 skipped") == (strataStatus == 3))
    }

    @Test func checkStepFindsThisWorkflowsPath() throws {
        let (_, workflow) = try Self.workflow()
        let plan = try #require((workflow["jobs"] as? [String: Any])?["plan"] as? [String: Any])
        let step = try #require(try Self.steps(plan).first { $0["name"] as? String == "Check this workflow against the fleet" })
        #expect(step["env"] as? [String: String] == ["WORKFLOW_REF": "${{ github.workflow_ref }}"])
        let script = try #require(step["run"] as? String)
        let ref = "acme/fleet/.github/workflows/strata.yml@refs/pull/7/merge"
        let (status, _, arguments) = try Self.runStep(script, environment: ["WORKFLOW_REF": ref], strataStatus: 0)
        #expect(status == 0)
        #expect(arguments == ["-f", "images/strata.yaml", "ci", "github", "--check", ".github/workflows/strata.yml",
                              "--runs-on", "ubuntu-24.04", "--branch", "main"].joined(separator: "\n") + "\n")
    }

    @Test func optionsChangeRunnerRegistryBranchesAndInstall() throws {
        let install = "  curl -fsSL https://example.com/strata -o /usr/local/bin/strata\nchmod +x /usr/local/bin/strata\n"
        let (text, workflow) = try Self.workflow([
            "--runs-on", "self-hosted: gpu", "--branch", "main", "--branch", "release/*",
            "--registry", "registry.example.com:5000/acme", "--strata-install", install,
        ])
        let on = try #require(workflow["on"] as? [String: Any])
        #expect((on["push"] as? [String: Any])?["branches"] as? [String] == ["main", "release/*"])
        #expect((workflow["env"] as? [String: String])?["STRATA_REGISTRY"] == "registry.example.com:5000/acme")
        let jobs = try #require(workflow["jobs"] as? [String: Any])
        let credentials = ["STRATA_REGISTRY_USER": "${{ secrets.REGISTRY_USERNAME }}",
                           "STRATA_REGISTRY_PASSWORD": "${{ secrets.REGISTRY_PASSWORD }}"]
        for name in ["plan", "wave0", "wave5"] {
            let job = try #require(jobs[name] as? [String: Any])
            #expect(job["runs-on"] as? String == "self-hosted: gpu")
            // Not GHCR: the job's token needs no packages permission.
            #expect(job["permissions"] == nil)
            #expect(job["container"] == nil)
            let steps = try Self.steps(job)
            #expect(steps[1]["name"] as? String == "Install strata")
            #expect(steps[1]["run"] as? String
                    == "curl -fsSL https://example.com/strata -o /usr/local/bin/strata\nchmod +x /usr/local/bin/strata\n")
            let env = try #require(steps.last?["env"] as? [String: String])
            #expect(credentials.allSatisfy { env[$0.key] == $0.value })
        }
        let planSteps = try Self.steps(try #require(jobs["plan"] as? [String: Any]))
        #expect(!planSteps.contains { ($0["uses"] as? String)?.hasPrefix("actions/upload-artifact") == true })
        let check = try #require(planSteps.first { $0["name"] as? String == "Check this workflow against the fleet" })
        #expect((check["env"] as? [String: String])?["STRATA_INSTALL"]
                == "curl -fsSL https://example.com/strata -o /usr/local/bin/strata\nchmod +x /usr/local/bin/strata")
        #expect((check["run"] as? String)?.contains(
            "--runs-on 'self-hosted: gpu' --branch main --branch 'release/*' --strata-install \"$STRATA_INSTALL\"") == true)
        #expect(!text.contains("download-artifact"))
    }

    /// A workflow written for the fleet passes `--check`; once the fleet gains a wave, or the
    /// options differ, it fails naming the file and the command that regenerates it.
    @Test func checkSaysWhenTheWorkflowIsStale() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", "registry: ghcr.io/acme\nimages:\n  app:\n    context: app\n")
        try folder.write("app/Dockerfile", "FROM scratch\n")
        let generated = try StrataBinary.run(["-C", folder.path, "ci", "github"])
        #expect(generated.status == 0, "\(generated.stderr)")
        try folder.write(".github/workflows/strata.yml", generated.stdout)
        let file = folder.path + "/.github/workflows/strata.yml"

        let fresh = try StrataBinary.run(["-C", folder.path, "ci", "github", "--check", file])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout.isEmpty)

        let otherBranch = try StrataBinary.run(["-C", folder.path, "ci", "github", "--check", file, "--branch", "dev"])
        #expect(otherBranch.status == 1)
        #expect(otherBranch.stderr.contains("line 20 differs"), "\(otherBranch.stderr)")

        try folder.write("strata.yaml", "registry: ghcr.io/acme\nimages:\n  app:\n    context: app\n  web:\n    context: web\n")
        try folder.write("web/Dockerfile", "FROM app\n")
        let stale = try StrataBinary.run(["-C", folder.path, "ci", "github", "--check", file])
        #expect(stale.status == 1)
        let lines = stale.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(stale.stderr.contains("strata: \(file) no longer matches the fleet"), "\(stale.stderr)")
        #expect(stale.stderr.contains("(it has 1 wave job, the fleet needs 2); regenerate it: strata -f "), "\(stale.stderr)")
        #expect(stale.stderr.hasSuffix(" ci github --registry ghcr.io/acme --runs-on ubuntu-24.04 --branch main > \(file)\n"),
                "\(stale.stderr)")

        let missing = try StrataBinary.run(["-C", folder.path, "ci", "github", "--check", folder.path + "/none.yml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("none.yml: no such file"))
    }

    @Test func aFleetWithoutRegistryNeedsOne() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", "images:\n  app:\n    context: app\n")
        try folder.write("app/Dockerfile", "FROM scratch\n")
        let result = try StrataBinary.run(["-C", folder.path, "ci", "github"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("pass --registry"))
        let given = try StrataBinary.run(["-C", folder.path, "ci", "github", "--registry", "ghcr.io/acme"])
        #expect(given.status == 0, "\(given.stderr)")
        let jobs = try #require((try Yams.load(yaml: given.stdout) as? [String: Any])?["jobs"] as? [String: Any])
        #expect(jobs.keys.sorted() == ["plan", "wave0"])
    }

    @Test func help() throws {
        let result = try StrataBinary.run(["ci", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("""
            OVERVIEW: Print a CI workflow that builds the fleet wave by wave.

            github: a GitHub Actions workflow with a plan job (strata matrix --changed),
            then one job per wave of the fleet (one per 256 nodes for a larger wave).
            Pushes to the --branch branches push; pull requests build without pushing. Save
            it as .github/workflows/strata.yml; its plan job runs --check on it, and fails
            once it no longer matches the fleet. The registry is --registry, else the
            manifest's registry:.

            USAGE: strata ci [--file <file>] [-C <C>] [--registry <registry>] [--cache <cache>] [--insecure-registry <insecure-registry> ...] <provider> [--runs-on <runs-on>] [--branch <branch> ...] [--strata-install <strata-install>] [--check <file>]
            """))
        let unknown = try StrataBinary.run(["ci", "gitlab"])
        #expect(unknown.status == 2)
    }

    @Test(arguments: [("ghcr.io/acme", "ghcr.io"), ("localhost:5000/x", "localhost:5000"), ("acme", "docker.io"),
                      ("docker.io/acme", "docker.io"), ("localhost/x", "localhost")])
    func registryHosts(registry: String, host: String) {
        #expect(GitHubWorkflow.host(of: registry) == host)
    }

    @Test(arguments: [("main", "main"), ("release/*", "'release/*'"), ("it's", #"'it'\''s'"#), ("a\nb", #"$'a\nb'"#),
                      ("", "''"), ("ghcr.io/acme:5000", "ghcr.io/acme:5000")])
    func shellWords(text: String, word: String) {
        #expect(GitHubWorkflow.shellWord(text) == word)
    }

    /// GitHub runs at most 256 jobs from one matrix: a larger wave gets a job per 256 nodes.
    @Test func largeWavesAreSplit() {
        let jobs = WaveJob.jobs(waveSizes: [1, 256, 257, 600, 0])
        #expect(jobs.map { $0.map(\.name) } == [["wave0"], ["wave1"], ["wave2_0", "wave2_1"],
                                               ["wave3_0", "wave3_1", "wave3_2"], ["wave4"]])
        let nodes = Array(0..<600)
        #expect(jobs[3].map { $0.slice(nodes).count } == [256, 256, 88])
        #expect(jobs[3][1].slice(nodes).first == 256)
    }
}

/// `strata build` under GitHub Actions: the markdown table on the job's summary page.
@Suite struct CIStepSummaryTests {
    static let outcomes = [
        NodeOutcome(node: "base-python", index: 0, status: .built, seconds: 12.345, key: "k1", size: 47_400_000),
        NodeOutcome(node: "chat@pc2", index: 1, status: .cached, seconds: 0, key: "k2", size: 1536),
        NodeOutcome(node: "web-api", index: 2, status: .failed, seconds: 3.04, key: "k3", message: "step 3 | exit 1\nlog"),
        NodeOutcome(node: "docs-site", index: 3, status: .skipped, seconds: 0, key: "k4", message: "parent web-api failed"),
    ]

    @Test func markdownTable() {
        #expect(GitHubStepSummary.markdown(Self.outcomes) == """
            ### strata build

            | node | status | seconds | size |
            | --- | --- | ---: | ---: |
            | `base-python` | built | 12.3 | 45.2 MiB |
            | `chat@pc2` | cached | 0.0 | 1.5 KiB |
            | `web-api` | failed: step 3 \\| exit 1 log | 3.0 | - |
            | `docs-site` | skipped: parent web-api failed | 0.0 | - |

            4 nodes: 1 built, 1 cached, 1 failed, 1 skipped


            """)
    }

    @Test func appendedOnlyInsideGitHubActions() throws {
        let folder = try TemporaryFolder()
        let path = folder.path + "/summary.md"
        try "# earlier step\n".write(toFile: path, atomically: true, encoding: .utf8)
        GitHubStepSummary.append(Self.outcomes, environment: ["GITHUB_STEP_SUMMARY": path])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "# earlier step\n")
        GitHubStepSummary.append(Self.outcomes, environment: ["GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": path])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "# earlier step\n" + GitHubStepSummary.markdown(Self.outcomes))
    }
}

/// Tag templates reach `strata build`: a template that cannot be expanded stops the build
/// before the engine is contacted (exit 2), naming the template and the manifest line.
@Suite struct CIBuildTagTemplateTests {
    @Test func badTemplatesStopTheBuildEarly() throws {
        let folder = try TemporaryFolder()
        try folder.write("strata.yaml", """
            images:
              app:
                context: app
                tags: ["{branch}-{build_number}"]
            """)
        try folder.write("app/Dockerfile", "FROM scratch\n")
        // No engine here: DOCKER_HOST names a socket that does not exist.
        let environment = ["DOCKER_HOST": "unix://\(folder.path)/no.sock", "GITHUB_SHA": String(repeating: "a", count: 40),
                           "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"]
        let manifest = try StrataBinary.run(["-C", folder.path, "--cache", folder.path + "/cache", "build"],
                                            environment: environment)
        #expect(manifest.status == 2)
        #expect(manifest.stderr.contains("strata.yaml:4: tag template '{branch}-{build_number}': unknown placeholder {build_number}"),
                "\(manifest.stderr)")

        try folder.write("strata.yaml", "images:\n  app:\n    context: app\n")
        let option = try StrataBinary.run(["-C", folder.path, "--cache", folder.path + "/cache", "build", "--tag", "v{semver.major}"],
                                          environment: environment)
        #expect(option.status == 2)
        #expect(option.stderr.contains("tag template 'v{semver.major}' (--tag): {semver.major} has no value in this build"),
                "\(option.stderr)")

        // A good template passes the check and the build goes on to the (missing) engine.
        let good = try StrataBinary.run(["-C", folder.path, "--cache", folder.path + "/cache", "build", "--tag", "{branch}-{short_sha}"],
                                        environment: environment)
        #expect(good.status == 1)
        #expect(!good.stderr.contains("tag template"))
    }
}
