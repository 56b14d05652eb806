import Foundation

/// The time limits of every request strata sends, read from the environment in one place:
///
/// | variable | limit | default |
/// |---|---|---|
/// | `STRATA_CONNECT_TIMEOUT` | seconds to connect (DNS, TCP, TLS) | 10 |
/// | `STRATA_IDLE_TIMEOUT` | seconds a request may go without receiving or sending a byte | 60 |
/// | `STRATA_BUILD_IDLE_TIMEOUT` | the same for the engine's build stream; 0 waits forever | 3600 |
///
/// The build stream gets a limit of its own because BuildKit sends nothing while a
/// silent `RUN` step works, which can take many minutes; no limit is a total time, so a
/// long healthy transfer is never cut.
public struct HTTPTimeouts: Sendable, Equatable {
    public var connect: Duration
    public var idle: Duration
    /// nil: no limit.
    public var buildIdle: Duration?

    public init(connect: Duration = .seconds(10), idle: Duration = .seconds(60), buildIdle: Duration? = .seconds(3600)) {
        self.connect = connect
        self.idle = idle
        self.buildIdle = buildIdle
    }

    /// A variable that is set but is not a number of seconds.
    public struct InvalidSetting: Error, CustomStringConvertible, Sendable {
        public var variable: String
        public var value: String
        public var description: String {
            "\(variable)=\(value): not a number of seconds (e.g. \(variable)=30)"
        }
    }

    /// The defaults, overridden by the variables that are set.
    public init(environment: [String: String]) throws(InvalidSetting) {
        func seconds(_ variable: String, zeroAllowed: Bool) throws(InvalidSetting) -> Duration?? {
            guard let text = environment[variable]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return .none }
            guard let value = Double(text), value.isFinite, value > 0 || (zeroAllowed && value == 0) else {
                throw InvalidSetting(variable: variable, value: text)
            }
            return .some(value == 0 ? nil : .milliseconds(Int64(value * 1000)))
        }
        self.init()
        if let connect = try seconds("STRATA_CONNECT_TIMEOUT", zeroAllowed: false), let connect { self.connect = connect }
        if let idle = try seconds("STRATA_IDLE_TIMEOUT", zeroAllowed: false), let idle { self.idle = idle }
        if let buildIdle = try seconds("STRATA_BUILD_IDLE_TIMEOUT", zeroAllowed: true) { self.buildIdle = buildIdle }
    }

    /// The stall limit of an ordinary request.
    public var idleLimit: HTTPLowSpeedLimit {
        HTTPLowSpeedLimit(bytesPerSecond: 1, seconds: Self.wholeSeconds(idle), setting: "STRATA_IDLE_TIMEOUT")
    }

    /// The stall limit of the engine's build stream.
    public var buildIdleLimit: HTTPLowSpeedLimit {
        guard let buildIdle else { return .disabled }
        return HTTPLowSpeedLimit(bytesPerSecond: 1, seconds: Self.wholeSeconds(buildIdle), setting: "STRATA_BUILD_IDLE_TIMEOUT")
    }

    /// libcurl counts low-speed time in whole seconds, at least one.
    private static func wholeSeconds(_ duration: Duration) -> Int {
        max(1, Int((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18).rounded(.up)))
    }
}
