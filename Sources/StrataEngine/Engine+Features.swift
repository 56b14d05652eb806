extension Engine {
    /// What strata uses of the Engine API that differs between 1.41 (Docker 20.10) and 1.51
    /// (Docker 28.4), chosen by the negotiated version (docs.docker.com/reference/api/engine/
    /// version-history).
    ///
    /// The rest is the same over that range and used alike: `POST /build?version=2` with the
    /// context served over `POST /session` (deprecated only from 1.53) or as a tar body, its
    /// `platform`, `networkmode` and `labels`; `GET /images/get` and `POST /images/load` (the
    /// archive's format follows the engine, not the version: an OCI layout from Docker 25 on,
    /// at every version; `EngineImageSource` reads both); and image inspect's `Id`, `Size`,
    /// `RepoTags` and `Config.Labels` (the `VirtualSize` that 1.44 dropped is not read).
    public struct Features: Sendable, Equatable {
        /// Image inspect reports the image's `Descriptor` in a containerd image store (1.48),
        /// so `ImageInfo.store` tells which store the engine keeps its images in.
        public var imageDescriptor: Bool

        public init(apiVersion: APIVersion) {
            imageDescriptor = apiVersion >= APIVersion(major: 1, minor: 48)
        }
    }
}
