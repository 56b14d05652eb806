import ArgumentParser
import Foundation
import StrataFleet
import StrataHTTP

/// Options every command takes. Every fallback is resolved here, in one place:
/// `--flag ?? environment ?? manifest ?? default`.
struct GlobalOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "The manifest (strata.yaml or docker-compose.yml).")
    var file: String?

    @Option(name: .customShort("C"), help: "Run as if strata was started in this folder.")
    var directory: String?

    @Option(help: "Repository prefix for pushes (overrides the manifest; env STRATA_REGISTRY).")
    var registry: String?

    @Option(help: "Cache directory (overrides the manifest; env STRATA_CACHE).")
    var cache: String?

    @Option(name: .customLong("insecure-registry"),
            help: "A registry host that may be reached over plain HTTP (repeatable; loopback hosts always may).")
    var insecureRegistries: [String] = []

    /// Global options given before the command name, moved after it: `-C images plan --explain`
    /// → `plan -C images --explain`. Options with values take the next argument unless written
    /// `--name=value`.
    static func movingLeadingOptions(_ arguments: [String]) -> [String] {
        let withValue: Set<String> = ["-f", "--file", "-C", "--directory", "--registry", "--cache", "--insecure-registry"]
        var leading: [String] = []
        var position = 0
        while position < arguments.count {
            let argument = arguments[position]
            let name = String(argument.prefix { $0 != "=" })
            guard withValue.contains(name) else { break }
            leading.append(argument)
            if !argument.contains("="), position + 1 < arguments.count {
                leading.append(arguments[position + 1])
                position += 1
            }
            position += 1
        }
        guard !leading.isEmpty, position < arguments.count else { return arguments }
        return [arguments[position]] + leading + arguments[(position + 1)...]
    }

    /// The time limits of every request (`STRATA_CONNECT_TIMEOUT`, `STRATA_IDLE_TIMEOUT`,
    /// `STRATA_BUILD_IDLE_TIMEOUT`); `validate()` has refused a value that is not seconds.
    var timeouts: HTTPTimeouts {
        (try? HTTPTimeouts(environment: ProcessInfo.processInfo.environment)) ?? HTTPTimeouts()
    }

    func validate() throws {
        do {
            _ = try HTTPTimeouts(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The `--registry` in effect.
    var effectiveRegistry: String? {
        registry ?? ProcessInfo.processInfo.environment["STRATA_REGISTRY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The manifest path: `-f` (relative to `-C`), else the first default name found in `-C` or
    /// the current folder.
    func manifestPath() throws(Manifest.Error) -> String {
        let base = directory ?? FileManager.default.currentDirectoryPath
        if let file {
            return file.hasPrefix("/") ? file : (base as NSString).appendingPathComponent(file)
        }
        return try ManifestLoader.find(in: base)
    }

    /// Loads and resolves the fleet (`platform`: see `Fleet.load`). A manifest that cannot be
    /// read is a usage error (exit 2).
    func loadFleet(platform: String? = nil) throws -> Fleet {
        do {
            return try Fleet.load(path: try manifestPath(), registry: effectiveRegistry, platform: platform)
        } catch {
            Console.error("\(error)")
            throw ExitCode(2)
        }
    }

    /// Loads the fleet and refuses one with errors (a cycle, a missing Dockerfile…): every
    /// command but `check` needs a sound graph. Exit 2, with each error on its own line.
    func loadSoundFleet(platform: String? = nil) throws -> Fleet {
        let fleet = try loadFleet(platform: platform)
        // What loading the manifest found but could go on with (a compose key strata does not
        // honour, a variable without a value) is said on every command, never dropped.
        for warning in fleet.manifest.warnings { Console.error(warning.description) }
        let errors = fleet.findings.filter { $0.severity == .error }
        guard errors.isEmpty else {
            for finding in errors { Console.error(finding.description) }
            Console.error("\(errors.count) error\(errors.count == 1 ? "" : "s") in the fleet; `strata check` lists every finding")
            throw ExitCode(2)
        }
        return fleet
    }
}

extension GlobalOptions {
    /// The cache directory: `--cache ?? STRATA_CACHE ?? manifest cache: ?? <manifest folder>/.strata-cache`.
    func cachePath(for manifest: Manifest) -> String {
        let environment = ProcessInfo.processInfo.environment["STRATA_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
        if let explicit = cache ?? environment {
            let base = directory ?? FileManager.default.currentDirectoryPath
            return explicit.hasPrefix("/") ? explicit : (base as NSString).appendingPathComponent(explicit)
        }
        let written = manifest.cache ?? ".strata-cache"
        let path = written.hasPrefix("/") ? written : (manifest.directory as NSString).appendingPathComponent(written)
        return (path as NSString).standardizingPath
    }
}
