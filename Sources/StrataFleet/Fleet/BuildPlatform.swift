/// A build platform as `platforms:`, compose's `platform:` and `--platform` spell it:
/// `os/arch[/variant]` (`linux/arm64`, `linux/arm/v7`), the fields of BuildKit's platform and
/// of an OCI image index entry. The one rule every reader of a platform applies.
public struct BuildPlatform: Sendable, Equatable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String? = nil

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// The hint of an error about a platform that is not one.
    public static let hint = "write os/arch[/variant], e.g. linux/arm64"
}

extension BuildPlatform {
    /// nil unless `text` is `os/arch` or `os/arch/variant` with no empty part.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), !parts.contains(where: \.isEmpty) else { return nil }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension BuildPlatform {
    /// This machine's platform, as Go names architectures (`uname -m` x86_64 is amd64,
    /// aarch64 arm64): what a local engine builds for when no engine says so itself.
    public static var host: BuildPlatform {
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: name.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch machine {
        case "x86_64", "amd64": return BuildPlatform(os: "linux", architecture: "amd64")
        case "aarch64", "arm64": return BuildPlatform(os: "linux", architecture: "arm64")
        case "armv7l": return BuildPlatform(os: "linux", architecture: "arm", variant: "v7")
        case "armv6l": return BuildPlatform(os: "linux", architecture: "arm", variant: "v6")
        case "i386", "i686": return BuildPlatform(os: "linux", architecture: "386")
        default: return BuildPlatform(os: "linux", architecture: machine)
        }
    }
}
