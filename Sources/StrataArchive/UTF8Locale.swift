#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libarchive converts names between the process locale's character set and the UTF-8
/// of PAX `path` records (archive_entry(3), "ENCODING"). A Swift program never calls
/// `setlocale`, so it runs in the "C" locale, where a non-ASCII name cannot be
/// converted: libarchive then writes `hdrcharset=BINARY` records, or fails. Switching
/// only the calling thread's character type to UTF-8 (`uselocale(3)`) for the duration
/// of a libarchive call makes names round-trip as UTF-8 without touching the process
/// locale other code relies on.
enum UTF8Locale {
    /// C.UTF-8 is built into glibc since 2.35; nil where it is missing.
    nonisolated(unsafe) private static let locale: locale_t? = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil)

    /// Whether names outside ASCII can be converted on this system.
    static var isAvailable: Bool { locale != nil }

    /// Runs `body` with this thread's locale set to C.UTF-8, then restores it.
    static func with<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        guard let locale else { return try body() }
        let previous = uselocale(locale)
        defer { uselocale(previous) }
        return try body()
    }
}
