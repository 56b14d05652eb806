extension Manifest {
    /// A manifest that cannot be used: one line naming the file, the line and what is wrong.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var location: SourceLocation
        public var message: String
        public var hint: String?

        public init(_ location: SourceLocation, _ message: String, hint: String? = nil) {
            self.location = location
            self.message = message
            self.hint = hint
        }

        /// One line even when a quoted key or value in the file holds a line break
        /// (`"web\napi":`): line breaks are written as escapes.
        public var description: String {
            var text = "\(location): \(message)"
            if let hint { text += " (\(hint))" }
            guard text.contains(where: \.isNewline) else { return text }
            var oneLine = ""
            for character in text {
                guard character.isNewline else {
                    oneLine.append(character)
                    continue
                }
                for scalar in character.unicodeScalars {
                    switch scalar {
                    case "\n": oneLine += "\\n"
                    case "\r": oneLine += "\\r"
                    default: oneLine += "\\u{\(String(scalar.value, radix: 16))}"
                    }
                }
            }
            return oneLine
        }
    }
}
