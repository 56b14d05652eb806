/// One `moby.buildkit.v1.StatusResponse`, the message behind each
/// `{"id":"moby.buildkit.trace","aux":"<base64>"}` line of `POST /build?version=2`.
/// Field numbers follow BuildKit's `api/services/control/control.proto`; only what
/// strata shows is kept (no progress groups, no warning source ranges).
struct BuildKitStatus: Equatable {
    /// google.protobuf.Timestamp: seconds = 1, nanos = 2.
    struct Timestamp: Equatable {
        var seconds: Int64 = 0
        var nanos: Int32 = 0
    }

    /// `Vertex`: digest = 1, inputs = 2, name = 3, cached = 4, started = 5,
    /// completed = 6, error = 7 (progressGroup = 8 is skipped).
    struct Vertex: Equatable {
        var digest = ""
        var inputs: [String] = []
        var name = ""
        var cached = false
        var started: Timestamp?
        var completed: Timestamp?
        var error: String?
    }

    /// `VertexStatus`: ID = 1, vertex = 2, name = 3, current = 4, total = 5,
    /// timestamp = 6, started = 7, completed = 8. Sub-progress of a vertex
    /// (`writing image sha256:…`, bytes of a layer).
    struct VertexStatus: Equatable {
        var id = ""
        var vertex = ""
        var name = ""
        var current: Int64 = 0
        var total: Int64 = 0
        var started: Timestamp?
        var completed: Timestamp?
    }

    /// `VertexLog`: vertex = 1, timestamp = 2, stream = 3 (1 stdout, 2 stderr),
    /// msg = 4. A chunk of output, not necessarily whole lines.
    struct VertexLog: Equatable {
        var vertex = ""
        var stream: Int64 = 0
        var message: [UInt8] = []
    }

    /// `VertexWarning`: vertex = 1, level = 2, short = 3 (detail, url, info and
    /// ranges are skipped). Engines before BuildKit 0.10 never send it.
    struct VertexWarning: Equatable {
        var vertex = ""
        var level: Int64 = 0
        var short = ""
    }

    var vertexes: [Vertex] = []
    var statuses: [VertexStatus] = []
    var logs: [VertexLog] = []
    var warnings: [VertexWarning] = []

    init(vertexes: [Vertex] = [], statuses: [VertexStatus] = [], logs: [VertexLog] = [], warnings: [VertexWarning] = []) {
        self.vertexes = vertexes
        self.statuses = statuses
        self.logs = logs
        self.warnings = warnings
    }

    /// Decodes a serialized `StatusResponse`.
    init(decoding bytes: [UInt8]) throws(ProtobufReader.Error) {
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            guard let message = value.data else { continue }
            switch field {
            case 1: vertexes.append(try Self.vertex(message))
            case 2: statuses.append(try Self.status(message))
            case 3: logs.append(try Self.log(message))
            case 4: warnings.append(try Self.warning(message))
            default: break
            }
        }
    }

    private static func vertex(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Error) -> Vertex {
        var vertex = Vertex()
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: vertex.digest = value.string ?? vertex.digest
            case 2: if let input = value.string { vertex.inputs.append(input) }
            case 3: vertex.name = value.string ?? vertex.name
            case 4: vertex.cached = (value.integer ?? 0) != 0
            case 5: vertex.started = try timestamp(value)
            case 6: vertex.completed = try timestamp(value)
            case 7: vertex.error = value.string.flatMap { $0.isEmpty ? nil : $0 }
            default: break
            }
        }
        return vertex
    }

    private static func status(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Error) -> VertexStatus {
        var status = VertexStatus()
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: status.id = value.string ?? status.id
            case 2: status.vertex = value.string ?? status.vertex
            case 3: status.name = value.string ?? status.name
            case 4: status.current = value.integer ?? status.current
            case 5: status.total = value.integer ?? status.total
            case 7: status.started = try timestamp(value)
            case 8: status.completed = try timestamp(value)
            default: break
            }
        }
        return status
    }

    private static func log(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Error) -> VertexLog {
        var log = VertexLog()
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: log.vertex = value.string ?? log.vertex
            case 3: log.stream = value.integer ?? log.stream
            case 4: log.message = value.data.map(Array.init) ?? log.message
            default: break
            }
        }
        return log
    }

    private static func warning(_ bytes: ArraySlice<UInt8>) throws(ProtobufReader.Error) -> VertexWarning {
        var warning = VertexWarning()
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: warning.vertex = value.string ?? warning.vertex
            case 2: warning.level = value.integer ?? warning.level
            case 3: warning.short = value.string ?? warning.short
            default: break
            }
        }
        return warning
    }

    private static func timestamp(_ value: ProtobufReader.Value) throws(ProtobufReader.Error) -> Timestamp? {
        guard let bytes = value.data else { return nil }
        var timestamp = Timestamp()
        var reader = ProtobufReader(bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1: timestamp.seconds = value.integer ?? 0
            case 2: timestamp.nanos = Int32(truncatingIfNeeded: value.integer ?? 0)
            default: break
            }
        }
        return timestamp
    }
}
