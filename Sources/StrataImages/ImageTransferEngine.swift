import StrataEngine

/// What moving images between the engine and the cache needs of an engine:
/// `docker save`, `docker load`, inspect and tag. `Engine` has it; unit tests pass
/// a fake that writes archive fixtures.
public protocol ImageTransferEngine: Sendable {
    /// `docker save` of `references` into the file at `path`.
    func saveImages(_ references: [String], to path: String) async throws
    /// `docker load` of the archive at `path`; what the engine reports loading.
    func loadImages(from path: String) async throws -> [String]
    /// The image a reference or ID names, or nil.
    func inspectImage(_ reference: String) async throws -> ImageInfo?
    /// Adds `reference` to an image.
    func tagImage(_ image: String, as reference: String) async throws
}

extension Engine: ImageTransferEngine {}
