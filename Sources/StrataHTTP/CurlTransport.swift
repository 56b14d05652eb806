import CCurl
import CCurlShim
import Foundation

/// The production transport: libcurl's easy interface, one handle and one
/// thread per transfer, so that a blocking `curl_easy_perform` never holds a
/// thread of Swift's cooperative pool.
public struct CurlTransport: HTTPTransport {
    /// Where and how to connect; shared by every request of this transport.
    public struct Configuration: Sendable {
        /// Connect through this unix socket instead of TCP
        /// (CURLOPT_UNIX_SOCKET_PATH); the URL's host is then only sent as `Host`.
        public var unixSocketPath: String?
        /// Certificates for https:// (DOCKER_CERT_PATH, a private registry).
        public var tls: TLSOptions
        /// Time allowed to connect (CURLOPT_CONNECTTIMEOUT_MS) and the default stall
        /// limit (CURLOPT_LOW_SPEED_*), which a request can override.
        public var timeouts: HTTPTimeouts
        /// Honour `http_proxy`, `https_proxy` and `no_proxy` from the
        /// environment. Off by default: libcurl reads them on its own, and a
        /// proxy set for other tools must not capture the engine or a loopback registry.
        public var useEnvironmentProxy: Bool
        /// The `User-Agent` sent with every request.
        public var userAgent: String

        /// Creates a configuration.
        public init(
            unixSocketPath: String? = nil,
            tls: TLSOptions = TLSOptions(),
            timeouts: HTTPTimeouts = HTTPTimeouts(),
            useEnvironmentProxy: Bool = false,
            userAgent: String = "strata"
        ) {
            self.unixSocketPath = unixSocketPath
            self.tls = tls
            self.timeouts = timeouts
            self.useEnvironmentProxy = useEnvironmentProxy
            self.userAgent = userAgent
        }
    }

    /// This transport's configuration.
    public let configuration: Configuration

