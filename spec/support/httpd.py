#!/usr/bin/env python3
"""A small HTTP/HTTPS server for spec/net_spec.lua (Python 3 stdlib only).

    httpd.py [--cert server.crt --key server.key [--client-ca client-ca.crt]] [--parent PID]

Listens on 127.0.0.1 with ports the kernel picks, and prints one JSON line
{"http": port, "https": port, "mtls": port} once it accepts connections
(https/mtls only when given certificates; mtls requires a client certificate
signed by --client-ca). Stop it by its PID.

Endpoints (all ports):
  /hello                     "hello\\n", header X-Hello: world
  /echo                      JSON {method, path, headers, body, client_port, sni}
  /status/<n>?retry_after=s  status n, optional Retry-After
  /chunked?n=5&delay_ms=100  chunked body: n pieces "chunk <i>\\n", delay_ms apart
  /split?lines=10&size=7&delay_ms=20&tail=1
                             chunked body "line 1\\n…line N\\n" cut into size-byte
                             pieces regardless of newlines (tail=1: last line has no \\n)
  /slow?after=10&headers=1   sends `after` bytes of a 1000-byte body, then stalls
                             (headers=0: stalls before the headers)
  /drop?chunked=0            promises 1000 bytes (or chunks), sends 100, closes
  /big?mb=N                  N MiB body, Content-Length set
  /gzip                      a gzip-encoded body when the client accepts it
  /gzipbomb?mb=N             gzip of N MiB of zeros (about N KiB on the wire)
  /bighead?kb=N              N KiB of response headers (X-Pad-i, 1 KiB each)
  /noline?mb=N               chunked body of N MiB with no line break
  /whoami                    the client certificate's CN (mtls port)
"""
import argparse
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK, 40 ms per keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        # TLS handshakes happen here, in the connection's thread, so one stuck
        # or rejected client never blocks the accept loop.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def q(self, name, default):
        v = self.query.get(name)
        return type(default)(v[0]) if v else default

    def send_body(self, status, body, ctype="text/plain", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def handle_any(self):
        u = urlparse(self.path)
        self.query = parse_qs(u.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        p = u.path
        if p == "/hello":
            return self.send_body(200, b"hello\n", extra={"X-Hello": "world"})
        if p == "/echo":
            out = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "client_port": self.client_address[1],
                "sni": getattr(self.request, "sni", None),
            }
            return self.send_body(200, json.dumps(out).encode(), "application/json")
        if p.startswith("/status/"):
            n = int(p.split("/")[2])
            extra = {}
            ra = self.q("retry_after", "")
            if ra:
                extra["Retry-After"] = ra
            return self.send_body(n, b"status %d\n" % n, extra=extra)
        if p in ("/chunked", "/split"):
            delay = self.q("delay_ms", 100 if p == "/chunked" else 20) / 1000.0
            if p == "/chunked":
                pieces = [b"chunk %d\n" % i for i in range(1, self.q("n", 5) + 1)]
            else:
                text = b"".join(b"line %d\n" % i for i in range(1, self.q("lines", 10) + 1))
                if self.q("tail", 0):
                    text += b"tail without newline"
                size = self.q("size", 7)
                pieces = [text[i:i + size] for i in range(0, len(text), size)]
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for i, piece in enumerate(pieces):
                if i:
                    time.sleep(delay)
                self.chunk(piece)
            self.wfile.write(b"0\r\n\r\n")
            return
        if p == "/slow":
            if not self.q("headers", 1):
                time.sleep(30)
                return
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * self.q("after", 10))
            self.wfile.flush()
            time.sleep(30)
            self.close_connection = True
            return
        if p == "/drop":
            self.send_response(200)
            if self.q("chunked", 0):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.chunk(b"y" * 100)
            else:
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"y" * 100)
            self.wfile.flush()
            self.close_connection = True
            self.request.shutdown(socket.SHUT_RDWR)
            return
        if p == "/big":
            total = int(float(self.q("mb", "1")) * (1 << 20))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            block = (b"0123456789abcdef" * 4096)  # 64 KiB
            sent = 0
            try:
                while sent < total:
                    n = min(len(block), total - sent)
                    self.wfile.write(block[:n])
                    sent += n
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        if p == "/gzip":
            plain = b"compressed hello\n" * 100
            if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                return self.send_body(200, gzip.compress(plain), extra={"Content-Encoding": "gzip"})
            return self.send_body(200, plain)
        if p == "/gzipbomb":
            mb = self.q("mb", 64)
            z = gzip.compress(b"\0" * (mb << 20), compresslevel=9)
            return self.send_body(200, z, extra={"Content-Encoding": "gzip"})
        if p == "/bighead":
            self.send_response(200)
            for i in range(self.q("kb", 2048)):
                self.send_header("X-Pad-%d" % i, "p" * 1000)
            self.send_header("Content-Length", "3")
            try:
                self.end_headers()
                self.wfile.write(b"ok\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        if p == "/noline":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"z" * (64 << 10)
            try:
                for _ in range(self.q("mb", 20) * 16):
                    self.chunk(block)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        if p == "/whoami":
            cert = self.request.getpeercert() if isinstance(self.request, ssl.SSLSocket) else None
            cn = ""
            for rdn in (cert or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
            return self.send_body(200, (cn or "anonymous").encode() + b"\n")
        return self.send_body(404, b"not found\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128   # the default 5 drops SYNs from bursts of clients: 1 s retransmits

    def handle_error(self, request, client_address):
        pass  # rejected handshakes and dropped clients are what the specs provoke


def tls_server(args, client_ca, handler=None):
    """A TLS server on a free loopback port (mTLS with client_ca); prom_echo.py shares it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)

    def remember_sni(sock, name, _ctx):
        sock.sni = name

    ctx.sni_callback = remember_sni
    srv = Server(("127.0.0.1", 0), handler or Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    return srv


def watch_parent(pid):
    # A spec run that dies (or fails before its after_all) must not leave us behind.
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    ap.add_argument("--parent", type=int, help="exit when this process is gone")
    args = ap.parse_args()
    if args.parent:
        threading.Thread(target=watch_parent, args=(args.parent,), daemon=True).start()
    servers = {"http": Server(("127.0.0.1", 0), Handler)}
    if args.cert:
        servers["https"] = tls_server(args, None)
        if args.client_ca:
            servers["mtls"] = tls_server(args, args.client_ca)
    for srv in servers.values():
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(json.dumps({k: s.server_address[1] for k, s in servers.items()}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
