import ArgumentParser
import StrataArchive
import StrataHTTP
import StrataHash

extension Strata {
    struct Version: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print strata's version and the C libraries it uses.")

        func run() async throws {
            Console.output("strata \(StrataVersion.current)")
            Console.output("libarchive: \(libarchiveVersion())")
            Console.output("libcurl: \(libcurlVersion())")
            Console.output("OpenSSL: \(openSSLVersion())")
        }
    }
}
