#!/usr/bin/python3
"""Reads disk images back through the libguestfs appliance, in ONE launch, and dumps as JSON what
the kernel sees: every partition's filesystem type/UUID/label, and for each requested filesystem
every path's type, mode, owner, size, nlink, rdev, link target, xattrs and sha256.

usage: readback.py OUT.json --disk IMG[:FORMAT]... [--fs NAME=DEV:MNT[,DEV:MNT...]]...
                   [--xfs-check DEV]... [--read PATH-IN-FS-NAME]...

--fs mounts the devices read-only (in the order given, so "/" first), walks the tree and unmounts
again. Needs /usr/bin/python3 with python3-guestfs (Debian)."""
import argparse
import hashlib
import json
import os
import stat

import guestfs

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--disk", action="append", default=[])
ap.add_argument("--fs", action="append", default=[])
ap.add_argument("--xfs-check", action="append", default=[])
a = ap.parse_args()

g = guestfs.GuestFS(python_return_dict=True)
if os.environ.get("LIBGUESTFS_BACKEND_SETTINGS") is None and not os.access("/dev/kvm", os.R_OK | os.W_OK):
    g.set_backend_settings(["force_tcg"])
for d in a.disk:
    path, _, fmt = d.partition(":")
    g.add_drive_opts(path, readonly=True, format=fmt or "raw")
g.launch()

out = {"partitions": {}, "fs": {}, "xfs_check": {}}
for dev in g.list_partitions() + g.list_devices():
    info = {}
    for k, fn in (("type", g.vfs_type), ("uuid", g.vfs_uuid), ("label", g.vfs_label)):
        try:
            info[k] = fn(dev)
        except RuntimeError:
            info[k] = None
    out["partitions"][dev] = info

TYPES = {stat.S_IFREG: "reg", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFCHR: "chr",
         stat.S_IFBLK: "blk", stat.S_IFIFO: "fifo", stat.S_IFSOCK: "sock"}

for spec in a.fs:
    name, _, mounts = spec.partition("=")
    for m in mounts.split(","):
        dev, _, mnt = m.partition(":")
        g.mount_ro(dev, mnt)
    paths = ["/"] + ["/" + p for p in g.find("/")]
    tree = {}
    for p in paths:
        st = g.lstatns(p)
        mode = st["st_mode"]
        t = TYPES[stat.S_IFMT(mode)]
        e = {"type": t, "mode": stat.S_IMODE(mode), "uid": st["st_uid"], "gid": st["st_gid"],
             "size": st["st_size"], "nlink": st["st_nlink"], "ino": st["st_ino"],
             "rdev": [os.major(st["st_rdev"]), os.minor(st["st_rdev"])] if t in ("chr", "blk") else None,
             "link": g.readlink(p) if t == "symlink" else None,
             "mtime": st["st_mtime_sec"],
             "xattrs": {x["attrname"]: x["attrval"].hex() for x in g.lgetxattrs(p)},
             "sha256": g.checksum("sha256", p) if t == "reg" else None}
        tree[p.lstrip("/")] = e
    # File contents small enough to assert on directly.
    for p, e in tree.items():
        if e["type"] == "reg" and e["size"] <= 4096:
            e["content"] = g.read_file("/" + p).decode("utf-8", "replace")
    out["fs"][name] = tree
    g.umount_all()

for dev in a.xfs_check:
    try:
        out["xfs_check"][dev] = g.xfs_repair(dev, nomodify=True)
    except RuntimeError as e:
        out["xfs_check"][dev] = str(e)

g.shutdown()
g.close()
with open(a.out + ".tmp", "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
os.rename(a.out + ".tmp", a.out)
