/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1): a scheme
/// and its auth-params, e.g. `Bearer realm="https://ghcr.io/token",
/// service="ghcr.io",scope="repository:acme/web:pull"` (docker token
/// authentication spec).
public struct AuthChallenge: Sendable, Equatable {
    /// The scheme, lowercased: `basic`, `bearer`.
    public var scheme: String
    /// Parameter names are lowercased; values are unquoted.
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String] = [:]) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
    }

    public var realm: String? { parameters["realm"] }
    public var service: String? { parameters["service"] }
    /// The scopes the server says the request needs, space-separated in the header.
    public var scopes: [Scope] {
        (parameters["scope"] ?? "").split(separator: " ").compactMap { Scope(parsing: String($0)) }
    }

    /// Every challenge of the given header values. A header may hold several
    /// challenges (`Basic realm="x", Bearer realm="y"`) and quoted values may
    /// hold commas and escaped quotes; a malformed tail is ignored.
    public static func parse(_ headerValues: [String]) -> [AuthChallenge] {
        headerValues.flatMap { parse(Array($0.utf8)) }
    }

    private static func parse(_ bytes: [UInt8]) -> [AuthChallenge] {
        var scanner = Scanner(bytes: bytes)
        var challenges: [AuthChallenge] = []
        while true {
            scanner.skip { $0 == .space || $0 == .tab || $0 == .comma }
            guard let scheme = scanner.token() else { break }
            var challenge = AuthChallenge(scheme: scheme)
            // auth-params: name = value, separated by commas; a token not
            // followed by "=" starts the next challenge.
            while true {
                let mark = scanner.position
                scanner.skip { $0 == .space || $0 == .tab || $0 == .comma }
                guard let name = scanner.token() else { break }
                scanner.skip { $0 == .space || $0 == .tab }
                guard scanner.consume(.equals) else {
                    scanner.position = mark
                    break
                }
                scanner.skip { $0 == .space || $0 == .tab }
                let value = scanner.peek == .quote ? scanner.quoted() : (scanner.token() ?? "")
                challenge.parameters[name.lowercased()] = value
            }
            challenges.append(challenge)
        }
        return challenges
    }
}

private extension UInt8 {
    static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), comma = UInt8(ascii: ",")
    static let equals = UInt8(ascii: "="), quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
}

private struct Scanner {
    let bytes: [UInt8]
    var position = 0

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skip(while predicate: (UInt8) -> Bool) {
        while let byte = peek, predicate(byte) { position += 1 }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    /// A token (RFC 9110 tchar), or token68 characters such as `/` and `=`
    /// inside a bare value.
    mutating func token() -> String? {
        let start = position
        skip { byte in byte > 0x20 && byte < 0x7F && byte != .comma && byte != .equals && byte != .quote && byte != .space }
        // token68 may end with "=" padding; only keep it when no value follows.
        return position > start ? String(decoding: bytes[start..<position], as: UTF8.self) : nil
    }

    /// A quoted-string starting at the current quote, unescaped.
    mutating func quoted() -> String {
        position += 1
        var value: [UInt8] = []
        while let byte = peek {
            position += 1
            if byte == .quote { break }
            if byte == .backslash, let next = peek {
                position += 1
                value.append(next)
            } else {
                value.append(byte)
            }
        }
        return String(decoding: value, as: UTF8.self)
    }
}
