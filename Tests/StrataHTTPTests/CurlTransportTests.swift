import Foundation
import Testing
import StrataHTTP

/// CurlTransport against a real (python3) HTTP server on loopback or a unix socket.
@Suite struct CurlTransportTests {
    let client = HTTPClient(transport: CurlTransport())

    private func json(_ body: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    @Test func getReadsStatusHeadersAndBody() async throws {
        let server = try await TestServer.start()
        let response = try await client.send(HTTPRequest(url: server.url("/hello")))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain")
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
    }

    @Test func postSendsHeadersAndBytes() async throws {
        let server = try await TestServer.start()
        let request = HTTPRequest(
            method: "POST", url: server.url("/echo?x=1"), headers: ["X-Strata": "yes"],
            body: .bytes(Array("{\"a\":1}".utf8)))
        let echo = try json(try await client.send(request).body)
        #expect(echo["method"] as? String == "POST")
        #expect(echo["path"] as? String == "/echo?x=1")
        #expect(echo["body"] as? String == "{\"a\":1}")
        let headers = try #require(echo["headers"] as? [String: String])
        #expect(headers["x-strata"] == "yes")
        #expect(headers["content-length"] == "7")
        #expect(headers["expect"] == nil)
    }

    @Test(arguments: ["GET", "PUT", "PATCH", "DELETE"])
    func aBodyKeepsTheMethod(method: String) async throws {
        let server = try await TestServer.start()
        let request = HTTPRequest(method: method, url: server.url("/echo"), body: .bytes(Array("x".utf8)))
        let echo = try json(try await client.send(request).body)
        #expect(echo["method"] as? String == method)
        #expect(echo["body"] as? String == "x")
    }

    @Test func postWithoutBodySendsZeroLength() async throws {
        let server = try await TestServer.start()
        let echo = try json(try await client.send(HTTPRequest(method: "POST", url: server.url("/echo"))).body)
        #expect((echo["headers"] as? [String: String])?["content-length"] == "0")
    }

    @Test func headReturnsHeadersOnly() async throws {
        let server = try await TestServer.start()
        let response = try await client.send(HTTPRequest(method: "HEAD", url: server.url("/blob")))
        #expect(response.status == 200)
        #expect(response.headers["Docker-Content-Digest"] == "sha256:abc")
        #expect(response.body.isEmpty)
    }

    @Test(arguments: [(64 << 20, true), (8 << 20, false)])
    func streamsAnUploadFromAProducer(size: Int, lengthKnown: Bool) async throws {
        let server = try await TestServer.start()
        let body = HTTPBody.stream(length: lengthKnown ? Int64(size) : nil) { PatternStream(length: size) }
        let result = try json(try await client.send(HTTPRequest(method: "PUT", url: server.url("/count"), body: body)).body)
        #expect(result["count"] as? Int == size)
        #expect(result["chunked"] as? Bool == !lengthKnown)
        #expect((result["adler32"] as? NSNumber)?.uint32Value == PatternStream.adler32(length: size))
    }

    @Test func uploadsAFile() async throws {
        let server = try await TestServer.start()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("strata-http-\(UUID()).bin").path
        let bytes = (0..<300_000).map { PatternStream.byte(at: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let request = HTTPRequest(method: "POST", url: server.url("/count"), body: try .file(path))
        let result = try json(try await client.send(request).body)
        #expect(result["count"] as? Int == 300_000)
        #expect(result["chunked"] as? Bool == false)
        #expect((result["adler32"] as? NSNumber)?.uint32Value == PatternStream.adler32(length: 300_000))
    }

    @Test func aThrowingBodyStreamFailsTheRequestWithItsError() async throws {
        struct Broken: Error {}
        struct FailingStream: HTTPBodyStream {
            mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { throw Broken() }
        }
        let server = try await TestServer.start()
        let request = HTTPRequest(method: "PUT", url: server.url("/count"), body: .stream(length: 10) { FailingStream() })
        await #expect {
            try await client.send(request)
        } throws: { error in
            guard case .bodyStream(_, let underlying) = error as? HTTPError else { return false }
            return underlying is Broken
        }
    }

    /// The server sends a line, then waits until the client has seen it (it asks for /open):
    /// a client that only delivered lines at the end would make it wait 30 s and say so.
    /// No clock in the test, so a busy machine cannot fail it.
    @Test func streamedLinesArriveAsTheServerSendsThem() async throws {
        let server = try await TestServer.start()
        var lines: [String] = []
        for try await line in try await client.lines(HTTPRequest(url: server.url("/gated"))) {
            lines.append(line)
            if lines.count == 1 { _ = try await client.send(HTTPRequest(url: server.url("/open"))) }
        }
        #expect(lines == [#"{"stream": "first"}"#, #"{"stream": "opened"}"#])
    }

    @Test func stoppingEarlyEndsTheTransfer() async throws {
        let server = try await TestServer.start()
        var seen = 0
        for try await _ in try await client.lines(HTTPRequest(url: server.url("/lines?n=200&delay=0.05"))) {
            seen += 1
            if seen == 2 { break }
        }
        #expect(seen == 2)
        // The server sees the connection close long before its 10 s of lines are out.
        var aborted = 0
        for _ in 0..<40 where aborted == 0 {
            try await Task.sleep(for: .milliseconds(100))
            aborted = try json(try await client.send(HTTPRequest(url: server.url("/stats"))).body)["aborted"] as? Int ?? 0
        }
        #expect(aborted == 1)
    }

    @Test func talksOverAUnixSocket() async throws {
        let server = try await TestServer.start(unixSocket: true)
        let transport = CurlTransport(configuration: .init(unixSocketPath: server.socketPath))
        let response = try await HTTPClient(transport: transport).send(HTTPRequest(url: "http://localhost/hello"))
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")
    }

    @Test func tlsWithAClientCertificate() async throws {
        let certificates = try makeCertificates()
        defer { try? FileManager.default.removeItem(atPath: certificates) }
        let server = try await TestServer.start(tlsDirectory: certificates)
        let tls = TLSOptions.dockerCertPath(certificates, verify: true)
        let client = HTTPClient(transport: CurlTransport(configuration: .init(tls: tls)))
        let response = try await client.send(HTTPRequest(url: server.url("/hello")))
        #expect(String(decoding: response.body, as: UTF8.self) == "hello")

        // Without the CA the server is not trusted (CURLE_PEER_FAILED_VERIFICATION).
        let untrusting = HTTPClient(transport: CurlTransport(configuration: .init(
            tls: TLSOptions(clientCertificate: tls.clientCertificate, clientKey: tls.clientKey))))
        await #expect {
            try await untrusting.send(HTTPRequest(url: server.url("/hello")))
        } throws: { error in
            guard case .transport(_, let code, _) = error as? HTTPError else { return false }
            return code == 60
        }
        // Without a client certificate the server hangs up during the handshake.
        let anonymous = HTTPClient(transport: CurlTransport(configuration: .init(tls: TLSOptions(caFile: tls.caFile))))
        await #expect(throws: HTTPError.self) {
            try await anonymous.send(HTTPRequest(url: server.url("/hello")))
        }
    }

