#!/usr/bin/env python3
"""Checks the tar that test-guest exports with guest_tar_out(), with a reader independent of
libguestfs and baker: numeric owners only, the run steps' changes, xattrs, link types."""
import sys
import tarfile

def fail(msg):
    print(f"guest-check-tar: {msg}", file=sys.stderr)
    sys.exit(1)

with tarfile.open(sys.argv[1]) as t:
    members = {m.name.removeprefix("./").rstrip("/"): m for m in t.getmembers()}

    def get(name):
        if name not in members:
            fail(f"'{name}' missing")
        return members[name]

    for m in members.values():
        if m.uname or m.gname:
            fail(f"'{m.name}' carries owner names '{m.uname}:{m.gname}'")
        if ".baker-step" in m.name:
            fail(f"baker's file '{m.name}' left in the tree")
    if "tmp" in members:
        fail("'/tmp' left behind")

    # a hardlinked pair: whichever tar met first holds the data, the other links to it
    a, b = get("etc/baker-test"), get("etc/baker-hardlink")
    f, h = (a, b) if a.isfile() else (b, a)
    if not f.isfile() or (f.uid, f.gid, f.mode) != (1234, 5678, 0o640):
        fail(f"{f.name}: {f.type} {f.uid}:{f.gid} {oct(f.mode)}")
    if t.extractfile(f).read() != b"hi there 'quoted' $HOME \"x\"\n":
        fail("etc/baker-test content")
    if not h.islnk() or h.linkname.removeprefix("./") != f.name.removeprefix("./"):
        fail(f"{h.name} is not a hardlink to {f.name}: {h.type} {h.linkname}")
    s = get("etc/baker-symlink")
    if not s.issym() or s.linkname != "baker-test":
        fail("etc/baker-symlink")
    d = get("var/baker-null")
    if not d.ischr() or (d.devmajor, d.devminor) != (1, 3):
        fail("var/baker-null")
    k = get("home/alice/.ssh/authorized_keys")
    if (k.uid, k.gid, k.mode) != (1000, 1000, 0o600):
        fail(f"authorized_keys: {k.uid}:{k.gid} {oct(k.mode)}")
    p = get("opt/ping")
    cap = p.pax_headers.get("SCHILY.xattr.security.capability")
    if cap is None:
        fail(f"opt/ping has no security.capability: {p.pax_headers}")
    b = get("bin/sh")
    if not b.issym() or b.linkname != "/bin/busybox":
        fail("bin/sh")
    if get("big/blob").size != 48 << 20:
        fail("big/blob size")
print(f"guest-check-tar: {len(members)} entries ok")
