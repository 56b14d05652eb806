import CArchive

/// The libarchive version strata is linked against (shown by `strata version`).
public func libarchiveVersion() -> String {
    String(cString: archive_version_details())
}
