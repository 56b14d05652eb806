extension ImageTransfer {
    /// Why an image could not be moved to, from or within a registry, beyond what
    /// `Registry.Error` (one request) says.
    public enum RegistryError: Swift.Error, CustomStringConvertible, Sendable {
        /// A reference that does not name a registry repository.
        case invalidReference(String, reason: String)
        /// A manifest strata cannot copy or pull (an unknown media type, an index
        /// without an entry for the platform).
        case unsupportedManifest(reference: String, reason: String)
        /// A blob could not be copied; `cause` is the registry's answer.
        case blobCopyFailed(digest: String, to: String, cause: any Swift.Error)
        /// An image index would list a manifest the repository does not hold.
        case missingManifest(reference: String)
        /// The image is for another platform than the one wanted (its config says so).
        case wrongPlatform(reference: String, found: String, wanted: String)

        public var description: String {
            switch self {
            case let .invalidReference(text, reason):
                "'\(text)' is not a registry reference: \(reason)"
            case let .unsupportedManifest(reference, reason):
                "cannot use the manifest of \(reference): \(reason)"
            case let .blobCopyFailed(digest, to, cause):
                "cannot copy blob \(digest) to \(to): \(cause)"
            case let .wrongPlatform(reference, found, wanted):
                "\(reference) is a \(found) image, not \(wanted): refused"
            case let .missingManifest(reference):
                "\(reference) is not in the registry; push every platform of the image first"
            }
        }
    }
}
