import Foundation
import StrataCache
import StrataEngine
import StrataFleet
import StrataImages
import StrataPlan

/// Builds (or reuses) one node.
struct NodeBuilder: Sendable {
    let fleet: Fleet
    let engine: any ContainerEngine
    let cache: CacheDirectory
    let options: SchedulerOptions
    let reporter: any BuildReporter

    /// The repository a node's image is tagged in: `<registry>/<image>`, or the image name.
    static func repository(fleet: Fleet, node: BuildNode) -> String {
        if let written = fleet.image(named: node.image)?.imageReference {
            return ImageReference(parsing: written).repository
        }
        return fleet.registries.first.map { "\($0)/\(node.image)" } ?? node.image
    }

    /// The tag that records a key: on the engine's image and in the registry (the remote cache).
    static func keyTag(_ key: String) -> String { "strata-\(key)" }

    /// The tag that names exactly the image built for a key: `<repository>:strata-<key>`.
    static func keyReference(fleet: Fleet, node: BuildNode, key: String) -> String {
        "\(repository(fleet: fleet, node: node)):\(keyTag(key))"
    }

    /// The `repository:tag` references a node's image gets, tag templates expanded. One
    /// platform of an image built for several gets its key's tag alone: the image's tags name
    /// the index of all its platforms (in the registry), and one tag cannot name two images
    /// (the containerd image store refuses the second build's export).
    func tags(_ entry: PlanEntry, requested: Bool) throws(TagTemplate.Error) -> [String] {
        let keyReference = Self.keyReference(fleet: fleet, node: entry.node, key: entry.key.key)
        if fleet.platformSiblings(of: entry.node) != nil { return [keyReference] }
        let repository = Self.repository(fleet: fleet, node: entry.node)
        var tags: [String] = []
        for tag in entry.node.tags { tags.append(try TagTemplate.nodeTag(tag, of: entry.node, values: options.tagValues)) }
        if requested {
            for tag in options.extraTags {
                tags.append(try TagTemplate.extraTag(tag, variant: entry.node.variant, values: options.tagValues))
            }
        }
        return tags.map { "\(repository):\($0)" } + [keyReference]
    }

    /// What became of a hit: reused (cached, restored or pulled), or to be rebuilt, and why.
    enum Reuse {
        case reused(NodeOutcome)
        case rebuild(because: String)
    }

    /// A hit whose image the engine still has, or can load from the cache's OCI layout:
    /// re-tag it (tags may have moved) and report it cached. Else it is rebuilt, which is
    /// always correct, and the reason names what was missing or what failed.
    func reuse(_ entry: PlanEntry, requested: Bool) async -> Reuse {
        let reference = Self.keyReference(fleet: fleet, node: entry.node, key: entry.key.key)
        var found = await Self.keyImage(engine: engine, reference: reference, key: entry.key.key, recorded: entry.record?.imageID)
        var restored = false
        if found == nil {
            switch await restore(entry, reference: reference) {
            case .success(let id?):
                found = try? await engine.inspectImage(id)
                restored = found != nil
            case .success(nil):
                return .rebuild(because: "image missing from the engine and from the cache's layout")
            case .failure(let error):
                return .rebuild(because: "image missing from the engine; restoring it from the cache failed: \(error)")
            }
        }
        guard let info = found else { return .rebuild(because: "image missing from the engine after it was restored") }
        // A template that cannot be expanded was refused before the build (Build.run); here
        // it only costs the moved tags.
        for tag in (try? tags(entry, requested: requested)) ?? [] where !info.repoTags.contains(tag) {
            try? await engine.tagImage(info.id, as: tag)
        }
        return .reused(NodeOutcome(node: entry.node.name, index: entry.index, status: .cached, seconds: 0, key: entry.key.key,
                                   imageID: info.id, size: info.size, message: restored ? "restored from the cache" : nil))
    }

    /// The engine's image for `key`: the recorded image when the engine has it, else the image
    /// under the key's tag when it carries the key's `dev.strata.key` label. A tag is
    /// mutable: one re-pointed at another image does not make that image the key's.
    static func keyImage(engine: any ContainerEngine, reference: String, key: String, recorded: String?) async -> ImageInfo? {
        if let recorded, let info = try? await engine.inspectImage(recorded) { return info }
        guard let info = try? await engine.inspectImage(reference), isKeyImage(info, key: key, recorded: recorded) else { return nil }
        return info
    }

    /// True when `info` is the image a key recorded, or one built for the key (its label).
    static func isKeyImage(_ info: ImageInfo, key: String, recorded: String?) -> Bool {
        info.id == recorded || info.labels["dev.strata.key"] == key
    }

