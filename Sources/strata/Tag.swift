import ArgumentParser
import Foundation
import StrataImages

extension Strata {
    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a manifest to another tag or repository, without pulling: blobs are mounted, or streamed across registries.",
            discussion: "Example: strata tag 127.0.0.1:5000/team/web:1.0 127.0.0.1:5000/team/web:stable\n"
                + "Exit status: 0 when the tag was written, 1 when the copy failed, 2 for bad usage.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The source: host/repository:tag or host/repository@sha256:…")
        var source: String

        @Argument(help: "The destination: host/repository:tag (the source's tag when omitted).")
        var destination: String

        @Option(help: "Concurrent blob copies.")
        var jobs: Int = 4

        func run() async throws {
            let from: RegistryReference, to: RegistryReference
            do {
                from = try RegistryReference(parsing: source)
                to = try RegistryReference(parsing: destination)
            } catch {
                Console.error("\(error)")
                throw ExitCode(2)
            }
            guard let tag = to.reference ?? from.reference.flatMap({ $0.hasPrefix("sha256:") ? nil : $0 }) else {
                Console.error("name the destination tag: \(destination):<tag>")
                throw ExitCode(2)
            }
            do {
                let report = try await RegistryCopy(access: global.registryAccess, jobs: jobs).copy(from, to: to.with(reference: nil), tags: [tag])
                Console.output("\(to.with(reference: tag)) \(report.manifestDigest) (blobs: \(report.uploaded) copied, \(report.mounted) mounted, \(report.skipped) already there)")
            } catch {
                Console.error("cannot tag \(from) as \(to.with(reference: tag)): \(error)")
                throw ExitCode(1)
            }
        }
    }
}
