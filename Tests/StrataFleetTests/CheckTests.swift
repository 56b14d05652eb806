import Foundation
import Testing
@testable import StrataFleet

/// Every rule of `strata check` with a fleet that triggers it and one that does not.
@Suite struct CheckTests {
    /// Checks a fleet made of `files` (with a `strata.yaml` among them) and returns the
    /// findings of `rule`.
    static func findings(_ rule: String, _ files: [String: String]) throws -> [Finding] {
        let tree = try TempTree(files)
        let fleet = try Fleet.load(path: tree.path("strata.yaml"))
        return Checker.check(fleet).filter { $0.rule == rule }
    }

    static let healthy = "RUN adduser -D app\nUSER app\nHEALTHCHECK CMD true\n"

    @Test func undefinedArgInRun() throws {
        let bad = try Self.findings("undefined-arg", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "FROM scratch\nARG MACHINE\nRUN echo $MACHINE\n",
        ])
        #expect(bad.count == 1)
        #expect(bad.first?.location == SourceLocation(file: "svc/Dockerfile", line: 3))
        #expect(bad.first?.message == "ARG MACHINE is used but has no value (declared on line 2 without a default)")
        for good in [
            ["strata.yaml": "images:\n  svc: {context: svc, args: {MACHINE: pc}}\n", "svc/Dockerfile": "FROM scratch\nARG MACHINE\nRUN echo $MACHINE\n"],
            ["strata.yaml": "images:\n  svc: {context: svc}\n", "svc/Dockerfile": "FROM scratch\nARG MACHINE=pc\nRUN echo $MACHINE\n"],
            ["strata.yaml": "images:\n  svc: {context: svc}\n", "svc/Dockerfile": "FROM scratch\nARG MACHINE\nRUN echo ${MACHINE:-none}\n"],
            ["strata.yaml": "images:\n  svc: {context: svc}\n", "svc/Dockerfile": "ARG MACHINE=pc\nFROM scratch\nARG MACHINE\nRUN echo $MACHINE\n"],
            ["strata.yaml": "images:\n  svc: {context: svc}\n", "svc/Dockerfile": "FROM scratch\nARG TARGETARCH\nRUN echo $TARGETARCH $HOME\n"],
        ] {
            #expect(try Self.findings("undefined-arg", good).isEmpty)
        }
    }

    @Test func undefinedArgInFromAndPerVariant() throws {
        let fromLine = try Self.findings("undefined-arg", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "ARG BASE\nFROM ${BASE}:1\n",
        ])
        #expect(fromLine.map(\.line) == [2])
        let undeclared = try Self.findings("undefined-arg", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "FROM ${REGISTRY}/x:1\n",
        ])
        #expect(undeclared.first?.message == "FROM uses $REGISTRY, which no ARG before the first FROM declares")
        let variant = try Self.findings("undefined-arg", [
            "strata.yaml": "variants:\n  m:\n    a: {args: {CUDA: \"8.9\"}}\n    b: {}\nimages:\n  svc: {context: svc, variants: [m]}\n",
            "svc/Dockerfile": "FROM scratch\nARG CUDA\nRUN echo $CUDA\n",
        ])
        #expect(variant.first?.message == "ARG CUDA is used but has no value for svc@b (declared on line 2 without a default)")
    }

    @Test func explicitFromMustAgree() throws {
        let files = [
            "strata.yaml": "images:\n  a: {context: a}\n  b: {context: b}\n  c: {context: c, from: [a]}\n",
            "a/Dockerfile": "FROM scratch\n", "b/Dockerfile": "FROM scratch\n", "c/Dockerfile": "FROM b\n",
        ]
        let bad = try Self.findings("from-mismatch", files)
        #expect(bad.count == 1)
        #expect(bad.first?.line == 4)
        var good = files
        good["c/Dockerfile"] = "FROM a\n"
        #expect(try Self.findings("from-mismatch", good).isEmpty)
    }

    @Test func duplicateTags() throws {
        let bad = try Self.findings("duplicate-tag", [
            "strata.yaml": "images:\n  a: {context: a, tags: [\"1\", \"1\"]}\n",
            "a/Dockerfile": "FROM scratch\n",
        ])
        #expect(bad.first?.message == "tag '1' is listed twice for 'a'")
        let compose = try TempTree([
            "docker-compose.yml": "services:\n  a:\n    build: a\n    image: acme/x:1\n  b:\n    build: b\n    image: acme/x:1\n",
            "a/Dockerfile": "FROM scratch\n", "b/Dockerfile": "FROM scratch\n",
        ])
        let findings = Checker.check(try Fleet.load(path: compose.path("docker-compose.yml"))).filter { $0.rule == "duplicate-tag" }
        #expect(findings.first?.message == "'b' and 'a' would both push acme/x:1")
        #expect(try Self.findings("duplicate-tag", [
            "strata.yaml": "images:\n  a: {context: a, tags: [\"1\", \"2\"]}\n", "a/Dockerfile": "FROM scratch\n",
        ]).isEmpty)
    }

    @Test func exposedPortsCollideWithinAVariant() throws {
        let yaml = "variants:\n  m:\n    a: {}\n    b: {}\nimages:\n  x: {context: x, variants: [m]}\n  y: {context: y}\n"
        let bad = try Self.findings("port-collision", [
            "strata.yaml": yaml,
            "x/Dockerfile": "FROM scratch\nEXPOSE 8080\n" + Self.healthy,
            "y/Dockerfile": "FROM scratch\nEXPOSE 8080/tcp\n" + Self.healthy,
        ])
        // One finding per machine, naming the nodes.
        #expect(bad.map(\.node) == ["y", "y"])
        #expect(bad.map(\.message) == ["port 8080 is exposed by both 'y' and 'x@a' (x/Dockerfile:2)",
                                        "port 8080 is exposed by both 'y' and 'x@b' (x/Dockerfile:2)"])
        #expect(bad.first?.file == "y/Dockerfile")
        #expect(try Self.findings("port-collision", [
            "strata.yaml": yaml,
            "x/Dockerfile": "FROM scratch\nEXPOSE 8080\n", "y/Dockerfile": "FROM scratch\nEXPOSE 8081\n",
        ]).isEmpty)
    }

    @Test func copySourceMissingOrIgnored() throws {
        let missing = try Self.findings("missing-copy-source", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "FROM scratch\nCOPY app.py /app/\nCOPY src/*.py /src/\nCOPY requirments.txt /\n",
            "svc/app.py": "", "svc/requirements.txt": "",
        ])
        #expect(missing.map(\.line) == [3, 4])
        #expect(missing.last?.hint == "did you mean 'requirements.txt'?")
        let ignored = try Self.findings("ignored-copy-source", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "FROM scratch\nCOPY app.py /app/\nCOPY config/ /config/\nCOPY docs/ /docs/\n",
            "svc/.dockerignore": "# build outputs\n*.py\nconfig\ndocs/*.tmp\n",
            "svc/app.py": "", "svc/config/a.yaml": "", "svc/docs/a.md": "", "svc/docs/b.tmp": "",
        ])
        #expect(ignored.map(\.line) == [2, 3])
        #expect(ignored.first?.message == "COPY source 'app.py' is excluded by svc/.dockerignore:2 ('*.py')")
        #expect(try Self.findings("missing-copy-source", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "FROM scratch AS b\nCOPY . /all\nFROM b\nCOPY --from=b /all /x\nCOPY <<EOF /y\nhi\nEOF\nADD https://example.com/x /x\n",
        ]).isEmpty)
    }

    /// The content behind a URL is not keyed: `ADD <url>` without `--checksum` is said.
    @Test func anAddOfAURLWithoutAChecksumWarns() throws {
        let findings = try Self.findings("unpinned-url", [
            "strata.yaml": "images:\n  svc: {context: svc}\n",
            "svc/Dockerfile": "FROM scratch\nADD https://example.com/a.tgz /a\n"
                + "ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/b /b\n"
                + "ADD local.txt /c\n",
            "svc/local.txt": "c\n",
        ])
        #expect(findings.map(\.line) == [2])
        #expect(findings.first?.message == "ADD https://example.com/a.tgz has no --checksum: the build fetches whatever it serves then (strata keys what it served at plan time)")
    }

    @Test func serviceWarnings() throws {
        let files = [
            "strata.yaml": "images:\n  base: {context: base}\n  svc: {context: svc}\n",
            "base/Dockerfile": "FROM busybox\nENV API_TOKEN=abc\n",
            "svc/Dockerfile": "FROM base\nUSER root\n",
        ]
        let tree = try TempTree(files)
        let findings = Checker.check(try Fleet.load(path: tree.path("strata.yaml")))
        #expect(findings.filter { $0.severity == .warning }.map(\.rule).sorted()
                == ["latest-base", "no-healthcheck", "root-user", "secret-in-env"])
        #expect(findings.first { $0.rule == "root-user" }?.line == 2)
        #expect(findings.first { $0.rule == "latest-base" }?.location == SourceLocation(file: "base/Dockerfile", line: 1))
        let clean = try TempTree([
            "strata.yaml": "images:\n  base: {context: base}\n  svc: {context: svc}\n",
            "base/Dockerfile": "FROM busybox:1.36\nENV PUBLIC_KEY_PATH=/k\n",
            "svc/Dockerfile": "FROM base\n" + Self.healthy,
        ])
        #expect(Checker.check(try Fleet.load(path: clean.path("strata.yaml"))).isEmpty)
    }

    @Test func portsFromArgDefaultsDoNotCollide() throws {
        let files = [
            "strata.yaml": "images:\n  a: {context: a}\n  b: {context: b}\n",
            "a/Dockerfile": "FROM busybox:1\nARG PORT=8080\nEXPOSE ${PORT}\n" + Self.healthy,
            "b/Dockerfile": "FROM busybox:1\nARG PORT=9090\nEXPOSE ${PORT}\n" + Self.healthy,
        ]
        #expect(try Self.findings("port-collision", files).isEmpty)
        var same = files
        same["b/Dockerfile"] = "FROM busybox:1\nARG PORT=8080\nEXPOSE $PORT\n" + Self.healthy
        #expect(try Self.findings("port-collision", same).count == 1)
    }

    @Test func userAndHealthcheckAreInheritedFromStagesAndFleetParents() throws {
        let tree = try TempTree([
            "strata.yaml": "images:\n  family: {context: family}\n  svc: {context: svc}\n  staged: {context: staged}\n",
            "family/Dockerfile": "FROM busybox:1\nUSER app\nHEALTHCHECK CMD true\n",
            "svc/Dockerfile": "FROM family\nCOPY x /x\n",
            "svc/x": "",
            "staged/Dockerfile": "FROM busybox:1 AS base\nUSER app\nHEALTHCHECK CMD true\nFROM base\nEXPOSE 80\n",
        ])
        let findings = Checker.check(try Fleet.load(path: tree.path("strata.yaml")))
        #expect(findings.filter { $0.rule == "root-user" || $0.rule == "no-healthcheck" }.isEmpty, "\(findings)")
    }

    /// Findings made while resolving the fleet, each with the file and line it names.
    @Test(arguments: [
        ("unknown-variant", "images:\n  a: {context: a, variants: [machin]}\n", "FROM scratch\n", "strata.yaml", 2),
        ("unknown-parent", "images:\n  a:\n    context: a\n    from: [bsae]\n", "FROM scratch\n", "strata.yaml", 4),
        ("unknown-target", "images:\n  a:\n    context: a\n    target: runtime\n", "FROM scratch AS build\n", "strata.yaml", 4),
        ("dockerfile-syntax", "images:\n  a: {context: a}\n", "FROM scratch\nRUN <<EOF\necho\n", "a/Dockerfile", 3),
    ])
    func resolutionFindings(rule: String, yaml: String, dockerfile: String, file: String, line: Int) throws {
        let found = try Self.findings(rule, ["strata.yaml": yaml, "a/Dockerfile": dockerfile])
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.location == SourceLocation(file: file, line: line))
        #expect(found.first?.severity == .error)
        #expect(try Self.findings(rule, ["strata.yaml": "images:\n  a: {context: a}\n", "a/Dockerfile": "FROM scratch\n"]).isEmpty)
    }

    @Test(arguments: ["API_KEY", "db_password", "GITHUB_TOKEN", "AUTH", "SECRET_VALUE"])
    func secretNames(name: String) { #expect(CheckContext.looksSecret(name)) }

    @Test(arguments: ["PUBLIC_KEY", "KEYBOARD", "TOKENIZER_PATH", "PASSAGE", "MACHINE"])
    func notSecretNames(name: String) { #expect(!CheckContext.looksSecret(name)) }
}