    /// A hit found only in the registry: the engine's image when it has it; nothing when
    /// no one needs the image here (`needed` false); else the image pulled by digest. A
    /// failed pull is rebuilt, with the registry's answer as the reason.
    func reuseRemote(_ entry: PlanEntry, hit: RemoteHit, needed: Bool, requested: Bool) async -> Reuse {
        let reference = Self.keyReference(fleet: fleet, node: entry.node, key: entry.key.key)
        var info = await Self.keyImage(engine: engine, reference: reference, key: entry.key.key, recorded: nil)
        var message: String?
        if info == nil {
            guard needed else {
                return .reused(NodeOutcome(node: entry.node.name, index: entry.index, status: .cached, seconds: 0,
                                           key: entry.key.key, message: "in registry \(hit.repository)"))
            }
            guard let publisher = options.publisher else { return .rebuild(because: "in registry \(hit.repository), not pulled") }
            reporter.started(node: entry.node.name, reason: "pulling from \(hit.repository)")
            do {
                let id = try await publisher.pull(entry, hit: hit, engine: engine)
                info = try await engine.inspectImage(id)
                message = "pulled from \(hit.repository)"
            } catch {
                return .rebuild(because: "pulling it from \(hit.repository) failed: \(error)")
            }
        }
        guard let info else { return .rebuild(because: "image missing from the engine after the pull") }
        for tag in (try? tags(entry, requested: requested)) ?? [] where !info.repoTags.contains(tag) {
            try? await engine.tagImage(info.id, as: tag)
        }
        return .reused(NodeOutcome(node: entry.node.name, index: entry.index, status: .cached, seconds: 0, key: entry.key.key,
                                   imageID: info.id, size: info.size, message: message))
    }

    /// Loads the key's image from the cache's OCI layout into the engine (`docker load`)
    /// when the engine lost it: pruned, or another machine's cache. nil when the layout has
    /// no image for the key or the engine cannot load images; the error when the load fails
    /// (`cache verify` shows a damaged layout).
    func restore(_ entry: PlanEntry, reference: String) async -> Result<String?, any Error> {
        guard let images = engine as? any ImageTransferEngine else { return .success(nil) }
        do {
            return .success(try await restoreImage(cache: cache, key: entry.key.key, engine: images, tags: [reference]))
        } catch {
            return .failure(error)
        }
    }

    /// Exports a built image into the cache's OCI layout (`SchedulerOptions.export`) and
    /// returns its manifest digest.
    func export(_ entry: PlanEntry, imageID: String) async throws -> String {
        guard let images = engine as? any ImageTransferEngine else { throw ImageTransfer.Error.engineCannotTransfer }
        let reference = Self.keyReference(fleet: fleet, node: entry.node, key: entry.key.key)
        return try await exportImage(engine: images, reference: imageID, cache: cache, key: entry.key.key,
                                     refName: reference).manifestDigest.description
    }

