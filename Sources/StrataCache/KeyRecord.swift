import FoundationEssentials
import StrataHash

/// Everything a node's input key hashes (DESIGN.md, "Input keys"). Its canonical
/// JSON (`CanonicalJSON`) is the key's preimage, versioned by `version`, so a
/// change to what keys cover changes every key instead of producing false hits.
public struct KeyInputs: Codable, Sendable, Equatable {
    /// The encoding's version: `strata-key-v3` (see `KeyComputer`).
    public var version: String
    /// `sha256:…` of the Dockerfile as parsed (`Dockerfile.keyedLines`).
    public var dockerfile: String
    /// `sha256:…` of the context (paths, modes, link targets, contents).
    public var context: String
    /// `precise` (only the files COPY/ADD can read) or `whole`.
    public var contextMode: String
    /// The mtime every context entry is sent with, `SOURCE_DATE_EPOCH` when set (else 0, and
    /// nil here): COPY keeps it, so it is in the image's files.
    public var contextMtime: Int64?
    /// Declared ARGs that have a value, resolved.
    public var args: [String: String]
    /// Declared ARGs without a value, sorted.
    public var unsetArgs: [String]
    public var target: String?
    public var platform: String?
    public var labels: [String: String]
    /// Keys of fleet parents.
    public var parents: [ParentKey]
    /// External image references with the content they name: `reference@sha256:…`, or
    /// `reference (unresolved)` when neither the engine nor the registry could say.
    public var bases: [String]
    /// `ADD` URLs without `--checksum`, with what they serve: `url etag:"…"`, `url sha256:…`,
    /// or `url (unresolved)`; nil when the Dockerfile has none (absent from the encoding).
    public var urls: [String]?

    /// The current encoding version.
    public static let currentVersion = "strata-key-v3"

    public init(
        version: String = KeyInputs.currentVersion,
        dockerfile: String,
        context: String,
        contextMode: String,
        contextMtime: Int64? = nil,
        args: [String: String] = [:],
        unsetArgs: [String] = [],
        target: String? = nil,
        platform: String? = nil,
        labels: [String: String] = [:],
        parents: [ParentKey] = [],
        bases: [String] = [],
        urls: [String]? = nil
    ) {
        self.version = version
        self.dockerfile = dockerfile
        self.context = context
        self.contextMode = contextMode
        self.contextMtime = contextMtime
        self.args = args
        self.unsetArgs = unsetArgs.sorted()
        self.target = target
        self.platform = platform
        self.labels = labels
        self.parents = parents
        self.bases = bases
        self.urls = urls
    }

    /// The key: lowercase hex SHA-256 of the canonical JSON of these inputs.
    /// Throws only when OpenSSL or the JSON encoder fails, never for particular
    /// values.
    public var key: String {
        get throws(CacheDirectory.Error) {
            let bytes = try CanonicalJSON.encode(self)
            do {
                return try SHA256.hash(bytes).hex
            } catch {
                throw .hashing(error)
            }
        }
    }
}

/// A fleet parent's node name and key.
public struct ParentKey: Codable, Sendable, Equatable {
    public var node: String
    public var key: String

    public init(node: String, key: String) {
        self.node = node
        self.key = key
    }
}

/// What the cache knows about one key: which node and image it was for, what it
/// produced, and the inputs it was computed from (so `plan --explain` can say
/// what changed since).
public struct KeyRecord: Codable, Sendable, Equatable {
    /// 64 lowercase hex digits: `inputs.key`.
    public var key: String
    public var node: String
    public var image: String
    public var variant: String?
    public var platform: String?
    /// When the key was recorded; stored as ISO 8601 to the second.
    public var created: Date
    /// The engine's image id (`sha256:…`) once built.
    public var imageID: String?
    /// Image size in bytes, as the engine reports it.
    public var size: Int64?
    /// Registry repository → manifest digest, filled in by push.
    public var manifests: [String: String]
    public var inputs: KeyInputs
    /// Context path → `sha256:…`, `link:<target>` or `dir`, for `plan --explain`.
    public var files: [String: String]

    public init(
        key: String,
        node: String,
        image: String,
        variant: String? = nil,
        platform: String? = nil,
        created: Date,
        imageID: String? = nil,
        size: Int64? = nil,
        manifests: [String: String] = [:],
        inputs: KeyInputs,
        files: [String: String] = [:]
    ) {
        self.key = key
        self.node = node
        self.image = image
        self.variant = variant
        self.platform = platform
        self.created = created
        self.imageID = imageID
        self.size = size
        self.manifests = manifests
        self.inputs = inputs
        self.files = files
    }
}

/// The one JSON encoding for everything strata hashes, stores or pushes: sorted
/// keys, `/` unescaped, ISO 8601 dates, no whitespace. The same value always
/// gives the same bytes.
public enum CanonicalJSON {
    /// A new encoder with the canonical settings.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// A decoder for what `encoder()` writes.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// The canonical bytes of `value`.
    public static func encode(_ value: some Encodable) throws(CacheDirectory.Error) -> [UInt8] {
        do {
            return Array(try encoder().encode(value))
        } catch {
            throw .encoding(reason: String(describing: error))
        }
    }

    /// `T` decoded from `bytes`, or the reason it could not be.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) -> Result<T, DecodingFailure> {
        do {
            return .success(try decoder().decode(type, from: Data(bytes)))
        } catch let error as DecodingError {
            return .failure(DecodingFailure(error))
        } catch {
            return .failure(DecodingFailure(reason: String(describing: error)))
        }
    }

    /// Why a cache file did not parse, for `verify` and error messages: one line
    /// naming the field, not `DecodingError`'s nested dump.
    struct DecodingFailure: Swift.Error {
        let reason: String

        init(reason: String) {
            self.reason = reason
        }

        init(_ error: DecodingError) {
            func field(_ path: [any CodingKey]) -> String {
                path.isEmpty ? "the document" : "field " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            }
            switch error {
            case let .dataCorrupted(context):
                reason = context.codingPath.isEmpty ? "not valid JSON" : "\(field(context.codingPath)): \(context.debugDescription)"
            case let .keyNotFound(key, context):
                reason = "\(field(context.codingPath + [key])) is missing"
            case let .typeMismatch(type, context):
                reason = "\(field(context.codingPath)) is not of type \(type)"
            case let .valueNotFound(type, context):
                reason = "\(field(context.codingPath)) is null, expected \(type)"
            @unknown default:
                reason = String(describing: error)
            }
        }
    }
}
