#!/usr/bin/env python3
"""A minimal token server for docker-registry's `auth: token` (the Docker/OCI bearer-token flow).

usage: registry-token-server.py PORT KEY.pem CERT.pem ISSUER SERVICE USER PASSWORD LOGFILE [UPSTREAM]
Answers GET /token?service=…&scope=…(&scope=…) with an RS256 JWT granting exactly the scopes
asked for, if the request carries the right basic credentials (anonymous requests get pull-only
tokens). The x5c header carries the certificate, which the registry checks against its
rootcertbundle. Every request is appended to LOGFILE (scopes, whether credentials came).
With UPSTREAM ("127.0.0.1:PORT" of the registry), every other request is passed on to it, Host
header and all: the registry and its token service are then one origin, as behind one front end."""
import base64, http.client, json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, key_path, cert_path, issuer, service, user, password, logfile = sys.argv[1:9]
upstream = sys.argv[9] if len(sys.argv) > 9 else None
HOP = {"connection", "keep-alive", "expect", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
key = serialization.load_pem_private_key(open(key_path, "rb").read(), password=None)
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def proxy(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        conn = http.client.HTTPConnection(upstream, timeout=120)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():  # repeated headers (Accept) stay repeated
            if k.lower() not in HOP:
                conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():  # a HEAD keeps the upstream's Content-Length
            if k.lower() not in HOP and (k.lower() != "content-length" or self.command == "HEAD"):
                self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    def do_GET(self):
        if upstream and not self.path.startswith("/token"):
            return self.proxy()
        url = urlparse(self.path)
        q = parse_qs(url.query)
        authed = False
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if u != user or p != password:
                self.send_response(401)
                self.end_headers()
                return
            authed = True
        access = []
        for scope in q.get("scope", []):
            typ, name, actions = scope.split(":")
            acts = actions.split(",")
            if not authed:
                acts = [a for a in acts if a == "pull"]
            access.append({"type": typ, "name": name, "actions": acts})
        with open(logfile, "a") as f:
            f.write(json.dumps({"scopes": q.get("scope", []), "authed": authed}) + "\n")
        now = int(time.time())
        token = sign({"iss": issuer, "sub": user if authed else "", "aud": q.get("service", [service])[0],
                      "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access})
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


for m in ("HEAD", "POST", "PUT", "PATCH", "DELETE"):
    setattr(Handler, "do_" + m, Handler.proxy)
ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
