#!/usr/bin/env python3
"""Servers for test-registry-origins.sh: a registry on 127.0.0.1 that wants Basic credentials and
points elsewhere, and the "elsewhere" it points to.

usage: origin-servers.py PORT-FILE LOG USER PASSWORD
Listens on three origins and writes "REGISTRY OTHER REALM" ports to PORT-FILE:
  REGISTRY 127.0.0.1:P1  the registry; 401 Basic without the credentials. POST .../blobs/uploads/
                         answers 202 with a Location on OTHER; tags/list answers one tag and a
                         Link rel="next" on OTHER; repositories under "bearer/" answer 401 Bearer
                         with the realm on REALM, under "bearer-port/" with the realm on OTHER,
                         under "bearer-same/" with the realm on REGISTRY itself (/token), and
                         accept the token the realm gives.
  OTHER    127.0.0.1:P2  another origin (same host, another port): answers tags, refuses uploads,
                         and gives tokens at /token.
  REALM    127.0.0.2:P3  a token service on another host over plain http.
Every request is appended to LOG as JSON: which server, method, path, Authorization (yes/no)."""
import base64, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, logfile, user, password = sys.argv[1:5]
lock = threading.Lock()
good_basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
ports = {}


def make_handler(role):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            auth = self.headers.get("Authorization", "")
            with lock, open(logfile, "a") as f:
                f.write(json.dumps({"server": role, "method": self.command, "path": self.path,
                                    "auth": bool(auth), "basic": auth == good_basic}) + "\n")
            getattr(self, "as_" + role)(auth)

        def as_realm(self, auth):
            self.reply(200, json.dumps({"token": "realm-token"}).encode(), [("Content-Type", "application/json")])

        def as_other(self, auth):
            if self.path.startswith("/token"):
                return self.as_realm(auth)
            if "/tags/list" in self.path:
                self.reply(200, json.dumps({"name": "x", "tags": ["b"]}).encode(), [("Content-Type", "application/json")])
            else:
                self.reply(403, b'{"errors":[{"code":"DENIED","message":"not here"}]}')

        def as_registry(self, auth):
            p = self.path
            bearer = p.startswith("/v2/bearer")
            if p.startswith("/token"):
                return self.as_realm(auth)
            if bearer and auth != "Bearer realm-token":
                realm = {"/v2/bearer/": f'http://127.0.0.2:{ports["realm"]}/token',
                         "/v2/bearer-port/": f'http://127.0.0.1:{ports["other"]}/token',
                         "/v2/bearer-same/": f'http://127.0.0.1:{ports["registry"]}/token'}[p[:p.index("/", 4) + 1]]
                return self.reply(401, b"{}", [("WWW-Authenticate",
                                               f'Bearer realm="{realm}",service="s",scope="repository:bearer/x:pull"')])
            if not bearer and auth != good_basic:
                return self.reply(401, b"{}", [("WWW-Authenticate", 'Basic realm="r"')])
            other = f'http://127.0.0.1:{ports["other"]}'
            if self.command == "POST" and p.split("?")[0].endswith("/blobs/uploads/"):
                return self.reply(202, b"", [("Location", other + "/upload/session-1")])
            if "/tags/list" in p:
                repo = p[len("/v2/"):p.index("/tags/list")]
                return self.reply(200, json.dumps({"name": repo, "tags": ["a"]}).encode(),
                                  [("Content-Type", "application/json"),
                                   ("Link", f'<{other}/v2/{repo}/tags/list?last=a&n=1>; rel="next"')])
            self.reply(404, b'{"errors":[{"code":"NOT_FOUND","message":"nothing"}]}')

    for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        setattr(H, "do_" + m, H.handle_any)
    return H


servers = {}
for role, host in (("registry", "127.0.0.1"), ("other", "127.0.0.1"), ("realm", "127.0.0.2")):
    s = ThreadingHTTPServer((host, 0), make_handler(role))
    servers[role] = s
    ports[role] = s.server_address[1]
for s in servers.values():
    threading.Thread(target=s.serve_forever, daemon=True).start()
with open(port_file + ".tmp", "w") as f:
    f.write(f'{ports["registry"]} {ports["other"]} {ports["realm"]}\n')
import os
os.rename(port_file + ".tmp", port_file)
threading.Event().wait()
