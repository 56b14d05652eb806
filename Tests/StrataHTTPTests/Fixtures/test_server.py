#!/usr/bin/env python3
"""A small HTTP/1.1 server for StrataHTTPTests.

Usage: test_server.py            listen on 127.0.0.1, random port
       test_server.py --unix P   listen on the unix socket P
       test_server.py --tls DIR  https on 127.0.0.1 with DIR/server.pem and
                                 DIR/server-key.pem, requiring a client
                                 certificate signed by DIR/ca.pem
Prints "ready PORT" (or "ready P") on stdout once it accepts connections.

Endpoints:
  GET  /hello               200 "hello"
  ANY  /echo                200 JSON {method, path, headers, body}
  ANY  /count               reads the body (Content-Length or chunked), 200 JSON {count, sha256, adler32, chunked}
  GET  /lines?n=N&delay=S   N lines "line I", chunked, one flush per line, S seconds apart
  GET  /gated               line "first", then waits (30 s at most) for GET /open, then line
                            "opened" (or "timed out") and the end
  GET  /open                opens the gate of /gated
  GET  /stats               200 JSON {aborted}: how many /lines streams the client cut short
  GET  /missing             404 {"message": "no such image: nope:1"}
  GET  /unauthorized        401, the body echoes the Authorization header (a careless server)
  GET  /busy                503 with Retry-After: 7
  GET  /stall               sends headers, then nothing for 60 s
  ANY  /silent              reads the request, then sends nothing for 60 s
  ANY  /cut-head            sends part of a 202's headers and closes the connection
  ANY  /cut-body            announces 100 bytes, sends 3 and closes the connection
"""
import hashlib
import json
import signal
import socketserver
import ssl
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


ABORTED = 0
GATE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body, content_type="application/json", extra=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def body_chunks(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            remaining = int(length)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return
                remaining = size
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    remaining -= len(chunk)
                    yield chunk
                self.rfile.readline()

    def handle_any(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/hello":
            self.reply(200, b"hello", "text/plain")
        elif url.path == "/echo":
            body = b"".join(self.body_chunks())
            self.reply(200, {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
        elif url.path == "/count":
            digest = hashlib.sha256()
            adler = 1
            count = 0
            for chunk in self.body_chunks():
                count += len(chunk)
                digest.update(chunk)
                adler = zlib.adler32(chunk, adler)
            self.reply(200, {"count": count, "sha256": digest.hexdigest(), "adler32": adler,
                             "chunked": "Content-Length" not in self.headers})
        elif url.path == "/lines":
            n = int(query.get("n", ["3"])[0])
            delay = float(query.get("delay", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for i in range(n):
                    line = json.dumps({"stream": "line %d" % i}).encode() + b"\r\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                    time.sleep(delay)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                global ABORTED
                ABORTED += 1
                self.close_connection = True
        elif url.path == "/gated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for text in ["first", None]:
                if text is None:
                    text = "opened" if GATE.wait(30) else "timed out"
                line = json.dumps({"stream": text}).encode() + b"\r\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/open":
            GATE.set()
            self.reply(200, {"open": True})
        elif url.path == "/stats":
            self.reply(200, {"aborted": ABORTED})
        elif url.path == "/missing":
            self.reply(404, {"message": "no such image: nope:1"})
        elif url.path == "/unauthorized":
            self.reply(401, {"message": "bad credentials: " + self.headers.get("Authorization", "")})
        elif url.path == "/busy":
            self.reply(503, b"try later", "text/plain", [("Retry-After", "7")])
        elif url.path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
        elif url.path == "/silent":
            time.sleep(60)
        elif url.path in ("/cut-head", "/cut-body"):
            raw = (b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nDocker-Upl" if url.path == "/cut-head"
                   else b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
            self.wfile.write(raw)
            self.wfile.flush()
            self.close_connection = True
        else:
            self.reply(404, b"no route", "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "42")
        self.send_header("Docker-Content-Digest", "sha256:abc")
        self.end_headers()


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    # The test runner blocks signals and its children inherit the mask; unblock
    # them so the server dies with its test.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    if len(sys.argv) == 3 and sys.argv[1] == "--unix":
        server = UnixServer(sys.argv[2], Handler)
        print("ready", sys.argv[2], flush=True)
    else:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if len(sys.argv) == 3 and sys.argv[1] == "--tls":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2] + "/server.pem", sys.argv[2] + "/server-key.pem")
            context.load_verify_locations(sys.argv[2] + "/ca.pem")
            context.verify_mode = ssl.CERT_REQUIRED
            server.socket = context.wrap_socket(server.socket, server_side=True)
        print("ready", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
