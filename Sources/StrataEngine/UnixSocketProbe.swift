#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain socket calls strata makes itself: connect(2) to a unix socket (for the errno libcurl
/// does not report, and for a build session's own connection), and a write that sends all.
enum UnixSocketProbe {
    /// Why `connect` failed: no socket could be made, or connect(2) (or the path) refused.
    enum Failure: Error {
        case noSocket(errno: Int32)
        case connect(errno: Int32)
    }

    /// A socket (close-on-exec) connected to the unix socket at `path`. Returns at once:
    /// connecting to a local socket never waits on a network.
    static func connect(_ path: String) -> Result<Int32, Failure> {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return .failure(.noSocket(errno: errno)) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            return .failure(.connect(errno: ENAMETOOLONG))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            return .failure(.connect(errno: code))
        }
        return .success(fd)
    }

    /// 0 when something accepts connections at `path`, else the errno of connect(2);
    /// nil when no socket could be made to try.
    static func connectError(_ path: String) -> Int32? {
        switch connect(path) {
        case .success(let fd):
            close(fd)
            return 0
        case .failure(.connect(let code)):
            return code
        case .failure(.noSocket):
            return nil
        }
    }

    /// Writes all of `bytes` to `fd` (no SIGPIPE); nil when done, else the errno.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return nil
    }
}
