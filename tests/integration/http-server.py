#!/usr/bin/env python3
"""A small HTTP server for baker's fetch and http tests, on 127.0.0.1.

Serves files from --root with Range support, and misbehaves on request, by path:
  /files/NAME                  the file (200, or 206 for "Range: bytes=N-")
  /norange/NAME                the file, ignoring Range (always 200)
  /status/CODE/NAME            always CODE
  /flaky/CODE/N/NAME           CODE for the first N requests of this path (429 carries
                               "Retry-After: 1"; the others leave the wait to the client's
                               backoff), then the file
  /cut/BYTES/NAME              first request: full Content-Length, BYTES bytes, connection closed;
                               later requests: the file (Range honoured)
  /cutnorange/BYTES/NAME       the same, but later requests ignore Range
  /redirect/NAME               302 to /files/NAME
  /slow/MS/NAME                the file, after waiting MS milliseconds (a bake that takes a while)
Every request is appended to --log as "METHOD PATH RANGE-OR-DASH". The chosen port is written to
--port-file once the server listens (use --port 0 for a free one).
"""
import argparse
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def record(self):
        with lock:
            with open(self.server.log, "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

    def count(self):
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            return counts[self.path]

    def send_status(self, code, extra=None):
        body = ("status %d\n" % code).encode()
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_file(self, name, honour_range=True, cut=None):
        path = os.path.join(self.server.root, name)
        if "/" in name or not os.path.isfile(path):
            return self.send_status(404)
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "") or "")
        if honour_range and m:
            start = int(m.group(1))
            if start >= len(data):
                return self.send_status(416, {"Content-Range": "bytes */%d" % len(data)})
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut is not None:
            self.wfile.write(data[start:start + cut])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(data[start:])

    def do_GET(self):
        self.record()
        parts = self.path.lstrip("/").split("/")
        kind = parts[0]
        if kind == "files" and len(parts) == 2:
            return self.send_file(parts[1])
        if kind == "norange" and len(parts) == 2:
            return self.send_file(parts[1], honour_range=False)
        if kind == "status" and len(parts) == 3:
            return self.send_status(int(parts[1]))
        if kind == "flaky" and len(parts) == 4:
            code, n = int(parts[1]), int(parts[2])
            if self.count() <= n:
                extra = {"Retry-After": "1"} if code == 429 else {}
                return self.send_status(code, extra)
            return self.send_file(parts[3])
        if kind == "cut" and len(parts) == 3:
            first = self.count() == 1
            return self.send_file(parts[2], cut=int(parts[1]) if first else None)
        if kind == "cutnorange" and len(parts) == 3:
            first = self.count() == 1
            return self.send_file(parts[2], honour_range=False, cut=int(parts[1]) if first else None)
        if kind == "slow" and len(parts) == 3:
            time.sleep(int(parts[1]) / 1000.0)
            return self.send_file(parts[2])
        if kind == "redirect" and len(parts) == 2:
            self.send_response(302)
            self.send_header("Location", "/files/" + parts[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_status(404)

    do_HEAD = do_GET


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.root, srv.log = a.root, a.log
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
