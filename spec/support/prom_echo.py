#!/usr/bin/env python3
"""A Prometheus-shaped HTTP(S) server that says what it was asked, for
spec/prom_client_spec.lua (Python 3 stdlib only).

    prom_echo.py [--cert server.crt --key server.key --client-ca client-ca.crt]

Listens on 127.0.0.1 on ports the kernel picks and prints one JSON line
{"http": port, "https": port, "mtls": port} once it accepts connections
(https and mtls only with certificates; mtls requires a client certificate
signed by --client-ca). Stop it by its PID.

Every request is recorded: {method, path, query, headers, body, sni, cn, at}
(at: milliseconds on a monotonic clock; cn: the client certificate's CN).
The first segment of the path is a scenario, the rest Prometheus's API path
(`prom … --url http://127.0.0.1:PORT/ok`):

  /ok/api/v1/query       200: a string result whose value is the request, as JSON
                         (`prom query X` prints what the server was asked)
  /ok/api/v1/…           200: data = [the request, as JSON] (`prom labels` prints it)
  /ok/api/v1/query_range 200: an empty matrix
  /flaky-<id>/…          503 "overloaded, try later" twice (per id), then as /ok
  /reset-<id>/…          closes the connection without an answer twice (per id), then as /ok
  /slow/…                503 with Prometheus's timeout error
  /bad/…                 400 with Prometheus's bad_data error (a parse error at 1:5)
  /execution/…           422 with Prometheus's execution error
  /html/…                200 with an HTML page
  /hang/…                no answer for 30 s
  /fivehundred/…         500 "internal error"
  /status-<n>/…          status n, body "status <n> body"
  /truncated/…           200 with JSON cut off in the middle
  /hits                  every request recorded so far, as a JSON list (not recorded)
"""
import argparse
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

hits = []
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def send(self, status, body, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        u = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if u.path == "/hits":
            with lock:
                return self.send(200, json.dumps(hits))
        cn = ""
        if isinstance(self.request, ssl.SSLSocket):
            for rdn in (self.request.getpeercert() or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
        parts = u.path.split("/", 2)
        scenario = parts[1] if len(parts) > 1 else ""
        api = "/" + parts[2] if len(parts) > 2 else "/"
        req = {
            "method": self.command, "path": u.path, "api": api, "query": parse_qs(u.query),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"), "form": parse_qs(body.decode("utf-8", "replace")),
            "sni": getattr(self.request, "sni", None), "cn": cn, "at": time.monotonic() * 1000,
        }
        with lock:
            hits.append(req)
            n = counts[scenario] = counts.get(scenario, 0) + 1
        if scenario.startswith("flaky-") and n <= 2:
            return self.send(503, "overloaded, try later\n", "text/plain")
        if scenario.startswith("reset-") and n <= 2:
            self.close_connection = True
            return
        if scenario == "slow":
            return self.send(503, json.dumps({"status": "error", "errorType": "timeout",
                                              "error": "query timed out in expression evaluation"}))
        if scenario == "bad":
            return self.send(400, json.dumps({"status": "error", "errorType": "bad_data",
                                              "error": 'invalid parameter "query": 1:5: parse error: unexpected end of input'}))
        if scenario == "execution":
            return self.send(422, json.dumps({"status": "error", "errorType": "execution",
                                              "error": "many-to-many matching not allowed"}))
        if scenario == "html":
            return self.send(200, "<html><body>a login page</body></html>\n", "text/html")
        if scenario == "hang":
            time.sleep(30)
            self.close_connection = True
            return
        if scenario == "fivehundred":
            return self.send(500, "internal error\n", "text/plain")
        if scenario.startswith("status-"):
            n = int(scenario.split("-", 1)[1])
            return self.send(n, "status %d body\n" % n, "text/plain")
        if scenario == "truncated":
            return self.send(200, '{"status":"success","data":{"resultType":"vector","result":[{"metric":')
        text = json.dumps(req, sort_keys=True)
        if api == "/api/v1/query":
            data = {"resultType": "string", "result": [time.time(), text]}
        elif api == "/api/v1/query_range":
            data = {"resultType": "matrix", "result": []}
        else:
            data = [text]
        return self.send(200, json.dumps({"status": "success", "data": data}))

    do_GET = do_POST = handle_any


# the loopback server and its TLS set-up are spec/support/httpd.py's
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from httpd import Server, tls_server as _tls_server  # noqa: E402


def tls_server(args, client_ca):
    return _tls_server(args, client_ca, Handler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    args = ap.parse_args()
    servers = {"http": Server(("127.0.0.1", 0), Handler)}
    if args.cert:
        servers["https"] = tls_server(args, None)
        servers["mtls"] = tls_server(args, args.client_ca)
    for s in servers.values():
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(json.dumps({k: s.server_address[1] for k, s in servers.items()}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
