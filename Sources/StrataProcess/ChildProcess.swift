import Foundation

/// A child process whose end is never missed.
///
/// Foundation's `Process` was not good enough here: it learns of a child's end when a socket
/// the child inherits closes, so a daemon the child leaves behind (containerd under dockerd, a
/// `sleep &` in a script) hides the end until the daemon exits too; its `waitUntilExit()`
/// polls the calling thread's run loop, which can park a thread for good under many parallel
/// children; and children inherit the caller's blocked signals. Here a child is started with
/// `posix_spawn` (signal mask and dispositions reset, descriptors other than 0–2 closed), its
/// end is `waitpid` on a thread of its own, its pipes are drained by threads of their own while
/// it runs (a chatty child never blocks on a full pipe), and `wait(timeout:)` kills a child that
/// outlives its time and says so, instead of hanging.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `status` is guarded by `exited`'s happens-before (set before the signal,
    // read after the wait); the readers and the input lock their own state.

    /// What the child reads.
    public enum Input: Sendable {
        /// /dev/null.
        case null
        /// These bytes, then end of file.
        case bytes([UInt8])
        /// A pipe this object writes (`writeInput`) and closes (`closeInput`, or at `wait`).
        case pipe
    }

    /// Where the child writes one of its streams.
    public enum Output: Sendable {
        /// Kept in memory: `Result.stdout`/`stderr`, `output(_:)` while it runs.
        case capture
        /// /dev/null.
        case discard
        /// Appended to this file (created if missing).
        case file(String)
    }

    public enum Stream: Sendable { case stdout, stderr }

    public struct Result: Sendable {
        /// The exit status, or the signal number when `signaled`.
        public var status: Int32
        public var signaled: Bool
        public var stdout: [UInt8]
        public var stderr: [UInt8]

        public var succeeded: Bool { !signaled && status == 0 }
        public var output: String { String(decoding: stdout, as: UTF8.self) }
        public var errorOutput: String { String(decoding: stderr, as: UTF8.self) }
    }

    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        /// The command as a user would type it.
        public var command: String
        public var reason: String
        public var description: String { "\(command): \(reason)" }
    }

    /// The executable and its arguments, for messages.
    public let command: String
    public let processIdentifier: pid_t
    private let exited = DispatchSemaphore(value: 0)
    private let ended = NSLock()
    private var waitStatus: Int32?
    private let readers: [Stream: PipeReader]
    private let input: InputPipe?

    /// Starts `executable` (an absolute path) with `arguments`. `environment` replaces the
    /// inherited one when given.
    public init(_ executable: String, _ arguments: [String] = [], directory: String? = nil,
                environment: [String: String]? = nil, input: Input = .null,
                stdout: Output = .capture, stderr: Output = .capture) throws(Error) {
        let command = ([executable] + arguments).joined(separator: " ")
        self.command = command
        func failure(_ what: String, _ code: Int32) -> Error {
            Error(command: command, reason: "cannot start: \(what): \(String(cString: strerror(code)))")
        }

        // Descriptors for the child's 0, 1 and 2, and what the parent keeps.
        var childEnds: [Int32] = []
        var parentEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        func pipeEnds() throws(Error) -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw failure("pipe", errno) }
            // Close-on-exec for other spawners (ours close everything above 2 anyway).
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        func open(_ path: String, _ flags: Int32) throws(Error) -> Int32 {
            let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw failure(path, errno) }
            childEnds.append(fd)
            return fd
        }
        do {
            var targets: [Int32] = []
            var inputPipe: InputPipe?
            switch input {
            case .null:
                targets.append(try open("/dev/null", O_RDONLY))
            case .bytes, .pipe:
                let ends = try pipeEnds()
                childEnds.append(ends.read)
                parentEnds.append(ends.write)
                targets.append(ends.read)
                var feedsItself = false
                if case .bytes = input { feedsItself = true }
                inputPipe = InputPipe(fd: ends.write, feedsItself: feedsItself)
            }
            var readers: [Stream: PipeReader] = [:]
            for (stream, output) in [(Stream.stdout, stdout), (.stderr, stderr)] {
                switch output {
                case .capture:
                    let ends = try pipeEnds()
                    childEnds.append(ends.write)
                    parentEnds.append(ends.read)
                    targets.append(ends.write)
                    readers[stream] = PipeReader(fd: ends.read)
                case .discard:
                    targets.append(try open("/dev/null", O_WRONLY))
                case .file(let path):
                    targets.append(try open(path, O_WRONLY | O_CREAT | O_APPEND))
                }
            }
            processIdentifier = try Spawn.start(executable, arguments, directory: directory, environment: environment,
                                                descriptors: targets, command: command)
            self.readers = readers
            self.input = inputPipe
        } catch {
            for fd in parentEnds { close(fd) }
            throw error
        }

        let pid = processIdentifier
        let exited = exited
        Thread { [self] in
            // Wait without reaping, then reap under the lock: `signal` never reaches a
            // recycled pid.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            ended.lock()
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            waitStatus = status
            ended.unlock()
            exited.signal()
        }.start()
        for reader in readers.values { reader.start() }
        if case .bytes(let bytes) = input, let pipe = self.input {
            // On a thread of its own: a child that writes a lot before it reads cannot block us.
            Thread {
                pipe.write(bytes)
                pipe.close()
            }.start()
        }
    }

    /// Whether the child still runs.
    public var isRunning: Bool {
        ended.lock()
        defer { ended.unlock() }
        return waitStatus == nil
    }

    /// Sends `signal` to the child, if it still runs.
    public func signal(_ signal: Int32) {
        ended.lock()
        defer { ended.unlock() }
        // Not after the end: the pid may belong to another process by then.
        if waitStatus == nil { kill(processIdentifier, signal) }
    }

    /// Writes to the child's stdin (`Input.pipe`); a child that stopped reading is ignored.
    public func writeInput(_ bytes: [UInt8]) {
        input?.write(bytes)
    }

    /// Closes the child's stdin (`Input.pipe`): it reads end of file.
    public func closeInput() {
        input?.close()
    }

    /// What the child wrote to a captured stream so far.
    public func output(_ stream: Stream) -> [UInt8] {
        readers[stream]?.bytes ?? []
    }

    /// Waits until what the child wrote to a captured stream satisfies `condition`, the
    /// stream ends, or `timeout` passes; returns what it wrote so far.
    public func waitForOutput(_ stream: Stream, timeout: Duration, until condition: ([UInt8]) -> Bool) -> [UInt8] {
        guard let reader = readers[stream] else { return [] }
        return reader.wait(until: Date().addingTimeInterval(timeout.seconds), condition)
    }

    /// Waits for the child to end (closing a `.pipe` stdin first). After `timeout` it is
    /// killed (SIGKILL) and the error says so, with the end of what it wrote to stderr.
    public func wait(timeout: Duration? = nil) throws(Error) -> Result {
        if let input, !input.feedsItself { input.close() }
        var timedOut = false
        if let timeout, exited.wait(timeout: .now() + timeout.seconds) == .timedOut {
            timedOut = true
            signal(SIGKILL)
            exited.wait()
        } else if timeout == nil {
            exited.wait()
        }
        exited.signal()  // a second `wait` returns at once
        // A daemon the child left behind may keep a pipe open: the readers stop a moment after the end.
        let grace = Date().addingTimeInterval(2)
        for reader in readers.values { reader.finish(before: grace) }
        ended.lock()
        let status = waitStatus ?? 0
        ended.unlock()
        let signaled = status & 0x7f != 0
        let result = Result(status: signaled ? status & 0x7f : (status >> 8) & 0xff, signaled: signaled,
                            stdout: output(.stdout), stderr: output(.stderr))
        if timedOut {
            let tail = result.errorOutput.split(separator: "\n").suffix(5).joined(separator: " | ")
            throw Error(command: command,
                        reason: "still running after \(timeout!.seconds) s, killed\(tail.isEmpty ? "" : "; it said: \(tail)")")
        }
        return result
    }

    /// Runs a command to its end: `ChildProcess(…).wait(timeout:)`.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String] = [], directory: String? = nil,
                           environment: [String: String]? = nil, input: Input = .null,
                           stdout: Output = .capture, stderr: Output = .capture,
                           timeout: Duration? = nil) throws(Error) -> Result {
        try ChildProcess(executable, arguments, directory: directory, environment: environment, input: input,
                         stdout: stdout, stderr: stderr).wait(timeout: timeout)
    }

    /// The first executable called `name` on `path` (a PATH value), or nil.
    public static func find(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// `posix_spawn` with the child's 0, 1 and 2 set, every other descriptor closed, signals reset.
private enum Spawn {
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    // glibc's `_np` additions (2.29, 2.34), which Swift's Glibc module does not declare.
    private static let addChdir: AddChdir? =
        dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    private static let addCloseFrom: AddCloseFrom? =
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }

    static func start(_ executable: String, _ arguments: [String], directory: String?, environment: [String: String]?,
                      descriptors: [Int32], command: String) throws(ChildProcess.Error) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, fd) in descriptors.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(target))
        }
        _ = addCloseFrom?(&actions, 3)
        if let directory {
            guard let addChdir else {
                throw ChildProcess.Error(command: command, reason: "cannot start in \(directory): this C library cannot change directories in posix_spawn")
            }
            _ = addChdir(&actions, directory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code: Int32
        if let environment {
            let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for pointer in envp { free(pointer) } }
            code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        } else {
            code = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        }
        guard code == 0 else {
            let place = directory.map { " in \($0)" } ?? ""
            throw ChildProcess.Error(command: command, reason: "cannot start\(place): \(String(cString: strerror(code)))")
        }
        return pid
    }
}