    @Test func aJSONErrorBodyBecomesTheDescription() async throws {
        let server = try await TestServer.start()
        await #expect {
            try await client.send(HTTPRequest(url: server.url("/missing")))
        } throws: { error in
            (error as? HTTPError)?.description == "GET \(server.url("/missing")): HTTP 404: no such image: nope:1"
        }
    }

    @Test func aStreamedErrorStatusThrowsWithTheMessage() async throws {
        let server = try await TestServer.start(unixSocket: true)
        let client = HTTPClient(transport: CurlTransport(configuration: .init(unixSocketPath: server.socketPath)))
        await #expect {
            try await client.lines(HTTPRequest(url: "http://localhost/missing"))
        } throws: { error in
            (error as? HTTPError)?.status == 404 && "\(error)".hasSuffix("no such image: nope:1")
        }
    }

    @Test func credentialsNeverReachTheDescription() async throws {
        let server = try await TestServer.start()
        let request = HTTPRequest(url: server.url("/unauthorized"), headers: ["Authorization": "Bearer s3cr3t-t0ken"])
        await #expect {
            try await client.send(request)
        } throws: { error in
            let text = "\(error)"
            return (error as? HTTPError)?.status == 401 && !text.contains("s3cr3t") && text.contains("bad credentials")
        }
        let withUser = HTTPRequest(url: "http://user:hunter2@127.0.0.1:1/v2/")
        await #expect {
            try await client.send(withUser)
        } throws: { error in
            !"\(error)".contains("hunter2")
        }
    }

    @Test func retryAfterIsExposed() async throws {
        let server = try await TestServer.start()
        let response = try await client.send(HTTPRequest(url: server.url("/busy")), accept: { _ in true })
        #expect(response.status == 503)
        #expect(response.retryAfter() == .seconds(7))
    }

    @Test func aRefusedConnectionIsAClearTransportError() async throws {
        await #expect {
            try await client.send(HTTPRequest(url: "http://127.0.0.1:1/_ping"))
        } throws: { error in
            guard case .transport(let url, let code, _) = error as? HTTPError else { return false }
            let text = "\(error)"
            return code == 7 && url == "GET http://127.0.0.1:1/_ping"
                && text.hasPrefix("GET http://127.0.0.1:1/_ping: Couldn't connect to server")
        }
    }

    @Test func aMissingUnixSocketNamesTheSocket() async throws {
        let transport = CurlTransport(configuration: .init(unixSocketPath: "/tmp/strata-no-such.sock"))
        await #expect {
            try await HTTPClient(transport: transport).send(HTTPRequest(url: "http://localhost/_ping"))
        } throws: { error in
            "\(error)".contains("(unix socket /tmp/strata-no-such.sock)")
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let server = try await TestServer.start()
        let client = client
        let url = server.url("/stall")
        let task = Task { try await client.send(HTTPRequest(url: url)) }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The progress callback runs at least once a second, so the transfer ends long before the
        // server's 60 s stall would have; the bound is loose because the whole suite runs in
        // parallel on two cores.
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func aStallTripsTheLowSpeedLimit() async throws {
        let server = try await TestServer.start()
        let request = HTTPRequest(url: server.url("/stall"),
                                  lowSpeedLimit: HTTPLowSpeedLimit(bytesPerSecond: 1, seconds: 1, setting: "STRATA_X"))
        let error = await #expect(throws: HTTPError.self) { try await client.send(request) }
        #expect(error?.description == "GET \(server.url("/stall")): the response stalled: nothing received for 1 s (STRATA_X)")
        #expect(error?.isUnreachable == true)
    }

    /// A server that accepts and never answers: the idle limit ends the request, and the
    /// error names the endpoint, the limit and the variable that sets it.
    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try await TestServer.start()
        let client = HTTPClient(transport: CurlTransport(configuration: CurlTransport.Configuration(
            timeouts: HTTPTimeouts(connect: .seconds(5), idle: .seconds(1)))))
        let start = ContinuousClock.now
        let error = await #expect(throws: HTTPError.self) { try await client.send(HTTPRequest(url: server.url("/silent"))) }
        #expect(error?.description == "GET \(server.url("/silent")): no answer: nothing received for 1 s (STRATA_IDLE_TIMEOUT)")
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    /// libcurl itself reports success when the connection closes inside the head.
    @Test(arguments: [("/cut-head", "the connection closed inside the response headers"),
                      ("/cut-body", "transfer closed with 97 bytes remaining to read")])
    func aResponseCutShortIsAnError(path: String, detail: String) async throws {
        let server = try await TestServer.start()
        let error = await #expect(throws: HTTPError.self) {
            try await client.send(HTTPRequest(method: "POST", url: server.url(path)))
        }
        guard case .truncated(_, let found)? = error else {
            Issue.record("expected .truncated, got \(String(describing: error))")
            return
        }
        #expect(found.hasSuffix(detail))
        #expect(error?.isUnreachable == false)
    }
}

