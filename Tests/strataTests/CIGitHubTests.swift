import Foundation
import StrataBuild
import Testing
import Yams
@testable import strata

/// `strata ci github`: the workflow parses as YAML and has the jobs, needs, conditions and
/// matrices that make the waves run in order.
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

    @Test func workflowForTheDemoFleet() throws {
        let (text, workflow) = try Self.workflow()
        let on = try #require(workflow["on"] as? [String: Any])
        #expect((on["push"] as? [String: Any])?["branches"] as? [String] == ["main"])
        #expect(on.keys.sorted() == ["pull_request", "push", "workflow_dispatch"])
        #expect(workflow["permissions"] as? [String: String] == ["contents": "read", "packages": "write"])
        let env = try #require(workflow["env"] as? [String: String])
        #expect(env["STRATA_REGISTRY"] == "ghcr.io/strata-demo")
        #expect(env["STRATA_MANIFEST"] == "images/strata.yaml")

        let jobs = try #require(workflow["jobs"] as? [String: Any])
        #expect(jobs.keys.sorted() == ["plan", "wave0", "wave1", "wave2", "wave3", "wave4", "wave5"])

        let plan = try #require(jobs["plan"] as? [String: Any])
        #expect(plan["runs-on"] as? String == "ubuntu-latest")
        let outputs = try #require(plan["outputs"] as? [String: String])
        #expect(outputs.count == 2 + 2 * 6)
        #expect(outputs["wave3"] == "${{ steps.matrix.outputs.wave3 }}")
        #expect(outputs["has_wave5"] == "${{ steps.matrix.outputs.has_wave5 }}")
        let planSteps = try Self.steps(plan)
        let matrixStep = try #require(planSteps.first { $0["id"] as? String == "matrix" })
        #expect(matrixStep["run"] as? String == #"strata -f "$STRATA_MANIFEST" matrix --changed --remote-cache --format github"#)
        #expect(planSteps.first?["uses"] as? String == "actions/checkout@v4")

        for wave in 0..<6 {
            let job = try #require(jobs["wave\(wave)"] as? [String: Any])
            #expect(job["needs"] as? [String] == ["plan"] + (0..<wave).map { "wave\($0)" })
            #expect(job["if"] as? String == "${{ !cancelled() && needs.plan.outputs.has_wave\(wave) == 'true' && "
                    + "!contains(needs.*.result, 'failure') && !contains(needs.*.result, 'cancelled') }}")
            let strategy = try #require(job["strategy"] as? [String: Any])
            #expect(strategy["fail-fast"] as? Bool == false)
            #expect(strategy["matrix"] as? String == "${{ fromJSON(needs.plan.outputs.wave\(wave)) }}")
            let steps = try Self.steps(job)
            #expect(steps.map { ($0["uses"] as? String) ?? ($0["name"] as? String) ?? "?" }
                    == ["actions/checkout@v4", "Install strata", "docker/login-action@v3", "Build and push ${{ matrix.node }}"])
            #expect(steps[1]["run"] as? String == """
                sudo apt-get update && sudo apt-get install -y libarchive-dev libcurl4-openssl-dev libssl-dev
                swift build -c release --product strata
                echo "$PWD/.build/release" >> "$GITHUB_PATH"

                """)
            #expect(steps[2]["with"] as? [String: String] == ["registry": "ghcr.io", "username": "${{ github.actor }}",
                                                               "password": "${{ secrets.GITHUB_TOKEN }}"])
            #expect(steps[3]["env"] as? [String: String] == ["NODE": "${{ matrix.node }}"])
            #expect(steps[3]["run"] as? String == #"strata -f "$STRATA_MANIFEST" build --no-deps "$NODE" --push --remote-cache"#)
        }
        // The comments that tell a reader how to change it.
        #expect(text.contains("the runner: `--runs-on LABEL`"))
        #expect(text.contains("the registry: `--registry R`"))
        #expect(text.contains("the branches that build: `--branch B`"))
        #expect(text.contains("# wave 2: base-cpu-pydeps, base-gpu@mainpc, base-gpu@pc2"))
    }

    @Test func optionsChangeRunnerRegistryBranchesAndInstall() throws {
        let (_, workflow) = try Self.workflow([
            "--runs-on", "self-hosted: gpu", "--branch", "main", "--branch", "release/*",
            "--registry", "registry.example.com:5000/acme", "--strata-install", "  curl -fsSL https://example.com/strata -o /usr/local/bin/strata\nchmod +x /usr/local/bin/strata\n",
        ])
        let on = try #require(workflow["on"] as? [String: Any])
        #expect((on["push"] as? [String: Any])?["branches"] as? [String] == ["main", "release/*"])
        #expect((workflow["env"] as? [String: String])?["STRATA_REGISTRY"] == "registry.example.com:5000/acme")
        let jobs = try #require(workflow["jobs"] as? [String: Any])
        for name in ["plan", "wave0", "wave5"] {
            let job = try #require(jobs[name] as? [String: Any])
            #expect(job["runs-on"] as? String == "self-hosted: gpu")
            let steps = try Self.steps(job)
            #expect(steps[1]["run"] as? String
                    == "curl -fsSL https://example.com/strata -o /usr/local/bin/strata\nchmod +x /usr/local/bin/strata\n")
            let login = try #require(steps[2]["with"] as? [String: String])
            #expect(login["registry"] == "registry.example.com:5000")
            #expect(login["password"] == "${{ secrets.REGISTRY_PASSWORD }}")
        }
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
            then one job per wave of the fleet. Save it as .github/workflows/strata.yml,
            and regenerate it when the fleet gains a wave. The registry is --registry, else
            the manifest's registry:.

            USAGE: strata ci [--file <file>] [-C <C>] [--registry <registry>] [--cache <cache>] [--insecure-registry <insecure-registry> ...] <provider> [--runs-on <runs-on>] [--branch <branch> ...] [--strata-install <strata-install>]
            """))
        let unknown = try StrataBinary.run(["ci", "gitlab"])
        #expect(unknown.status == 2)
    }

    @Test(arguments: [("ghcr.io/acme", "ghcr.io"), ("localhost:5000/x", "localhost:5000"), ("acme", "docker.io"),
                      ("docker.io/acme", "docker.io"), ("localhost/x", "localhost")])
    func registryHosts(registry: String, host: String) {
        #expect(GitHubWorkflow.host(of: registry) == host)
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
