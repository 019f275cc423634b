#!/usr/bin/env python3
"""Container usage series in cAdvisor's names, for Prometheus to scrape in
spec/k8s_top_spec.lua (Python 3 stdlib only): what a kubelet's /metrics/cadvisor
gives on a real node, for pods of the test cluster, which has no kubelet.

    cadvisor.py SPEC.json

SPEC.json: [{"namespace": "ns", "pod": "p", "container": "c", "cores": 0.25, "bytes": 67108864}, …]
(an entry with "node": "n" instead of namespace/pod/container is that node's root cgroup, id="/")
Serves /metrics on 127.0.0.1 (a port the kernel picks; one JSON line {"port": N}
once it accepts connections): container_cpu_usage_seconds_total, a counter that
grows by `cores` every second since start, and container_memory_working_set_bytes,
the gauge `bytes`. Stop it by its PID.
"""
import http.server
import json
import sys
import time

SPEC = json.load(open(sys.argv[1]))
START = time.time()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404)
            return
        # each sample stamped with the time its value is for (as cAdvisor stamps its own), so a
        # rate over two of them is exactly `cores`
        now_ms = int(time.time() * 1000)
        t = now_ms / 1000.0 - START
        lines = ["# TYPE container_cpu_usage_seconds_total counter",
                 "# TYPE container_memory_working_set_bytes gauge"]
        for s in SPEC:
            if "node" in s:   # a node's root cgroup, as a scrape labelled with its node sees it
                labels = 'id="/",node="%s"' % s["node"]
            else:
                labels = 'namespace="%s",pod="%s",container="%s"' % (s["namespace"], s["pod"], s["container"])
            lines.append("container_cpu_usage_seconds_total{%s} %.6f %d" % (labels, s["cores"] * t, now_ms))
            lines.append("container_memory_working_set_bytes{%s} %d %d" % (labels, s["bytes"], now_ms))
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