/// `STRATA_CONNECT_TIMEOUT`, `STRATA_IDLE_TIMEOUT`, `STRATA_BUILD_IDLE_TIMEOUT`.
@Suite struct HTTPTimeoutsTests {
    @Test func defaultsWhenNothingIsSet() throws {
        let timeouts = try HTTPTimeouts(environment: [:])
        #expect(timeouts == HTTPTimeouts(connect: .seconds(10), idle: .seconds(60), buildIdle: .seconds(3600)))
        #expect(timeouts.idleLimit == HTTPLowSpeedLimit(bytesPerSecond: 1, seconds: 60, setting: "STRATA_IDLE_TIMEOUT"))
        #expect(timeouts.buildIdleLimit.setting == "STRATA_BUILD_IDLE_TIMEOUT")
    }

    @Test func theVariablesOverrideTheDefaults() throws {
        let timeouts = try HTTPTimeouts(environment: [
            "STRATA_CONNECT_TIMEOUT": "2.5", "STRATA_IDLE_TIMEOUT": "0.2", "STRATA_BUILD_IDLE_TIMEOUT": "0",
        ])
        #expect(timeouts.connect == .milliseconds(2500))
        #expect(timeouts.idleLimit.seconds == 1)
        #expect(timeouts.buildIdle == nil)
        #expect(timeouts.buildIdleLimit == .disabled)
    }

    @Test(arguments: [("STRATA_CONNECT_TIMEOUT", "ten"), ("STRATA_IDLE_TIMEOUT", "0"), ("STRATA_BUILD_IDLE_TIMEOUT", "-1"),
                      ("STRATA_IDLE_TIMEOUT", "inf")])
    func aValueThatIsNotSecondsIsRefused(variable: String, value: String) {
        let error = #expect(throws: HTTPTimeouts.InvalidSetting.self) { try HTTPTimeouts(environment: [variable: value]) }
        #expect(error?.description == "\(variable)=\(value): not a number of seconds (e.g. \(variable)=30)")
    }
}
