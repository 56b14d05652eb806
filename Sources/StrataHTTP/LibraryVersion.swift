import CCurl

/// The libcurl version strata is linked against (shown by `strata version`).
public func libcurlVersion() -> String {
    String(cString: curl_version())
}
