/// Text from outside strata (Dockerfile lines in step names, build logs, the engine's error
/// messages) made safe to print on one line of a terminal or a CI log: escape sequences
/// (CSI `ESC [ … final`, OSC `ESC ] … BEL|ESC \`, and two-byte ones) are removed, as are the
/// other C0 and C1 control characters and DEL; a tab stays. A Dockerfile cannot set the
/// terminal's title, move its cursor or rewrite the lines strata printed.
enum TerminalText {
    static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var output = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            if scalar == "\u{1B}" {
                skipEscape(&scalars)
            } else if scalar == "\t" || !isControl(scalar) {
                output.append(scalar)
            }
        }
        return String(output)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Consumes the rest of an escape sequence after its ESC.
    private static func skipEscape(_ scalars: inout String.UnicodeScalarView.Iterator) {
        guard let kind = scalars.next() else { return }
        switch kind {
        case "[":
            // CSI: parameter and intermediate bytes, then one final byte in 0x40...0x7E.
            while let next = scalars.next(), !(0x40...0x7E).contains(next.value) {}
        case "]", "P", "X", "^", "_":
            // OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \).
            while let next = scalars.next() {
                if next == "\u{07}" { return }
                if next == "\u{1B}" {
                    _ = scalars.next()
                    return
                }
            }
        default:
            return
        }
    }
}
