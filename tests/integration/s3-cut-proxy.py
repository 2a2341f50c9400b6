#!/usr/bin/env python3
"""A TCP proxy in front of an S3 server that lets the first PASS multipart part uploads through and
cuts every later one in the middle of its body (1 MiB forwarded, then a reset), like a network
that goes away during an upload. Everything else passes untouched.

usage: s3-cut-proxy.py LISTEN-PORT TARGET-PORT PASS [MATCH]
MATCH (default "partNumber=") picks the PUT requests counted: "comp=page" for Azure page writes."""
import socket, sys, threading

listen_port, target_port, pass_parts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
match = sys.argv[4].encode() if len(sys.argv) > 4 else b"partNumber="
parts = 0
lock = threading.Lock()


def close_both(a, b):
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump(src, dst, limit=None):
    """Copies src to dst; with a limit, resets src after that many bytes."""
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if limit is not None and sent + len(data) > limit:
                dst.sendall(data[: limit - sent])
                src.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                src.close()  # RST to the client: the part never completes
                dst.close()
                return
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        close_both(src, dst)


def handle(client):
    global parts
    first = client.recv(65536, socket.MSG_PEEK)
    line = first.split(b"\r\n", 1)[0]
    limit = None
    if line.startswith(b"PUT ") and match in line:
        with lock:
            parts += 1
            if parts > pass_parts:
                limit = 1 << 20
    upstream = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    pump(client, upstream, limit)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
