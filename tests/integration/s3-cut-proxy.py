#!/usr/bin/env python3
"""A TCP proxy in front of an object store (S3, Azure, Glance) that lets the first PASS matching
uploads through untouched and then does FAULT to every later one, like a network or a server that
goes wrong during an upload. Everything else passes untouched.

usage: s3-cut-proxy.py LISTEN-PORT TARGET-PORT PASS [MATCH [FAULT [TIMES]]]
MATCH (default "partNumber=") picks the PUT requests counted: "comp=page" for Azure page writes,
"/file" for Glance image data. FAULT is one of
  cut          (default) forward 1 MiB of the body, then reset the connection
  slow:RATE    forward the body at RATE bytes a second (time to press Ctrl-C mid-upload)
  status:CODE  read the request and answer CODE without forwarding it (a server-side refusal, e.g.
               507 Insufficient Storage where the real server has no quota of its own)
TIMES (default: every one) faults only that many uploads after the first PASS, then lets the rest
through: a network that comes back, for a client that retries within one run."""
import socket, sys, threading, time

listen_port, target_port, pass_parts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
match = sys.argv[4].encode() if len(sys.argv) > 4 else b"partNumber="
fault = sys.argv[5] if len(sys.argv) > 5 else "cut"
times = int(sys.argv[6]) if len(sys.argv) > 6 else None
parts = 0
lock = threading.Lock()
REASONS = {413: "Request Entity Too Large", 507: "Insufficient Storage", 500: "Internal Server Error"}


def close_both(a, b):
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump(src, dst, limit=None, rate=None):
    """Copies src to dst; with a limit, resets src after that many bytes; with a rate, no faster
    than rate bytes a second."""
    sent = 0
    start = time.monotonic()
    try:
        while True:
            data = src.recv(65536 if rate is None else 16384)
            if not data:
                break
            if limit is not None and sent + len(data) > limit:
                dst.sendall(data[: limit - sent])
                src.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                src.close()  # RST to the client: the part never completes
                close_both(dst, dst)  # the server sees the connection end too (a blocked reader wakes)
                dst.close()
                return
            dst.sendall(data)
            sent += len(data)
            if rate is not None:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    finally:
        close_both(src, dst)


def refuse(client, code):
    """Reads the request (headers and body) and answers code with a short text body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length, expect = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"expect":
            expect = True
    while not expect and len(body) < length:
        chunk = client.recv(65536)
        if not chunk:
            return
        body += chunk
    reason = REASONS.get(code, "Error")
    text = f"{code} {reason}: refused by the fault proxy\n".encode()
    client.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                   % (code, reason.encode(), len(text), text))
    client.close()


def handle(client):
    global parts
    first = client.recv(65536, socket.MSG_PEEK)
    line = first.split(b"\r\n", 1)[0]
    faulty = False
    if line.startswith(b"PUT ") and match in line:
        with lock:
            parts += 1
            faulty = parts > pass_parts and (times is None or parts <= pass_parts + times)
    if faulty and fault.startswith("status:"):
        return refuse(client, int(fault.split(":", 1)[1]))
    upstream = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    if faulty and fault.startswith("slow:"):
        pump(client, upstream, rate=int(fault.split(":", 1)[1]))
    else:
        pump(client, upstream, (1 << 20) if faulty else None)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
