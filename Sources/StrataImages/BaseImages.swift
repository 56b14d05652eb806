import StrataEngine
import StrataFleet
import StrataRegistry

/// What keying external images needs of an engine: the image a reference names here, and a
/// pull for `plan --refresh-bases`. `Engine` has it; unit tests pass a fake.
public protocol BaseImageEngine: Sendable {
    /// The image a reference names in the engine, or nil.
    func inspectImage(_ reference: String) async throws -> ImageInfo?
    /// `docker pull` of `reference`.
    func pullImage(_ reference: String, credentials: (username: String, password: String)?) async throws
}

extension Engine: BaseImageEngine {}

/// The content an external image reference (a `FROM` base, `COPY --from=<image>`,
/// `RUN --mount=from=<image>`) names, for the input key (DESIGN.md "Input keys"): a base is
/// keyed by what it is, never by its name alone.
///
/// - With an engine that has the reference: its registry digest for that repository (the
///   `RepoDigests` entry; the smallest when there are several), else its image ID (built or
///   loaded here). That is the image a build uses on the classic image store: strata builds
///   with `pull=0`. On the containerd image store BuildKit asks the registry first and uses
///   its local image only when the registry does not answer: there the registry's digest
///   comes first too.
/// - Otherwise the manifest digest the registry answers for the tag (one `HEAD`): what a pull
///   would fetch, and what `RepoDigests` says once pulled.
/// - `refresh` (`plan --refresh-bases`): the registry first; when the engine's image is not
///   that digest, it is pulled, so the build uses what the key names.
/// - A reference written with `@sha256:…` is its own identity; nothing is asked.
///
/// Each reference is looked up once per run.
public struct BaseResolution: Sendable {
    public enum Identity: Sendable, Equatable {
        /// `sha256:…`: a registry manifest digest or an engine image ID.
        case digest(String)
        /// Neither the engine nor the registry could say; keyed by the name, with why.
        case unresolved(reason: String)
    }

    public struct Resolved: Sendable, Equatable {
        public var reference: String
        public var identity: Identity
        /// For `refresh`: the digest the engine had before the pull (nil when it had none).
        public var pulledOver: String?
        /// For `refresh`: the image was pulled.
        public var pulled: Bool

        /// What goes into the key's `bases`: `reference@sha256:…`, or `reference (unresolved)`.
        public var keyed: String {
            switch identity {
            case .digest(let digest): return reference.contains("@") ? reference : "\(reference)@\(digest)"
            case .unresolved: return "\(reference) (unresolved)"
            }
        }
    }

    let engine: (any BaseImageEngine)?
    let access: RegistryAccess

    public init(engine: (any BaseImageEngine)?, access: RegistryAccess) {
        self.engine = engine
        self.access = access
    }

    /// Every reference resolved, concurrently (at most 8 lookups at once).
    public func resolve(_ references: [String], refresh: Bool) async -> [String: Resolved] {
        let unique = Array(Set(references)).sorted()
        let results = (try? await concurrentMap(unique, limit: 8) { reference in
            await self.resolve(reference, refresh: refresh)
        }) ?? []
        return Dictionary(uniqueKeysWithValues: zip(unique, results))
    }

    func resolve(_ reference: String, refresh: Bool) async -> Resolved {
        let name = BaseName(reference)
        if let digest = name.reference.digest {
            return Resolved(reference: reference, identity: .digest(digest), pulledOver: nil, pulled: false)
        }
        var engineIdentity: String?
        var engineFailure: String?
        var registryFirst = refresh
        if let engine {
            do {
                let image = try await engine.inspectImage(reference)
                engineIdentity = image.map(name.identity(of:))
                registryFirst = registryFirst || image?.store == .containerd
            } catch {
                engineFailure = "the engine: \(error)"
            }
        }
        if let engineIdentity, !registryFirst {
            return Resolved(reference: reference, identity: .digest(engineIdentity), pulledOver: nil, pulled: false)
        }
        let registryDigest: String
        do {
            guard let digest = try await access.client(for: name.apiHost)
                .manifestDescriptor(repository: name.repository, reference: name.tag)?.digest.description else {
                return fallback(reference, engineIdentity,
                                reason: "\(name.registryName) has no tag \(name.tag)" + (engineFailure.map { "; \($0)" } ?? ""))
            }
            registryDigest = digest
        } catch {
            return fallback(reference, engineIdentity, reason: "\(name.registryName): \(error)" + (engineFailure.map { "; \($0)" } ?? ""))
        }
        guard refresh, let engine, engineIdentity != registryDigest else {
            return Resolved(reference: reference, identity: .digest(registryDigest), pulledOver: nil, pulled: false)
        }
        do {
            let credentials = try? access.credentials(for: name.apiHost)
            try await engine.pullImage(reference, credentials: credentials.map { ($0.username, $0.password) })
            let now = try await engine.inspectImage(reference).map(name.identity(of:))
            // The tag may have moved again between the HEAD and the pull: the key names what the engine holds.
            return Resolved(reference: reference, identity: .digest(now ?? registryDigest), pulledOver: engineIdentity,
                            pulled: true)
        } catch {
            return fallback(reference, engineIdentity, reason: "pulling \(reference): \(error)")
        }
    }

    /// The engine's identity when there is one (what a build would use), else unresolved.
    private func fallback(_ reference: String, _ engineIdentity: String?, reason: String) -> Resolved {
        Resolved(reference: reference, identity: engineIdentity.map { .digest($0) } ?? .unresolved(reason: reason),
                 pulledOver: nil, pulled: false)
    }
}

/// An image reference normalized as the docker CLI does (`docker.io/library/` for a short
/// name, `latest` for no tag), with the host its registry API answers on.
struct BaseName: Equatable {
    var reference: ImageReference
    /// `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    var domain: String
    /// The repository path in the registry: `library/python`.
    var repository: String
    var tag: String

    init(_ text: String) {
        reference = ImageReference(parsing: text)
        let hub = reference.domain == nil || reference.domain == "docker.io" || reference.domain == "index.docker.io"
        domain = hub ? "docker.io" : reference.domain ?? "docker.io"
        repository = hub && !reference.path.contains("/") ? "library/\(reference.path)" : reference.path
        tag = reference.tag ?? "latest"
    }

    /// The host the distribution API is served from.
    var apiHost: String { domain == "docker.io" ? "registry-1.docker.io" : domain }

    /// `docker.io/library/python`.
    var registryName: String { "\(domain)/\(repository)" }

    /// The engine image's identity for this reference: its digest in this repository, else its ID.
    func identity(of image: ImageInfo) -> String {
        let digests = image.repoDigests.compactMap { entry -> String? in
            let parsed = BaseName(entry)
            guard parsed.registryName == registryName else { return nil }
            return parsed.reference.digest
        }
        return digests.min() ?? image.id
    }
}