    /// Builds the node; `permit` goes back as soon as the engine is done (after the build, or
    /// after the export when there is one), before the key is recorded.
    func build(_ entry: PlanEntry, parentReferences: [String: String], requested: Bool, permit: Permit) async -> NodeOutcome {
        let node = entry.node
        func failed(_ message: String, _ failure: BuildFailure? = nil) -> NodeOutcome {
            NodeOutcome(node: node.name, index: entry.index, status: .failed, seconds: 0, key: entry.key.key,
                        message: message, failure: failure)
        }
        guard let dockerfile = fleet.dockerfiles[node.dockerfilePath],
              let data = FileManager.default.contents(atPath: node.dockerfilePath) else {
            return failed("cannot read \(fleet.displayPath(node.dockerfilePath))")
        }
        // A secret mounted and not given: BuildKit would skip a mount that is not `required`
        // and build another image under the same key; refused instead, naming where to set it.
        let secretMounts = node.secretMounts(in: dockerfile)
        if let missing = secretMounts.first(where: { !options.secrets.ids.contains($0.id) }) {
            return failed("\(fleet.displayPath(node.dockerfilePath)):\(missing.line) mounts the secret '\(missing.id)', which this "
                          + "build does not give: pass --secret id=\(missing.id),src=FILE (or ,env=VAR)")
        }
        let original = String(decoding: data, as: UTF8.self)
        let rewritten = DockerfileRewriter.rewrite(original, dockerfile: dockerfile,
                                                   node: node, exact: parentReferences)
        // The mtime the key names: the build sends exactly what was keyed.
        let mtime = entry.key.inputs.contextMtime ?? 0
        let context: BuildContext
        let dockerfilePath: String
        if options.sessionContexts && engine.acceptsSessionContexts {
            dockerfilePath = SessionContexts.dockerfileName
            let secrets = options.secrets, mounted = Set(secretMounts.map(\.id)), access = options.publisher?.access
            context = .session(SessionContexts.make(
                contextDirectory: node.contextDirectory, files: entry.key.contextFiles, dockerfile: rewritten,
                key: entry.key.key, mtime: mtime, secret: { mounted.contains($0) ? secrets.value($0) : nil },
                credentials: { host in (try? access?.credentials(for: host) ?? nil).map { ($0.username, $0.password) } }))
        } else {
            if let mount = secretMounts.first {
                return failed("\(fleet.displayPath(node.dockerfilePath)):\(mount.line) mounts the secret '\(mount.id)', which only a "
                              + "build session can carry; build without --tar-context (and reach the engine without TLS)")
            }
            dockerfilePath = ContextPacker.dockerfilePath(contextDirectory: node.contextDirectory,
                                                          dockerfilePath: node.dockerfilePath)
            // In a tar body the Dockerfile BuildKit reads is a file of the context, and this
            // engine applies no .dockerignore to a tar: a COPY that reaches it would put strata's
            // copy (detached, or with its FROM lines rewritten) into the image, where `docker
            // build` puts the original or nothing. Refused rather than built different.
            let detached = dockerfilePath == ContextPacker.detachedDockerfilePath
            if (detached || rewritten != original), entry.key.selection.includes(dockerfilePath) {
                return failed("its COPY/ADD sources reach the Dockerfile, which a tar context (--tar-context, or an engine "
                              + "over TLS) must carry \(detached ? "under another name (.dockerignore excludes it)" : "with its FROM lines rewritten")"
                              + "; build it over a session (without --tar-context), or narrow the sources")
            }
            context = .tar(ContextPacker.body(ContextPacker.entries(
                contextDirectory: node.contextDirectory, files: entry.key.contextFiles,
                dockerfilePath: dockerfilePath, dockerfile: rewritten), mtime: mtime))
        }
        var labels = node.labels
        labels["dev.strata.key"] = entry.key.key
        labels["dev.strata.node"] = node.name
        labels["org.opencontainers.image.title"] = node.image
        let references: [String]
        do { references = try tags(entry, requested: requested) } catch { return failed(error.description) }
        let buildOptions = BuildOptions(
            tags: references,
            dockerfile: dockerfilePath,
            buildArgs: entry.key.inputs.args,
            labels: labels,
            target: node.target,
            platform: node.platform,
            networkMode: options.network ?? node.network,
            noCache: options.noCache && requested
        )
        let reporter = self.reporter
        let name = node.name
        do {
            let result = try await engine.build(
                context: context,
                options: buildOptions,
                events: { reporter.event(node: name, $0) }
            )
            if !options.export { await permit.release() }
            // The key hashed the files before the build; had one been written since, the
            // image could hold bytes the key does not name: nothing is recorded.
            if let changed = firstChangedFile(entry.key.contextFiles, root: node.contextDirectory) {
                return failed("\(fleet.displayPath(node.contextDirectory))/\(changed.path) changed during the build; "
                              + "its key is not recorded (build again)")
            }
            let size = (try? await engine.inspectImage(result.imageID))?.size
            var record = KeyRecord(key: entry.key.key, node: node.name, image: node.image, variant: node.variant,
                                   platform: node.platform, created: Date(), imageID: result.imageID, size: size,
                                   manifests: [:], inputs: entry.key.inputs, files: entry.key.files)
            do {
                try cache.record(record)
            } catch {
                return failed("built \(result.imageID), but the key could not be recorded: \(error)")
            }
            // Recorded first: a failed export leaves a hit for the image the engine has.
            if options.export {
                do {
                    record.manifests[LayoutImageSource.layoutManifestKey] = try await export(entry, imageID: result.imageID)
                    try cache.record(record)
                } catch {
                    return failed("built \(result.imageID), but it could not be exported to the cache: \(error)")
                }
            }
            return NodeOutcome(node: node.name, index: entry.index, status: .built, seconds: 0, key: entry.key.key,
                               imageID: result.imageID, size: size)
        } catch let failure as BuildFailure {
            return failed(failure.description, failure)
        } catch is CancellationError {
            return failed("cancelled")
        } catch {
            return failed("\(error)")
        }
    }
}
