import Foundation

/// A user name and a password (or a personal access token). The password is
/// never printed: `description`, `debugDescription` and the mirror that
/// `dump` and the debugger use show the user name only.
public struct Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `Basic base64(user:password)` (RFC 7617).
    var basicAuthorization: String {
        "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// The strings that must never appear in output: the password and the
    /// encoded pair.
    var secrets: [String] {
        [password, Data("\(username):\(password)".utf8).base64EncodedString()]
    }

    public var description: String { "credentials for user \(username)" }
    public var debugDescription: String { "Credentials(username: \(username), password: <hidden>)" }
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username, "password": "<hidden>"])
    }
}

/// Blanks every occurrence of the secrets (at least 4 characters long, so an
/// empty or trivial password does not blank the whole text) from `text`.
func redact(_ text: String, secrets: [String]) -> String {
    var text = text
    for secret in secrets where secret.count >= 4 {
        text = text.replacingOccurrences(of: secret, with: "<redacted>")
    }
    return text
}
