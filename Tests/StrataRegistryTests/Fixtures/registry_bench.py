#!/usr/bin/env python3
"""Extra registries for StrataRegistryTests, each living as long as its stdin.

Usage:
  registry_bench.py htpasswd USER PASSWORD   a docker-registry with htpasswd (Basic) auth
  registry_bench.py token USER PASSWORD      a docker-registry with token auth, and its token server
  registry_bench.py proxy UPSTREAM SEED RATE a fault-injecting proxy in front of UPSTREAM (host:port)

Prints one line `ready {json}` on stdout once everything answers:
  {"registry": "127.0.0.1:PORT", "token": "http://127.0.0.1:PORT"}
and stops everything it started when stdin closes (the test process ended or
closed the pipe), so nothing outlives the tests.

Token server (docker token authentication spec): GET /token?service=&scope=…
with optional Basic credentials. Valid credentials get every action asked for;
anonymous requests get `pull` only; wrong credentials get 401. Tokens are
RS256 JWTs with an x5c header holding a self-signed certificate that the
registry trusts (rootcertbundle). GET /log returns the requests seen:
[{"user", "scopes"}].

Fault proxy: forwards HTTP/1.1 requests to UPSTREAM; on RATE of them (a
seeded random sequence) it fails instead: 500, 429 with Retry-After: 0, or a
dropped connection, all before the upstream sees the request; GET responses
may also be cut in the middle of their body. GET /__faults returns the counts.
"""
import base64
import datetime
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except urllib.error.HTTPError:
            return True  # 401 answers too
        except Exception:
            time.sleep(0.05)
    return False


def start_registry(workdir, auth_yaml):
    port = free_port()
    config = os.path.join(workdir, "config.yml")
    with open(config, "w") as f:
        f.write(f"""version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {workdir}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: strata-test-secret
{auth_yaml}""")
    log = open(os.path.join(workdir, "registry.log"), "w")
    process = subprocess.Popen(["docker-registry", "serve", config], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    if not wait_http(f"http://127.0.0.1:{port}/v2/"):
        process.kill()
        sys.stderr.write(open(os.path.join(workdir, "registry.log")).read())
        raise SystemExit("docker-registry did not answer")
    return process, f"127.0.0.1:{port}"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(self, workdir, user, password):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.user, self.password = user, password
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strata-test-token-issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = os.path.join(workdir, "token-cert.pem")
        with open(self.bundle, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))
        self.der = self.cert.public_bytes(serialization.Encoding.DER)
        self.log = []
        self.lock = threading.Lock()

    def sign(self, claims):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.der).decode()]}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


def token_handler(issuer, service):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/log":
                with issuer.lock:
                    return self.reply(200, issuer.log)
            query = parse_qs(url.query)
            user = None
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                pair = base64.b64decode(header[6:]).decode()
                name, _, password = pair.partition(":")
                if (name, password) != (issuer.user, issuer.password):
                    # A careless server echoing the credentials: the client must redact them.
                    return self.reply(401, {"details": f"bad credentials {header} for {name}"})
                user = name
            scopes = query.get("scope", [])
            with issuer.lock:
                issuer.log.append({"user": user, "scopes": scopes})
            access = []
            for scope in " ".join(scopes).split():
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                granted = actions.split(",") if user else [a for a in actions.split(",") if a == "pull"]
                access.append({"type": kind, "name": name, "actions": granted})
            now = int(time.time())
            claims = {
                "iss": "strata-test-issuer", "sub": user or "", "aud": service, "exp": now + 300,
                "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access,
            }
            # Alternate the two field names the spec allows.
            field = "token" if len(issuer.log) % 2 else "access_token"
            self.reply(200, {field: issuer.sign(claims), "expires_in": 300})

    return Handler


class Faults:
    def __init__(self, seed, rate):
        self.random = random.Random(seed)
        self.rate = rate
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "500": 0, "429": 0, "drop": 0, "cut": 0}

    def decide(self, method):
        with self.lock:
            self.counts["requests"] += 1
            if self.random.random() >= self.rate:
                return None
            kinds = ["500", "429", "drop"] + (["cut"] if method == "GET" else [])
            kind = self.random.choice(kinds)
            self.counts[kind] += 1
            return kind


def proxy_handler(upstream, faults):
    host, port = upstream.split(":")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def read_body(self):
            length = self.headers.get("Content-Length")
            if length is not None:
                return self.rfile.read(int(length))
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return b""

        def handle_any(self):
            body = self.read_body()
            if self.path == "/__faults":
                data = json.dumps(faults.counts).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            fault = faults.decide(self.command)
            if fault in ("500", "429"):
                data = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
                self.send_response(int(fault))
                if fault == "429":
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            connection = http.client.HTTPConnection(host, int(port), timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection")}
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            connection.request(self.command, self.path, body=body if body else None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            connection.close()
            self.send_response(response.status)
            for name, value in response.getheaders():
                # A HEAD answer keeps the upstream's Content-Length: the size of what GET would send.
                if name.lower() not in ("transfer-encoding", "connection") and (
                    self.command == "HEAD" or name.lower() != "content-length"
                ):
                    self.send_header(name, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if fault == "cut" and len(data) > 1:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    mode = sys.argv[1]
    workdir = tempfile.mkdtemp(prefix="strata-registry-bench-")
    process = None
    try:
        if mode == "htpasswd":
            user, password = sys.argv[2], sys.argv[3]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import crypt  # glibc's bcrypt; gone in Python 3.13, where apache2-utils' htpasswd -B would do
            # Cost 4: distribution checks the bcrypt hash on every request.
            hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
            with open(os.path.join(workdir, "htpasswd"), "w") as f:
                f.write(f"{user}:{hashed}\n")
            process, registry = start_registry(
                workdir, f"auth:\n  htpasswd:\n    realm: strata-test\n    path: {workdir}/htpasswd\n")
            ready = {"registry": registry}
        elif mode == "token":
            user, password = sys.argv[2], sys.argv[3]
            issuer = TokenIssuer(workdir, user, password)
            service = "strata-test-registry"
            server = serve(token_handler(issuer, service))
            token_url = f"http://127.0.0.1:{server.server_address[1]}"
            process, registry = start_registry(
                workdir,
                "auth:\n  token:\n"
                f"    realm: {token_url}/token\n    service: {service}\n"
                f"    issuer: strata-test-issuer\n    rootcertbundle: {issuer.bundle}\n")
            ready = {"registry": registry, "token": token_url}
        elif mode == "proxy":
            upstream, seed, rate = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
            server = serve(proxy_handler(upstream, Faults(seed, rate)))
            ready = {"registry": f"127.0.0.1:{server.server_address[1]}"}
        else:
            raise SystemExit(f"unknown mode {mode}")
        print("ready " + json.dumps(ready), flush=True)
        sys.stdin.read()
    finally:
        if process:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
