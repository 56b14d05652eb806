import Foundation
import StrataHTTP
@testable import StrataEngine
import Testing

/// The engine client against a fake transport: what it asks and how it reads the answers.
@Suite struct EngineRequestTests {
    let socket = Engine.Endpoint(host: "unix:///fake.sock", unixSocketPath: "/fake.sock", baseURL: "http://localhost", tls: nil)

    func version(_ api: String, minimum: String = "1.12") -> HTTPResponse {
        json(#"{"Version":"x","ApiVersion":"\#(api)","MinAPIVersion":"\#(minimum)"}"#)
    }

    /// The highest version both speak: Docker 20.10 (1.41), 23 (1.42), 27.5 (1.47), 28.0 (1.48),
    /// 28.4 (1.51), and engines newer than strata, one of which no longer speaks 1.51.
    @Test(arguments: [("1.41", "1.12", "1.41"), ("1.42", "1.12", "1.42"), ("1.47", "1.24", "1.47"),
                      ("1.48", "1.24", "1.48"), ("1.51", "1.24", "1.51"), ("1.53", "1.24", "1.51"),
                      ("1.60", "1.52", "1.52")])
    func negotiatesTheAPIVersion(server: String, minimum: String, chosen: String) async throws {
        let transport = FakeTransport { _ in version(server, minimum: minimum) }
        let engine = try await Engine.connect(to: socket, transport: transport)
        #expect(engine.apiVersion == chosen)
        #expect(transport.requests.map(target) == ["/version"])
    }

    /// What strata asks for depends on the version chosen: requests carry it, and image inspect
    /// tells the image store from 1.48 on.
    @Test(arguments: [("1.41", false), ("1.47", false), ("1.48", true), ("1.51", true)])
    func theFeaturesFollowTheNegotiatedVersion(server: String, imageDescriptor: Bool) async throws {
        let transport = FakeTransport { request in
            target(request) == "/version" ? version(server) : json(#"{"Id":"sha256:abc"}"#)
        }
        let engine = try await Engine.connect(to: socket, transport: transport)
        #expect(engine.features.imageDescriptor == imageDescriptor)
        _ = try await engine.inspectImage("app:1")
        #expect(transport.requests.map(target).last == "/v\(server)/images/app:1/json")
    }

    /// Docker 28's containerd image store describes the image (its ID is that manifest's
    /// digest); the classic store does not; before 1.48 neither says, whatever it sends.
    @Test func inspectTellsTheImageStoreFromAPI148On() async throws {
        let containerd = json(#"{"Id":"sha256:m","Size":1,"Descriptor":{"mediaType":"application/vnd.oci.image.manifest.v1+json","#
            + #""digest":"sha256:m","size":405}}"#)
        let classic = json(#"{"Id":"sha256:c","Size":1}"#)
        for (api, answer, store) in [("1.51", containerd, ImageStore.containerd), ("1.51", classic, .classic),
                                     ("1.41", containerd, nil), ("1.47", classic, nil)] {
            let engine = Engine(endpoint: socket, apiVersion: api, transport: FakeTransport { _ in answer })
            #expect(try await engine.inspectImage("app:1")?.store == store, "API \(api)")
        }
    }

    @Test func aWindowsEngineHasNoBuildKit() async throws {
        let transport = FakeTransport { _ in json(#"{"ApiVersion":"1.51","MinAPIVersion":"1.24","Os":"windows","Arch":"amd64"}"#) }
        await #expect {
            try await Engine.connect(to: socket, transport: transport)
        } throws: { error in
            "\(error)" == "the Docker engine at unix:///fake.sock cannot run BuildKit builds "
                + "(a Windows engine builds with the classic builder only); upgrade Docker or enable BuildKit on it"
        }
    }

    /// What a build that names no platform is built for: the engine's Os/Arch, which keys it.
    @Test func theEnginesPlatformComesFromItsVersion() async throws {
        let arm = FakeTransport { _ in json(#"{"ApiVersion":"1.41","Os":"linux","Arch":"arm64"}"#) }
        #expect(try await Engine.connect(to: socket, transport: arm).platform == "linux/arm64")
        let silent = FakeTransport { _ in version("1.41") }
        #expect(try await Engine.connect(to: socket, transport: silent).platform == nil)
    }

    /// Docker 19.03 (1.40) had BuildKit, but strata drives what 20.10 (1.41) offers.
    @Test(arguments: ["1.40", "1.38", "1.12"])
    func anEngineOlderThanStrataDrivesIsRefusedInOneLine(server: String) async throws {
        let transport = FakeTransport { _ in version(server) }
        await #expect(throws: Engine.Error.apiTooOld(host: "unix:///fake.sock", version: server, minimum: "1.41")) {
            try await Engine.connect(to: socket, transport: transport)
        }
        #expect(Engine.Error.apiTooOld(host: "unix:///fake.sock", version: server, minimum: "1.41").description
            == "the Docker engine at unix:///fake.sock speaks API \(server), strata needs 1.41 or newer: "
            + "upgrade Docker (20.10 or later)")
    }

    @Test func noEngineAtAllIsUnreachable() async throws {
        let transport = FakeTransport { request in
            throw HTTPError.transport(url: request.url, code: 7,
                                      message: "Couldn't connect to server: Failed to connect to localhost port 80: Connection refused")
        }
        let directory = try TemporaryDirectory()
        let path = try directory.file("docker.sock", "")
        let endpoint = try Engine.Endpoint.parse("unix://\(path)")
        await #expect {
            try await Engine.connect(to: endpoint, transport: transport)
        } throws: { error in
            "\(error)" == "no Docker engine at unix://\(path): connection refused; start dockerd or set DOCKER_HOST"
        }
    }

    /// The real transport against a socket path where nothing listens.
    @Test func missingSocketThroughLibcurl() async throws {
        let directory = try TemporaryDirectory()
        let endpoint = try Engine.Endpoint.parse("unix://\(directory.path)/docker.sock")
        await #expect {
            try await Engine.connect(environment: ["DOCKER_HOST": endpoint.host])
        } throws: { error in
            "\(error)" == "no Docker engine at \(endpoint.host): no such socket; start dockerd or set DOCKER_HOST"
        }
        // A file that is not a listening socket: connect(2) is refused.
        try directory.file("docker.sock", "")
        await #expect {
            try await Engine.connect(environment: ["DOCKER_HOST": endpoint.host])
        } throws: { error in
            "\(error)" == "no Docker engine at \(endpoint.host): connection refused; start dockerd or set DOCKER_HOST"
        }
    }

    @Test func buildSendsTheOptionsAndTheContextAndDecodesTheStream() async throws {
        let stream = try Fixture.bytes("buildkit-stream.jsonl")
        let transport = FakeTransport { _ in HTTPResponse(status: 200, body: stream) }
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: transport)
        let log = EventLog()
        let options = BuildOptions(tags: ["app:1", "registry:5000/app:1"], dockerfile: ".strata/Dockerfile",
                                   buildArgs: ["B": "2", "A": "x y&z"], labels: ["dev.strata.key": "k"],
                                   target: "final", platform: "linux/amd64", networkMode: "host", noCache: true)
        let result = try await engine.build(context: .tar(.bytes([1, 2, 3])), options: options, events: log.record)
        #expect(result.imageID == "sha256:e34bf3857174eac58f85af6991d8aa5cd0112524d18122b51bc8a5ae62e78897")
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(target(request) == "/v1.41/build?version=2&t=app%3A1&t=registry%3A5000%2Fapp%3A1"
            + "&dockerfile=.strata%2FDockerfile"
            + "&buildargs=%7B%22A%22%3A%22x%20y%26z%22%2C%22B%22%3A%222%22%7D"
            + "&labels=%7B%22dev.strata.key%22%3A%22k%22%7D"
            + "&target=final&platform=linux%2Famd64&networkmode=host&nocache=1&rm=1&forcerm=1&pull=0")
        #expect(request.headers["Content-Type"] == "application/x-tar")
        #expect(request.lowSpeedLimit == HTTPTimeouts().buildIdleLimit)
        guard case .bytes([1, 2, 3]) = request.body else { Issue.record("the context was not sent as given"); return }
        #expect(log.steps.contains { $0.name == "[3/3] RUN cat /x && echo built" && $0.completed })
    }

    @Test func aFailedBuildThrowsBuildFailure() async throws {
        let stream = try Fixture.bytes("buildkit-stream-failed.jsonl")
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: FakeTransport { _ in HTTPResponse(status: 200, body: stream) })
        await #expect(throws: BuildFailure(
            step: "[2/2] RUN echo about to fail && exit 3",
            message: "executor failed running [/bin/sh -c echo about to fail && exit 3]: exit code: 3",
            logs: ["about to fail"])) {
            try await engine.build(context: .tar(.empty), options: BuildOptions(tags: [], dockerfile: "Dockerfile"), events: { _ in })
        }
    }

    @Test func anEngineWithoutBuildKitSaysSo() async throws {
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: FakeTransport { _ in
            json(#"{"message":"buildkit not supported by daemon"}"#, status: 400)
        })
        await #expect {
            try await engine.build(context: .tar(.empty), options: BuildOptions(tags: [], dockerfile: "Dockerfile"), events: { _ in })
        } throws: { error in
            "\(error)" == "the Docker engine at unix:///fake.sock cannot run BuildKit builds "
                + "(buildkit not supported by daemon); upgrade Docker or enable BuildKit on it"
        }
    }

    @Test func aStreamWithoutAnImageIDIsAnError() async throws {
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: FakeTransport { _ in
            json(#"{"stream":"hello\n"}"#)
        })
        await #expect(throws: Engine.Error.unexpectedResponse(request: "POST /v1.41/build",
                                                              detail: "the build ended without an image ID")) {
            try await engine.build(context: .tar(.empty), options: BuildOptions(tags: [], dockerfile: "Dockerfile"), events: { _ in })
        }
    }

    @Test func inspectReadsTheImageAndMissingIsNil() async throws {
        let transport = FakeTransport { request in
            if target(request).contains("missing") { return json(#"{"message":"No such image: missing:1"}"#, status: 404) }
            return json(#"{"Id":"sha256:abc","RepoTags":null,"Size":1234,"Config":{"Labels":{"a":"b"}}}"#)
        }
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: transport)
        #expect(try await engine.inspectImage("localhost:5000/team/app:1 x") ==
            ImageInfo(id: "sha256:abc", size: 1234, repoTags: [], labels: ["a": "b"]))
        #expect(try await engine.inspectImage("missing:1") == nil)
        #expect(transport.requests.map(target) == ["/v1.41/images/localhost:5000/team/app:1%20x/json",
                                                   "/v1.41/images/missing:1/json"])
    }

    @Test(arguments: [
        ("app:1", "app", "1"), ("app", "app", "latest"), ("localhost:5000/app", "localhost:5000/app", "latest"),
        ("localhost:5000/team/app:v2", "localhost:5000/team/app", "v2"),
        ("app:1@sha256:abc", "app", "1"),
    ])
    func splitsReferencesAtTheTagColon(reference: String, repository: String, tag: String) {
        #expect(Engine.splitReference(reference) == (repository, tag))
    }

    @Test func tagAndRemove() async throws {
        let transport = FakeTransport { request in
            switch (request.method, target(request)) {
            case ("DELETE", let path) where path.contains("gone"): json(#"{"message":"No such image: gone:1"}"#, status: 404)
            case ("DELETE", let path) where path.contains("used"):
                json(#"{"message":"conflict: unable to remove repository reference \"used:1\" (must force) - container 0123 is using its referenced image 4567"}"#, status: 409)
            case ("POST", let path) where path.contains("nothing"): json(#"{"message":"No such image: nothing:1"}"#, status: 404)
            default: HTTPResponse(status: 201)
            }
        }
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: transport)
        try await engine.tagImage("sha256:abc", as: "localhost:5000/app:2")
        try await engine.removeImage("gone:1")
        await #expect {
            try await engine.removeImage("used:1")
        } throws: { error in
            "\(error)" == #"DELETE /v1.41/images/used:1: conflict: unable to remove repository reference "used:1" (must force) - container 0123 is using its referenced image 4567"#
        }
        await #expect(throws: Engine.Error.refused(request: "POST /v1.41/images/nothing:1/tag", status: 404,
                                                   message: "No such image: nothing:1")) {
            try await engine.tagImage("nothing:1", as: "x:1")
        }
        #expect(transport.requests.map { "\($0.method) \(target($0))" }.prefix(3) == [
            "POST /v1.41/images/sha256:abc/tag?repo=localhost%3A5000%2Fapp&tag=2",
            "DELETE /v1.41/images/gone:1?noprune=1",
            "DELETE /v1.41/images/used:1?noprune=1",
        ])
    }

    @Test func loadAndImportReadTheProgressStream() async throws {
        let transport = FakeTransport { request in
            if target(request).hasPrefix("/v1.41/images/load") {
                return json(#"{"stream":"Loaded image: app:1\n"}"# + "\n" + #"{"stream":"Loaded image ID: sha256:abc\n"}"#)
            }
            if target(request).contains("repo=bad") {
                return json(#"{"errorDetail":{"message":"archive/tar: invalid tar header"},"error":"archive/tar: invalid tar header"}"#)
            }
            return json(#"{"status":"sha256:def"}"#)
        }
        let engine = Engine(endpoint: socket, apiVersion: "1.41", transport: transport)
        let directory = try TemporaryDirectory()
        let archive = try directory.file("images.tar", "tar")
        #expect(try await engine.loadImages(from: archive) == ["app:1", "sha256:abc"])
        #expect(try await engine.importImage(tarballPath: archive, reference: "base:1") == "sha256:def")
        await #expect(throws: Engine.Error.failed(request: "POST /v1.41/images/create", message: "archive/tar: invalid tar header")) {
            try await engine.importImage(tarballPath: archive, reference: "bad:1")
        }
        await #expect(throws: Engine.Error.self) {
            try await engine.loadImages(from: "\(directory.path)/missing.tar")
        }
        #expect(transport.requests.map(target).prefix(2) == [
            "/v1.41/images/load?quiet=1", "/v1.41/images/create?fromSrc=-&repo=base&tag=1",
        ])
    }

    @Test func errorDescriptionsAreOneLineAndNameTheRequest() {
        let errors: [Engine.Error] = [
            .invalidHost("tcp://", source: "DOCKER_HOST", reason: "it names no host"),
            .unreadableDockerConfig(path: "/h/.docker/config.json", reason: "invalid JSON"),
            .unreadableContext(name: "x", path: "/m.json", reason: "no such context"),
            .unreachable(host: "unix:///var/run/docker.sock", reason: "connection refused"),
            .unreachable(host: "unix:///var/run/docker.sock", reason: "permission denied"),
            .apiTooOld(host: "h", version: "1.40", minimum: "1.41"),
            .noBuildKit(host: "h", message: "m"),
            .refused(request: "GET /v1.41/images/x/json", status: 500, message: "boom"),
            .conflict(request: "DELETE /v1.41/images/x", message: "in use"),
            .failed(request: "POST /v1.41/images/load", message: "bad tar"),
            .transfer(request: "POST /v1.41/build", reason: "Failure when receiving data from the peer"),
            .unexpectedResponse(request: "GET /version", detail: "no ApiVersion in the answer"),
            .file(path: "/x.tar", reason: "cannot read it"),
        ]
        for error in errors {
            #expect(!error.description.contains("\n"))
        }
        #expect(errors[0].description == "DOCKER_HOST names tcp://, which strata cannot use: it names no host; "
            + "use unix:///path/to/docker.sock or tcp://host:port")
        #expect(errors[3].description
            == "no Docker engine at unix:///var/run/docker.sock: connection refused; start dockerd or set DOCKER_HOST")
        #expect(errors[4].description == "no Docker engine at unix:///var/run/docker.sock: permission denied; "
            + "check that you may use the socket (the docker group) or set DOCKER_HOST")
        #expect(errors[7].description == "GET /v1.41/images/x/json: HTTP 500: boom")
    }
}
