import COpenSSL

/// The OpenSSL version strata is linked against (shown by `strata version`).
public func openSSLVersion() -> String {
    String(cString: OpenSSL_version(OPENSSL_VERSION))
}
