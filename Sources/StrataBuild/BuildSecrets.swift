import Foundation

/// Build secrets (`build --secret id=ID[,src=FILE|,env=VAR]`, the docker CLI's syntax),
/// read once when the command starts and handed to BuildKit over the build session when it
/// asks (`RUN --mount=type=secret,id=ID`). A value is never in a key, the cache, a log or an
/// error: only ids and where they come from are ever printed. A secret's id is in the key
/// through the Dockerfile's text; its value is not.
public struct BuildSecrets: Sendable, CustomStringConvertible {
    private let values: [String: [UInt8]]

    public init() {
        values = [:]
    }

    /// A `--secret` value that cannot be used; the description names the flag's text up to
    /// the value's source, never a value.
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses and reads each `--secret`: `id=ID,src=FILE` (also `source=`), `id=ID,env=VAR`,
    /// `type=file|env` accepted; `id=ID` alone reads the environment variable `ID`, else a
    /// file of that name, as buildx does.
    public init(_ specifications: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                directory: String = FileManager.default.currentDirectoryPath) throws(Error) {
        var values: [String: [UInt8]] = [:]
        for specification in specifications {
            var fields: [String: String] = [:]
            for part in specification.split(separator: ",", omittingEmptySubsequences: false) {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2, !pair[1].isEmpty else {
                    throw Error(description: "--secret \(specification): expected id=ID[,src=FILE|,env=VAR]")
                }
                let key = pair[0] == "source" ? "src" : pair[0]
                guard ["id", "src", "env", "type"].contains(key) else {
                    throw Error(description: "--secret \(specification): unknown field '\(pair[0])' (id, src, env, type)")
                }
                fields[key] = pair[1]
            }
            guard let id = fields["id"] else { throw Error(description: "--secret \(specification): no id=") }
            if let type = fields["type"], type != "file", type != "env" {
                throw Error(description: "--secret \(specification): type is file or env, not '\(type)'")
            }
            guard values[id] == nil else { throw Error(description: "--secret: id '\(id)' is given twice") }
            if let variable = fields["env"] ?? (fields["type"] == "env" ? fields["src"] ?? id : nil) {
                guard let value = environment[variable] else {
                    throw Error(description: "--secret id=\(id): the environment variable \(variable) is not set")
                }
                values[id] = Array(value.utf8)
            } else if let file = fields["src"] ?? (environment[id] == nil ? id : nil) {
                let path = file.hasPrefix("/") ? file : directory + "/" + file
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw Error(description: "--secret id=\(id): cannot read \(file)")
                }
                values[id] = Array(data)
            } else {
                values[id] = Array((environment[id] ?? "").utf8)
            }
        }
        self.values = values
    }

    /// The ids given.
    public var ids: Set<String> { Set(values.keys) }

    /// The value of `id`, for the session alone.
    public func value(_ id: String) -> [UInt8]? { values[id] }

    public var description: String { "BuildSecrets(\(values.keys.sorted().joined(separator: ", ")))" }
}
