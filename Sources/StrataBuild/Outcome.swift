import StrataEngine

/// How one node of a build ended.
public struct NodeOutcome: Sendable {
    public enum Status: String, Sendable, Codable {
        case built, cached, failed, skipped
    }

    public var node: String
    public var index: Int
    public var status: Status
    public var seconds: Double
    public var key: String
    public var imageID: String?
    public var size: Int64?
    /// Why the node failed or was skipped, one line.
    public var message: String?
    /// For a failed build: the failing step and its last log lines.
    public var failure: BuildFailure?

    public init(node: String, index: Int, status: Status, seconds: Double, key: String, imageID: String? = nil,
                size: Int64? = nil, message: String? = nil, failure: BuildFailure? = nil) {
        self.node = node
        self.index = index
        self.status = status
        self.seconds = seconds
        self.key = key
        self.imageID = imageID
        self.size = size
        self.message = message
        self.failure = failure
    }
}

/// Receives the progress of a build as it happens (the display: tty, plain, github).
/// Called from concurrent tasks: implementations synchronise themselves.
public protocol BuildReporter: Sendable {
    /// The scheduler starts building (or checking) a node.
    func started(node: String, reason: String)
    /// Progress of a running build.
    func event(node: String, _ event: BuildEvent)
    /// A node ended (built, cached, failed or skipped).
    func finished(_ outcome: NodeOutcome)
}