    /// Creates a transport.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let response = try await stream(request)
        let body = try await response.body.collect()
        return HTTPResponse(status: response.status, headers: response.headers, body: body)
    }

    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let control = TransferControl()
        let (chunks, chunkSink) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        // The consumer stopped iterating, dropped the body or was cancelled.
        chunkSink.onTermination = { termination in
            if case .cancelled = termination { control.cancel() }
        }
        let configuration = configuration
        // The transfer thread holds only the sink: when the caller drops the
        // body, the stream is released and onTermination stops the transfer.
        let (status, headers) = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { head in
                let thread = Thread {
                    Self.run(request, configuration, control, head: head, chunkSink: chunkSink)
                }
                thread.name = "strata-curl"
                thread.start()
            }
        } onCancel: {
            control.cancel()
        }
        return HTTPStreamingResponse(
            status: status, headers: headers, body: HTTPResponseBody(chunks: chunks, control: control))
    }

    /// Runs one transfer on the calling (dedicated) thread. The head resumes
    /// `head`; body chunks and the end of the transfer go to `chunkSink`.
    private static func run(
        _ request: HTTPRequest, _ configuration: Configuration, _ control: TransferControl,
        head: CheckedContinuation<(Int, HTTPHeaders), any Error>,
        chunkSink: AsyncThrowingStream<[UInt8], any Error>.Continuation
    ) {
        let endpoint = describe(request, configuration)
        let transfer = CurlTransfer(
            control: control, followsRedirects: request.followRedirects,
            onHead: { status, headers in head.resume(returning: (status, headers)) },
            onChunk: { chunk in
                chunkSink.yield(chunk)
                return control.produced(chunk.count)
            })
        // Connections libcurl made: none means a time-out hit the connect phase.
        var connections = 0
        do {
            let easy = try CurlEasy(endpoint: endpoint)
            defer { connections = (try? easy.info(CURLINFO_NUM_CONNECTS)) ?? 0 }
            try configure(easy, request, configuration, transfer)
            try withExtendedLifetime(transfer) { try easy.perform() }
            // libcurl ends a transfer without error when the connection closes inside the
            // response head; such a head is not an answer (a proxy that cuts connections
            // turned it into "202 without a Location").
            guard transfer.headDelivered else {
                throw HTTPError.truncated(url: endpoint, detail: "the connection closed inside the response headers")
            }
            chunkSink.finish()
        } catch {
            let failure = reason(for: error, transfer, connections: connections, request: request, configuration: configuration)
            if transfer.headDelivered {
                chunkSink.finish(throwing: failure)
            } else {
                chunkSink.finish()
                head.resume(throwing: failure)
            }
        }
    }

    /// What a failed transfer means to the caller: a cancelled task, a body
    /// stream that threw, a time limit (named with the variable that sets it), a
    /// response cut short, or libcurl's own error.
    private static func reason(
        for error: any Error, _ transfer: CurlTransfer, connections: Int, request: HTTPRequest, configuration: Configuration
    ) -> any Error {
        let endpoint = describe(request, configuration)
        if let bodyError = transfer.bodyError {
            return HTTPError.bodyStream(url: endpoint, underlying: bodyError)
        }
        if transfer.control.isCancelled { return CancellationError() }
        guard case .transport(_, let code, let message) = error as? HTTPError else { return error }
        switch code {
        case 28:  // CURLE_OPERATION_TIMEDOUT: no connection was made, or the stall limit cut it.
            if connections == 0 && !transfer.headDelivered {
                let seconds = configuration.timeouts.connect.components.seconds
                return HTTPError.timedOut(url: endpoint, limit: "no connection within \(seconds) s (STRATA_CONNECT_TIMEOUT)")
            }
            let limit = request.lowSpeedLimit ?? configuration.timeouts.idleLimit
            let setting = limit.setting.map { " (\($0))" } ?? ""
            let phase = transfer.headDelivered ? "the response stalled" : "no answer"
            return HTTPError.timedOut(url: endpoint, limit: "\(phase): nothing received for \(limit.seconds) s\(setting)")
        case 18:  // CURLE_PARTIAL_FILE: fewer body bytes than Content-Length announced.
            return HTTPError.truncated(url: endpoint, detail: message)
        default:
            return error
        }
    }

    private static func configure(
        _ easy: CurlEasy, _ request: HTTPRequest, _ configuration: Configuration, _ transfer: CurlTransfer
    ) throws {
        try easy.set(CURLOPT_URL, request.url)
        // CURLOPT_NOSIGNAL: libcurl must not use signals (SIGALRM for DNS
        // timeouts) in a multi-threaded process.
        try easy.set(CURLOPT_NOSIGNAL, 1)
        // 512 KiB upload buffers instead of 64 KiB: a 1 GiB blob crosses into Swift a few
        // thousand times. The receive buffer grows only for bulk downloads: with a large one
        // libcurl holds back small pieces of a slow stream (build progress lines) until it fills.
        try easy.set(CURLOPT_UPLOAD_BUFFERSIZE, 512 << 10)
        if request.bulk { try easy.set(CURLOPT_BUFFERSIZE, 512 << 10) }
        if let socket = configuration.unixSocketPath {
            try easy.set(CURLOPT_UNIX_SOCKET_PATH, socket)
        }
        if !configuration.useEnvironmentProxy {
            // CURLOPT_PROXY: "" explicitly disables proxies, environment included.
            try easy.set(CURLOPT_PROXY, "")
        }
        try configuration.tls.apply(to: easy)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.timeouts.connect / .milliseconds(1)))
        let lowSpeed = request.lowSpeedLimit ?? configuration.timeouts.idleLimit
        try easy.set(CURLOPT_LOW_SPEED_LIMIT, lowSpeed.bytesPerSecond)
        try easy.set(CURLOPT_LOW_SPEED_TIME, lowSpeed.seconds)
        if request.followRedirects {
            try easy.set(CURLOPT_FOLLOWLOCATION, 1)
            try easy.set(CURLOPT_MAXREDIRS, 10)
        }
        try easy.set(CURLOPT_USERAGENT, configuration.userAgent)

        let method = request.method.uppercased()
        let upload = request.body.length != 0 || ["POST", "PUT", "PATCH"].contains(method)
        if method == "HEAD" {
            try easy.set(CURLOPT_NOBODY, 1)
        } else if upload {
            // CURLOPT_UPLOAD with CURLOPT_READFUNCTION streams the body; a size
            // of -1 makes libcurl send it chunked (HTTP/1.1). UPLOAD means PUT
            // unless CURLOPT_CUSTOMREQUEST names the method.
            try easy.set(CURLOPT_UPLOAD, 1)
            try easy.set(CURLOPT_INFILESIZE_LARGE, offset: request.body.length ?? -1)
            try easy.set(CURLOPT_CUSTOMREQUEST, method)
            transfer.bodyStream = try request.body.open()
        } else if method != "GET" {
            try easy.set(CURLOPT_CUSTOMREQUEST, method)
        }
        try transfer.install(on: easy, upload: upload)
        try easy.setHeaders(headerLines(request.headers))
    }

    /// Header lines as libcurl takes them. An empty value needs `Name;`
    /// (`Name:` removes a header libcurl would add). `Expect:` turns off
    /// libcurl's `Expect: 100-continue`, which waits up to a second for
    /// servers that never answer it.
    private static func headerLines(_ headers: HTTPHeaders) -> [String] {
        var lines = headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        if headers["Expect"] == nil { lines.append("Expect:") }
        return lines
    }

    /// The endpoint as errors name it: the URL without credentials, and the
    /// socket when there is one.
    private static func describe(_ request: HTTPRequest, _ configuration: Configuration) -> String {
        let url = "\(request.method.uppercased()) \(redactingUserInfo(request.url))"
        guard let socket = configuration.unixSocketPath else { return url }
        return "\(url) (unix socket \(socket))"
    }
}

/// TLS material for https:// (CURLOPT_CAINFO, CURLOPT_SSLCERT, CURLOPT_SSLKEY).
public struct TLSOptions: Sendable, Equatable {
    /// PEM file of certificate authorities to trust instead of the system's.
    public var caFile: String?
    /// PEM client certificate.
    public var clientCertificate: String?
    /// PEM private key of the client certificate.
    public var clientKey: String?
    /// Verify the server's certificate and host name; false only for an explicit opt-out.
    public var verifyPeer: Bool

    /// Creates TLS options.
    public init(caFile: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil, verifyPeer: Bool = true) {
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.verifyPeer = verifyPeer
    }

    /// The docker CLI's layout: `ca.pem`, `cert.pem`, `key.pem` in
    /// DOCKER_CERT_PATH; `verify` is DOCKER_TLS_VERIFY.
    public static func dockerCertPath(_ directory: String, verify: Bool) -> TLSOptions {
        TLSOptions(
            caFile: "\(directory)/ca.pem", clientCertificate: "\(directory)/cert.pem",
            clientKey: "\(directory)/key.pem", verifyPeer: verify)
    }

    func apply(to easy: CurlEasy) throws {
        if let caFile { try easy.set(CURLOPT_CAINFO, caFile) }
        if let clientCertificate { try easy.set(CURLOPT_SSLCERT, clientCertificate) }
        if let clientKey { try easy.set(CURLOPT_SSLKEY, clientKey) }
        try easy.set(CURLOPT_SSL_VERIFYPEER, verifyPeer ? 1 : 0)
        try easy.set(CURLOPT_SSL_VERIFYHOST, verifyPeer ? 2 : 0)
    }
}
