import StrataHTTP

/// What strata needs of a Docker engine. `Engine` is the real one (Docker Engine API over
/// StrataHTTP); the scheduler's unit tests pass a fake.
public protocol ContainerEngine: Sendable {
    /// Runs a BuildKit build (`POST /build?version=2`) of `context` (never held in memory)
    /// and reports progress as it arrives. Throws `BuildFailure` when the build itself
    /// fails (a step exits non-zero, a COPY source is missing), other errors when the
    /// engine cannot be reached or refuses the request.
    func build(context: BuildContext, options: BuildOptions,
               events: @escaping @Sendable (BuildEvent) -> Void) async throws -> BuildResult

    /// True when `build` can take a `.session` context.
    var acceptsSessionContexts: Bool { get }

    /// The image a reference or ID names, or nil when the engine does not have it.
    func inspectImage(_ reference: String) async throws -> ImageInfo?

    /// Adds `reference` (`repository:tag`) to an image.
    func tagImage(_ image: String, as reference: String) async throws

    /// Removes a reference (or an image by ID); missing is not an error.
    func removeImage(_ reference: String) async throws
}

/// How a build's context reaches BuildKit.
public enum BuildContext: Sendable {
    /// A tar stream, the request's body: the engine unpacks it for BuildKit.
    case tar(HTTPBody)
    /// Served by strata over a session, as BuildKit asks for it (what the docker CLI does).
    case session(SessionContext)
}

/// The parameters of one build.
public struct BuildOptions: Sendable, Equatable {
    /// `repository:tag` references to give the result.
    public var tags: [String]
    /// Path of the Dockerfile inside the context.
    public var dockerfile: String
    public var buildArgs: [String: String]
    public var labels: [String: String]
    public var target: String?
    public var platform: String?
    /// `host` on an engine without a bridge.
    public var networkMode: String?
    public var noCache: Bool

    public init(tags: [String], dockerfile: String, buildArgs: [String: String] = [:], labels: [String: String] = [:],
                target: String? = nil, platform: String? = nil, networkMode: String? = nil, noCache: Bool = false) {
        self.tags = tags
        self.dockerfile = dockerfile
        self.buildArgs = buildArgs
        self.labels = labels
        self.target = target
        self.platform = platform
        self.networkMode = networkMode
        self.noCache = noCache
    }
}

/// Progress of a build, decoded from the engine's JSON lines and BuildKit's trace.
public enum BuildEvent: Sendable, Equatable {
    /// A BuildKit vertex (a step) changed state. `name` is what BuildKit shows
    /// (`[2/3] RUN echo hi`).
    case step(Step)
    /// Output of a step (one line, without the newline).
    case log(stepID: String, line: String)

    public struct Step: Sendable, Equatable {
        public var id: String
        public var name: String
        public var started: Bool
        public var completed: Bool
        public var cached: Bool
        public var error: String?

        public init(id: String, name: String, started: Bool, completed: Bool, cached: Bool, error: String?) {
            self.id = id
            self.name = name
            self.started = started
            self.completed = completed
            self.cached = cached
            self.error = error
        }
    }
}

/// What a successful build produced.
public struct BuildResult: Sendable, Equatable {
    /// `sha256:…`
    public var imageID: String

    public init(imageID: String) {
        self.imageID = imageID
    }
}

/// What strata reads of an image (`GET /images/{name}/json`).
public struct ImageInfo: Sendable, Equatable {
    /// The engine's image ID: the config digest on the classic store, the digest of the
    /// image's manifest (or index) on the containerd image store.
    public var id: String
    public var size: Int64
    public var repoTags: [String]
    /// `repository@sha256:…`: the manifest digest each registry it came from gave it (none
    /// for an image built or loaded here).
    public var repoDigests: [String]
    public var labels: [String: String]
    /// The store the image is in, when the engine says (API 1.48 on: `Engine.Features`).
    public var store: ImageStore?

    public init(id: String, size: Int64, repoTags: [String], repoDigests: [String] = [], labels: [String: String],
                store: ImageStore? = nil) {
        self.id = id
        self.size = size
        self.repoTags = repoTags
        self.repoDigests = repoDigests
        self.labels = labels
        self.store = store
    }
}

/// Where an engine keeps its images: Docker's own store (graph drivers; an image's ID is
/// its config digest), or the containerd image store (snapshotters; the default of new
/// Docker 29 installs), where the ID is the digest of the image's manifest or index and
/// `docker save` writes an OCI layout of the engine's own blobs.
public enum ImageStore: Sendable, Equatable {
    case classic
    case containerd
}

/// A build that ran and failed: the failing step, the engine's message, and the step's last
/// log lines (the scheduler shows up to 30 under the node's name).
public struct BuildFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var step: String?
    public var message: String
    public var logs: [String]

    public init(step: String?, message: String, logs: [String]) {
        self.step = step
        self.message = message
        self.logs = logs
    }

    public var description: String {
        (step.map { "\($0): " } ?? "") + message
    }
}
