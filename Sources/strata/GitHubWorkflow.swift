import Foundation

/// The workflow `ci github` prints. GitHub evaluates a job's `strategy.matrix` only when its
/// `if:` holds, so a wave with nothing to build is skipped rather than failing on an empty
/// matrix.
enum GitHubWorkflow {
    struct Settings: Equatable {
        /// The manifest, relative to the repository's root.
        var manifest: String
        var registry: String
        var runsOn: String
        var branches: [String]
        /// nil: the plan job builds strata and hands it to the wave jobs.
        var install: String?
        /// The jobs of each wave of the whole fleet.
        var waves: [[WaveJob]]
    }

    /// The actions the workflow uses, pinned by commit (a tag can be moved; a commit cannot),
    /// each a release that runs on node24: GitHub's runners no longer have node20.
    enum Action {
        static let checkout = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
        static let uploadArtifact = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0"
        static let downloadArtifact = "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1"
    }

    /// Swift's official image, at the release the package is built with (Package.swift needs
    /// tools 6.1). It is Ubuntu 24.04, like the `ubuntu-24.04` runners the binary runs on.
    static let swiftImage = "swift:6.3.1-noble"

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

    /// A shell word for `text`: as is when no character needs quoting, else single-quoted, or
    /// `$'…'` for text with a line break, so that a command stays on one line.
    static func shellWord(_ text: String) -> String {
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:@%+=,-")
        if !text.isEmpty, text.unicodeScalars.allSatisfy(plain.contains) { return text }
        guard text.contains(where: \.isNewline) else { return "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
        return "$'" + escaped + "'"
    }

    /// The options of `ci github` that give this workflow, each explicit so that the plan
    /// job's check reproduces the file even if a default changes; `--strata-install` is left
    /// to the caller (the job passes it through the environment).
    static func options(_ settings: Settings) -> [String] {
        ["--runs-on", settings.runsOn] + settings.branches.flatMap { ["--branch", $0] }
    }

    /// The `ci github` command line that prints this workflow, for a message.
    static func command(_ settings: Settings) -> String {
        var words = ["strata", "-f", settings.manifest, "ci", "github", "--registry", settings.registry] + options(settings)
        if let install = settings.install { words += ["--strata-install", install] }
        return words.map(shellWord).joined(separator: " ")
    }

    static func render(_ settings: Settings) -> String {
        let jobs = settings.waves.flatMap { $0 }
        var lines = header(settings)
        lines += planJob(settings, jobs: jobs)
        if !jobs.isEmpty {
            lines += ["",
                      "  # A job per wave, after the jobs of the wave before it. `!cancelled()` replaces the",
                      "  # implicit success(): a wave runs after a failure in an earlier one (a node whose parent",
                      "  # failed finds no parent and is reported skipped) and after waves skipped for having",
                      "  # nothing to build; not when the plan failed, nor once the run is cancelled.",
                      "  # GitHub evaluates strategy.matrix only when if: holds, so an empty wave never expands."]
        }
        for waveJobs in settings.waves {
            for job in waveJobs {
                let previous = job.wave == 0 ? [] : settings.waves[job.wave - 1].map(\.name)
                lines += waveJob(settings, job: job, needs: ["plan"] + previous)
            }
        }
        return lines.joined(separator: "\n")
    }

    static func header(_ settings: Settings) -> [String] {
        let split = settings.waves.contains { $0.count > 1 }
        return [
            "# Builds the fleet \(settings.manifest) with strata, wave by wave. The plan job builds strata,",
            "# checks this file against the fleet and lists the nodes whose keys changed (strata matrix",
            "# --changed); then the jobs of wave i build its nodes in parallel, once the jobs of wave",
            "# i-1 are done. On a push to the branches below each runs `strata build --no-deps NODE",
            "# --remote-cache --push`: its parents come from the registry. A pull request pushes",
            "# nothing and moves no tag, so its jobs build `strata build NODE --remote-cache`, parents",
            "# that changed included. A failed node stops only its own descendants: they are",
            "# reported skipped (a warning), and other branches go on.",
        ] + (split ? ["# A wave of more than \(WaveJob.matrixLimit) nodes, more than a GitHub matrix runs, "
                      + "has a job per \(WaveJob.matrixLimit) nodes."] : []) + [
            "#",
            "# Generated by `strata ci github`: regenerate it rather than edit it. The plan job fails",
            "# when this file no longer matches the fleet (\(settings.waves.count) waves) or these options:",
            "#   --runs-on LABEL       the runner of every job (Ubuntu 24.04 unless --strata-install);",
            "#   --registry R          where images are pushed (STRATA_REGISTRY below);",
            "#   --branch B            a branch whose pushes push (repeatable);",
            "#   --strata-install CMD  how each job installs strata, instead of the plan job building it.",
            "name: strata",
            "",
            "\"on\":  # quoted, or YAML 1.1 tools read the key as true",
            "  push:",
            "    branches: [\(settings.branches.map(quoted).joined(separator: ", "))]",
            "  pull_request:",
            "",
            "permissions:",
            "  contents: read",
            "",
            "# One run per ref at a time: two runs pushing the same tags would race. A new commit on a",
            "# pull request cancels the run of the one before.",
            "concurrency:",
            "  group: strata-${{ github.ref }}",
            "  cancel-in-progress: ${{ github.event_name == 'pull_request' }}",
            "",
            "defaults:",
            "  run:",
            "    shell: bash",
            "",
            "env:",
            "  STRATA_MANIFEST: \(quoted(settings.manifest))",
            "  # Where images are pushed: strata reads STRATA_REGISTRY as --registry.",
            "  STRATA_REGISTRY: \(quoted(settings.registry))",
            "",
            "jobs:",
        ]
    }

    static func planJob(_ settings: Settings, jobs: [WaveJob]) -> [String] {
        let ghcr = host(of: settings.registry) == "ghcr.io"
        var lines = ["  plan:",
                     "    runs-on: \(quoted(settings.runsOn))",
                     "    timeout-minutes: 60"]
        if ghcr {
            lines += ["    permissions:",
                      "      contents: read",
                      "      packages: read  # to look strata-<key> tags up in GHCR"]
        }
        if settings.install == nil {
            lines += ["    # strata is built once, here, with Swift's official image at the release the package",
                      "    # is built with (pinned by tag; append @sha256:<digest> to pin the image too), and",
                      "    # linked with the Swift runtime so that the wave jobs run it without a toolchain.",
                      "    container:",
                      "      image: \(swiftImage)"]
        }
        lines += ["    outputs:",
                  "      count: ${{ steps.matrix.outputs.count }}",
                  "      waves: ${{ steps.matrix.outputs.waves }}"]
        for job in jobs {
            lines += ["      \(job.name): ${{ steps.matrix.outputs.\(job.name) }}",
                      "      has_\(job.name): ${{ steps.matrix.outputs.has_\(job.name) }}"]
        }
        lines += ["    steps:"] + checkout
        if let install = settings.install {
            lines += installSteps(install)
        } else {
            lines += ["      - name: Build strata",
                      "        run: |",
                      "          apt-get update -qq",
                      "          apt-get install -y -qq --no-install-recommends libarchive-dev libcurl4-openssl-dev libssl-dev pkg-config",
                      "          swift build -c release --product strata --static-swift-stdlib",
                      "          echo \"$PWD/.build/release\" >> \"$GITHUB_PATH\""]
        }
        lines += ["      # workflow_ref is OWNER/REPO/PATH@REF: this file's path in the repository.",
                  "      - name: Check this workflow against the fleet",
                  "        env:",
                  "          WORKFLOW_REF: ${{ github.workflow_ref }}"]
        var check = "strata -f \"$STRATA_MANIFEST\" ci github --check \"${workflow%@refs/*}\" "
            + options(settings).map(shellWord).joined(separator: " ")
        if let install = settings.install {
            lines += ["          STRATA_INSTALL: \(quoted(trimmed(install)))"]
            check += " --strata-install \"$STRATA_INSTALL\""
        }
        lines += ["        run: |",
                  "          workflow=${WORKFLOW_REF#*/*/}",
                  "          " + check]
        if settings.install == nil {
            lines += ["      - uses: \(Action.uploadArtifact)",
                      "        with:",
                      "          name: strata",
                      "          path: .build/release/strata",
                      "          if-no-files-found: error",
                      "          retention-days: 1",
                      "          overwrite: true  # a re-run of the whole workflow uploads it again"]
        }
        lines += ["      - name: Plan the waves",
                  "        id: matrix",
                  "        env:"]
        lines += credentials(host: host(of: settings.registry))
        lines += ["        run: strata -f \"$STRATA_MANIFEST\" matrix --changed --remote-cache --format github"]
        return lines
    }

    static func waveJob(_ settings: Settings, job: WaveJob, needs: [String]) -> [String] {
        let part = job.parts == 1 ? "" : ", part \(job.part + 1) of \(job.parts)"
        var lines = ["",
                     "  \(job.name):",
                     "    name: wave \(job.wave)\(part) (${{ matrix.node }})",
                     "    needs: [\(needs.joined(separator: ", "))]",
                     "    if: ${{ !cancelled() && needs.plan.result == 'success' && needs.plan.outputs.has_\(job.name) == 'true' }}",
                     "    runs-on: \(quoted(settings.runsOn))",
                     "    timeout-minutes: 120"]
        if host(of: settings.registry) == "ghcr.io" {
            lines += ["    permissions:",
                      "      contents: read",
                      "      packages: write  # to push to GHCR (a pull request from a fork gets read only)"]
        }
        lines += ["    strategy:",
                  "      fail-fast: false",
                  "      matrix: ${{ fromJSON(needs.plan.outputs.\(job.name)) }}",
                  "    steps:"] + checkout
        if let install = settings.install {
            lines += installSteps(install)
        } else {
            lines += ["      - uses: \(Action.downloadArtifact)",
                      "        with:",
                      "          name: strata",
                      "          path: ${{ runner.temp }}/strata",
                      "      # The artifact loses the executable bit. The binary needs libarchive and libcurl,",
                      "      # which the runner has or gets here.",
                      "      - name: Install strata",
                      "        run: |",
                      "          chmod +x \"$RUNNER_TEMP/strata/strata\"",
                      "          if ! \"$RUNNER_TEMP/strata/strata\" version >/dev/null 2>&1; then",
                      "            sudo apt-get update -qq",
                      "            sudo apt-get install -y -qq --no-install-recommends libarchive13t64 libcurl4t64",
                      "          fi",
                      "          echo \"$RUNNER_TEMP/strata\" >> \"$GITHUB_PATH\""]
        }
        lines += ["      # strata exits 3 when NODE is skipped: a parent is neither built nor in the registry",
                  "      # (its job failed). A warning, not a failure.",
                  "      - name: Build ${{ matrix.node }}",
                  "        env:",
                  "          NODE: ${{ matrix.node }}",
                  "          EVENT: ${{ github.event_name }}"]
        lines += credentials(host: host(of: settings.registry))
        lines += ["        run: |",
                  "          # A pull request pushes nothing, so later waves cannot find its parents in the",
                  "          # registry: it builds them (those that changed) in each job instead.",
                  "          mode=()",
                  "          if [ \"$EVENT\" = push ]; then mode=(--no-deps --push); fi",
                  "          status=0",
                  "          strata -f \"$STRATA_MANIFEST\" build \"${mode[@]}\" \"$NODE\" --remote-cache || status=$?",
                  "          if [ \"$status\" -eq 3 ]; then",
                  "            echo \"::warning title=strata::$NODE skipped: a parent is neither built nor in the registry\"",
                  "            exit 0",
                  "          fi",
                  "          exit \"$status\""]
        return lines
    }

    /// Without persisted credentials: nothing after the checkout needs git to push.
    static let checkout = ["      - uses: \(Action.checkout)",
                           "        with:",
                           "          persist-credentials: false"]

    static func installSteps(_ install: String) -> [String] {
        ["      - name: Install strata", "        run: |"]
            + trimmed(install).split(separator: "\n", omittingEmptySubsequences: false).map { "          " + $0 }
    }

    /// A literal block takes its indentation from its first line, so the command is trimmed.
    static func trimmed(_ install: String) -> String {
        install.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The step environment strata finds registry credentials in (no `docker login`: strata
    /// talks to the registry itself). GHCR takes the job's GITHUB_TOKEN; another registry,
    /// the repository's secrets, which a pull request from a fork does not get: it reads the
    /// registry anonymously, and a lookup that fails is a miss.
    static func credentials(host: String) -> [String] {
        guard host != "ghcr.io" else { return ["          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"] }
        return ["          # The repository secrets REGISTRY_USERNAME and REGISTRY_PASSWORD log in to \(host).",
                "          STRATA_REGISTRY_USER: ${{ secrets.REGISTRY_USERNAME }}",
                "          STRATA_REGISTRY_PASSWORD: ${{ secrets.REGISTRY_PASSWORD }}"]
    }
}
