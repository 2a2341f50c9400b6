#!/usr/bin/env python3
"""A TCP proxy in front of a registry that drops the connection of the Nth PATCH request before
forwarding a byte of it, like a network cut between two chunks of an upload.

usage: registry-cut-proxy.py LISTEN-PORT TARGET-PORT N"""
import socket, sys, threading

listen_port, target_port, cut_at = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
patches = 0
lock = threading.Lock()


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(client):
    global patches
    first = client.recv(65536, socket.MSG_PEEK)
    if first.startswith(b"PATCH "):
        with lock:
            patches += 1
            cut = patches == cut_at
        if cut:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            client.close()  # RST: the request never reaches the registry
            return
    upstream = socket.create_connection(("127.0.0.1", target_port))
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    pump(upstream, client)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
