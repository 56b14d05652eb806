import ArgumentParser
import Foundation
import StrataFleet

extension Strata {
    /// `strata ci github`. The provider is an argument, not a subcommand, so that global
    /// options written first (`strata -C images ci github`, moved behind `ci`) still parse.
    struct CI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ci",
            abstract: "Print a CI workflow that builds the fleet wave by wave.",
            discussion: """
                github: a GitHub Actions workflow with a plan job (strata matrix --changed), then one job per \
                wave of the fleet. Save it as .github/workflows/strata.yml, and regenerate it when the fleet \
                gains a wave. The registry is --registry, else the manifest's registry:.
                """)

        enum Provider: String, ExpressibleByArgument, CaseIterable { case github }

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The CI service: github.")
        var provider: Provider

        @Option(help: "The runner label every job runs on.")
        var runsOn = "ubuntu-latest"

        @Option(name: .customLong("branch"), help: "A branch whose pushes build and push (repeatable; default: main).")
        var branches: [String] = []

        @Option(help: "The shell command that installs strata on a runner (default: build it from source).")
        var strataInstall: String?

        func run() async throws {
            let fleet = try global.loadSoundFleet()
            guard let registry = global.effectiveRegistry ?? fleet.manifest.registry else {
                Console.error("the workflow pushes to a registry, and none is set: pass --registry "
                              + "(e.g. ghcr.io/OWNER) or set registry: in \(fleet.displayPath(fleet.manifest.path))")
                throw ExitCode(2)
            }
            let settings = GitHubWorkflow.Settings(
                manifest: GitHubWorkflow.repositoryPath(of: fleet.manifest.path),
                registry: registry,
                runsOn: runsOn,
                branches: branches.isEmpty ? ["main"] : branches,
                install: strataInstall,
                waves: GitHubWorkflow.waveNames(fleet),
                version: StrataVersion.current)
            Console.output(GitHubWorkflow.render(settings))
        }
    }
}

/// The workflow `ci github` prints. GitHub evaluates a job's `strategy.matrix` only when
/// its `if:` holds, so an empty wave is skipped rather than failing on an empty matrix.
enum GitHubWorkflow {
    struct Settings: Equatable {
        /// The manifest, relative to the repository's root.
        var manifest: String
        var registry: String
        var runsOn: String
        var branches: [String]
        /// nil: build strata from source.
        var install: String?
        /// The node names of each wave of the whole fleet (one job per wave).
        var waves: [[String]]
        var version: String
    }

    /// The manifest's path from the root of its git repository (what a checkout has), else
    /// from the current folder.
    static func repositoryPath(of manifest: String) -> String {
        let folder = (manifest as NSString).deletingLastPathComponent
        let root = Git.output(["rev-parse", "--show-toplevel"], in: folder) ?? FileManager.default.currentDirectoryPath
        let resolvedRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        let resolved = URL(fileURLWithPath: manifest).resolvingSymlinksInPath().path
        guard resolved.hasPrefix(resolvedRoot + "/") else { return manifest }
        return String(resolved.dropFirst(resolvedRoot.count + 1))
    }

    static func waveNames(_ fleet: Fleet) -> [[String]] {
        var waves = [[String]](repeating: [], count: MatrixDocument.depth(of: fleet))
        for (index, wave) in fleet.waves.enumerated() { waves[wave].append(fleet.nodes[index].name) }
        return waves
    }

    /// The registry's host: the first path component when it looks like one (a dot, a port,
    /// `localhost`), else Docker Hub, as the docker CLI decides.
    static func host(of registry: String) -> String {
        let first = String(registry.prefix { $0 != "/" })
        return first.contains(".") || first.contains(":") || first == "localhost" ? first : "docker.io"
    }