/// The parent's end of the child's stdin.
private final class InputPipe: @unchecked Sendable {
    // @unchecked: `fd` is guarded by `lock`.
    private let lock = NSLock()
    private var fd: Int32
    /// Fed by a thread of its own (`Input.bytes`), which closes it.
    let feedsItself: Bool

    init(fd: Int32, feedsItself: Bool) {
        self.fd = fd
        self.feedsItself = feedsItself
    }

    /// Writes everything, or stops quietly when the child no longer reads (EPIPE: SIGPIPE
    /// is blocked on this thread while writing, and a pending one is consumed).
    func write(_ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { return }
        var pipeSignal = sigset_t(), previous = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        var offset = 0
        var broken = false
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count > 0 { offset += count; continue }
            if count < 0 && errno == EINTR { continue }
            broken = errno == EPIPE
            break
        }
        if broken {
            var zero = timespec()
            _ = sigtimedwait(&pipeSignal, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// Drains one pipe on a thread of its own into memory.
private final class PipeReader: @unchecked Sendable {
    // @unchecked: `data`, `ended` and `stopAt` are guarded by `condition`.
    private let fd: Int32
    private let condition = NSCondition()
    private var data: [UInt8] = []
    private var ended = false
    private var stopAt: Date?

    init(fd: Int32) { self.fd = fd }

    func start() {
        let thread = Thread { [self] in run() }
        thread.start()
    }

    var bytes: [UInt8] {
        condition.lock()
        defer { condition.unlock() }
        return data
    }

    /// Reads with `poll`, so the reader can give up on a pipe a grandchild keeps open.
    private func run() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            condition.lock()
            let stop = stopAt.map { Date() >= $0 } ?? false
            condition.unlock()
            if stop { break }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 200)
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    condition.lock()
                    data.append(contentsOf: buffer[0..<count])
                    condition.broadcast()
                    condition.unlock()
                    continue
                }
                if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                break
            }
            if ready < 0 && errno != EINTR { break }
        }
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
        close(fd)
    }

    func wait(until deadline: Date, _ satisfied: ([UInt8]) -> Bool) -> [UInt8] {
        condition.lock()
        defer { condition.unlock() }
        while !satisfied(data) && !ended && Date() < deadline {
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.2)))
        }
        return data
    }

    /// Lets the reader read until the pipe ends or `deadline`, then returns.
    func finish(before deadline: Date) {
        condition.lock()
        defer { condition.unlock() }
        stopAt = deadline
        while !ended { _ = condition.wait(until: Date().addingTimeInterval(0.2)) }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
