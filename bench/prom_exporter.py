#!/usr/bin/env python3
"""bench/prom_exporter.py SERIES — a tiny Prometheus exporter for bench/prom_bench.lua.

Serves SERIES series (20 metric names x SERIES/20 pods, labels pod and zone,
values that differ per series) in the text exposition format at /metrics on
127.0.0.1, on a free port it prints on its first line. It runs until killed
(the bench kills it by the PID it started)."""
import http.server
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
names = 20
lines = []
for m in range(names):
    name = "vcli_bench_metric_%02d" % m
    lines.append("# HELP %s A series of vcli's Prometheus bench." % name)
    lines.append("# TYPE %s gauge" % name)
    for p in range((n + names - 1) // names):
        if m * ((n + names - 1) // names) + p >= n:
            break
        lines.append('%s{pod="web-%05d",zone="zone-%d"} %d.%03d' % (name, p, p % 3, m * 1000 + p, p % 1000))
body = ("\n".join(lines) + "\n").encode()


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path != "/metrics":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