    /// A YAML double-quoted scalar: a JSON string is one (YAML 1.2 §7.3.1).
    static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(text), as: UTF8.self)) ?? "\"\""
    }

    static func render(_ settings: Settings) -> String {
        let host = host(of: settings.registry)
        let depth = settings.waves.count
        var lines: [String] = []
        func add(_ text: String...) { lines += text }

        add("# Builds the fleet \(settings.manifest) with strata, wave by wave: a plan job lists the nodes",
            "# whose keys changed (strata matrix --changed), then wave job i builds wave i's nodes in",
            "# parallel, each with `strata build --no-deps NODE --push --remote-cache`, after every earlier wave.",
            "# Generated by `strata ci github` (strata \(settings.version)); regenerate it when the fleet",
            "# gains a wave (it has \(depth)). To change:",
            "#   - the runner: `--runs-on LABEL`, or edit every `runs-on:` below;",
            "#   - the registry: `--registry R`, or edit STRATA_REGISTRY below (and the login steps);",
            "#   - the branches that build: `--branch B` (repeatable), or edit `on.push.branches`;",
            "#   - how strata is installed: `--strata-install CMD`, or edit the \"Install strata\" steps.",
            "name: strata",
            "",
            "\"on\":  # quoted, or YAML 1.1 tools read the key as true",
            "  push:",
            "    branches: [\(settings.branches.map(quoted).joined(separator: ", "))]",
            "  # Pull requests build and push too; one from a fork gets a read-only GITHUB_TOKEN",
            "  # and cannot push: remove pull_request to build only the branches above.",
            "  pull_request:",
            "  workflow_dispatch:",
            "",
            "# Pushing to GHCR with GITHUB_TOKEN needs packages: write.",
            "permissions:",
            "  contents: read",
            "  packages: write",
            "",
            "# One run per ref at a time: two runs pushing the same tags would race.",
            "concurrency:",
            "  group: strata-${{ github.ref }}",
            "  cancel-in-progress: ${{ github.event_name == 'pull_request' }}",
            "",
            "env:",
            "  STRATA_MANIFEST: \(quoted(settings.manifest))",
            "  # Where images are pushed: strata reads STRATA_REGISTRY as --registry.",
            "  STRATA_REGISTRY: \(quoted(settings.registry))",
            "",
            "jobs:",
            "  plan:",
            "    runs-on: \(quoted(settings.runsOn))",
            "    outputs:",
            "      count: ${{ steps.matrix.outputs.count }}",
            "      waves: ${{ steps.matrix.outputs.waves }}")
        for wave in 0..<depth {
            add("      wave\(wave): ${{ steps.matrix.outputs.wave\(wave) }}",
                "      has_wave\(wave): ${{ steps.matrix.outputs.has_wave\(wave) }}")
        }
        add("    steps:")
        lines += commonSteps(settings, host: host, explained: true)
        add("      - name: Plan the waves",
            "        id: matrix",
            "        run: strata -f \"$STRATA_MANIFEST\" matrix --changed --remote-cache --format github")
        if depth > 0 {
            add("",
                "  # One job per wave; each needs every earlier wave, not only the previous one, so that",
                "  # a wave skipped for being empty cannot hide a failure before it (needs.* holds direct",
                "  # dependencies only). `!cancelled()` replaces the implicit success(): a wave runs after",
                "  # skipped (empty) waves, but not after a failure, and not once the run is cancelled.",
                "  # GitHub evaluates strategy.matrix only when if: holds, so an empty wave never expands.")
        }
        for wave in 0..<depth {
            let needs = ["plan"] + (0..<wave).map { "wave\($0)" }
            add("",
                "  # wave \(wave): \(settings.waves[wave].joined(separator: ", "))",
                "  wave\(wave):",
                "    name: wave \(wave) (${{ matrix.node }})",
                "    needs: [\(needs.joined(separator: ", "))]",
                "    if: ${{ !cancelled() && needs.plan.outputs.has_wave\(wave) == 'true' && "
                    + "!contains(needs.*.result, 'failure') && !contains(needs.*.result, 'cancelled') }}",
                "    runs-on: \(quoted(settings.runsOn))",
                "    strategy:",
                "      fail-fast: false",
                "      matrix: ${{ fromJSON(needs.plan.outputs.wave\(wave)) }}",
                "    steps:")
            lines += commonSteps(settings, host: host)
            add("      - name: Build and push ${{ matrix.node }}",
                "        env:",
                "          NODE: ${{ matrix.node }}",
                "        run: strata -f \"$STRATA_MANIFEST\" build --no-deps \"$NODE\" --push --remote-cache")
        }
        return lines.joined(separator: "\n")
    }

    /// Checkout, install strata, log in to the registry: what every job starts with.
    static func commonSteps(_ settings: Settings, host: String, explained: Bool = false) -> [String] {
        var lines = ["      - uses: actions/checkout@v4"]
        if let install = settings.install {
            lines += ["      - name: Install strata", "        run: |"]
            // Trimmed: a literal block takes its indentation from its first line.
            let command = install.trimmingCharacters(in: .whitespacesAndNewlines)
            lines += command.split(separator: "\n", omittingEmptySubsequences: false).map { "          " + $0 }
        } else {
            if explained {
                lines += [
                    "      # Builds strata from source (this repository's Package.swift) with the runner's Swift",
                    "      # toolchain and the -dev packages of libarchive, libcurl and OpenSSL. For a fleet in",
                    "      # another repository, use `strata ci github --strata-install CMD` (e.g. download a",
                    "      # release binary into a folder on $GITHUB_PATH).",
                ]
            }
            lines += [
                "      - name: Install strata",
                "        run: |",
                "          sudo apt-get update && sudo apt-get install -y libarchive-dev libcurl4-openssl-dev libssl-dev",
                "          swift build -c release --product strata",
                "          echo \"$PWD/.build/release\" >> \"$GITHUB_PATH\"",
            ]
        }
        if host == "ghcr.io" {
            if explained { lines.append("      # GHCR accepts the job's GITHUB_TOKEN (permissions: packages: write).") }
            lines += [
                "      - uses: docker/login-action@v3",
                "        with:",
                "          registry: ghcr.io",
                "          username: ${{ github.actor }}",
                "          password: ${{ secrets.GITHUB_TOKEN }}",
            ]
        } else {
            if explained { lines.append("      # Add the secrets REGISTRY_USERNAME and REGISTRY_PASSWORD to the repository.") }
            lines += [
                "      - uses: docker/login-action@v3",
                "        with:",
                "          registry: \(quoted(host))",
                "          username: ${{ secrets.REGISTRY_USERNAME }}",
                "          password: ${{ secrets.REGISTRY_PASSWORD }}",
            ]
        }
        return lines
    }
}
