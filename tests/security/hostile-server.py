#!/usr/bin/env python3
"""A registry and web server on 127.0.0.1 that never stops sending, for test-downloads.sh.

usage: hostile-server.py PORT-FILE LOG
  GET /endless                    200 without Content-Length, zeros until the client hangs up
  /v2/x/manifests/oversized       an image manifest with one layer declared as 4 bytes ("abcd")
  /v2/x/blobs/<that digest>       zeros, endlessly, whatever was declared
  /v2/x/manifests/big             one layer of 24 MiB, declared and served honestly
  /v2/x/tags/list                 1000 tags a page and a Link rel="next", forever
  /v2/many/tags/list              10,001 tags in 11 pages
LOG gets one JSON line per finished response: path and the body bytes written before the client
stopped reading."""
import hashlib, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, logfile = sys.argv[1:3]
lock = threading.Lock()
BIG = bytes(range(256)) * (24 * 4096)  # 24 MiB
SMALL = b"abcd"


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def manifest(layer, size):
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                   "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer, "size": size,
                    "annotations": {"org.opencontainers.image.title": "disk.raw"}}]}).encode()


MANIFESTS = {"oversized": manifest(digest(SMALL), 4), "big": manifest(digest(BIG), len(BIG))}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def record(self, sent):
        with lock, open(logfile, "a") as f:
            f.write(json.dumps({"path": self.path, "sent": sent}) + "\n")

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            self.close_connection = True
        self.record(len(body))

    def endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk, sent = b"\0" * 65536, 0
        try:
            while sent < 64 << 30:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        self.record(sent)
        self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        p = self.path.split("?")[0]
        if p == "/endless":
            return self.endless()
        if p == "/v2/":
            return self.reply(200, b"{}")
        if p.startswith("/v2/x/manifests/"):
            m = MANIFESTS.get(p.rsplit("/", 1)[1])
            if m is None:
                return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}')
            return self.reply(200, m, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                                       ("Docker-Content-Digest", digest(m))])
        if p == "/v2/x/blobs/" + digest(SMALL):
            return self.endless()
        if p == "/v2/x/blobs/" + digest(BIG):
            return self.reply(200, BIG)
        if p == "/v2/many/tags/list":  # 10,001 tags, 1000 a page
            q = self.path.partition("?")[2]
            last = int(dict(kv.split("=") for kv in q.split("&") if "=" in kv).get("last", "0"))
            tags = ["t%09d" % i for i in range(last + 1, min(last + 1001, 10002))]
            more = [("Link", '</v2/many/tags/list?n=1000&last=%d>; rel="next"' % (last + 1000))] if last + 1000 < 10001 else []
            return self.reply(200, json.dumps({"name": "many", "tags": tags}).encode(),
                              [("Content-Type", "application/json")] + more)
        if p == "/v2/x/tags/list":
            q = self.path.partition("?")[2]
            last = int(dict(kv.split("=") for kv in q.split("&") if "=" in kv).get("last", "0"))
            tags = ["t%09d" % i for i in range(last + 1, last + 1001)]
            return self.reply(200, json.dumps({"name": "x", "tags": tags}).encode(),
                              [("Content-Type", "application/json"),
                               ("Link", '</v2/x/tags/list?n=1000&last=%d>; rel="next"' % (last + 1000))])
        self.reply(404, b'{"errors":[{"code":"NOT_FOUND","message":"no"}]}')


s = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % s.server_address[1])
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
