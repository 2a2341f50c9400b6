#!/usr/bin/env python3
"""Writes a small root filesystem tarball exercising every kind of entry and metadata baker must carry
(owners, setuid/setgid/sticky, xattrs incl. security.capability, a POSIX ACL, hardlinks, symlinks, device
nodes, fifos, long names), and a JSON manifest of what a filesystem made from it must contain.

usage: make-test-rootfs.py OUT.tar[.gz] OUT.json"""
import hashlib, io, json, struct, sys, tarfile

MTIME = 1600000000
out, manifest_path = sys.argv[1], sys.argv[2]
entries = []  # (TarInfo, data)

def add(name, type=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, data=b"", link="", dev=(0, 0), xattrs=None, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = type, mode, uid, gid, MTIME
    ti.uname = ti.gname = ""
    ti.linkname = link
    ti.devmajor, ti.devminor = dev
    ti.size = len(data) if type == tarfile.REGTYPE else 0
    h = dict(pax or {})
    for k, v in (xattrs or {}).items():
        h["SCHILY.xattr." + k] = v.decode("utf-8", "surrogateescape")
    ti.pax_headers = h
    entries.append((ti, data))

def d(name, mode=0o755, uid=0, gid=0):
    add(name, tarfile.DIRTYPE, mode, uid, gid)

cap_net_raw = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)
big = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(100000))  # 3.2 MB
for x in ["./", "./etc", "./etc/ssh", "./usr", "./usr/bin", "./usr/share", "./dev", "./run", "./var",
          "./var/log", "./var/log/apt", "./var/lib", "./var/lib/dbus", "./var/lib/systemd", "./var/cache",
          "./var/cache/apt", "./var/tmp", "./home"]:
    d(x)
d("./tmp", 0o1777)
d("./root", 0o700)
d("./home/user", 0o700, 1000, 1000)
add("./etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
add("./etc/machine-id", mode=0o444, data=b"0123456789abcdef0123456789abcdef\n")
add("./etc/hostname", data=b"buildhost\n")
add("./etc/ssh/ssh_host_ed25519_key", mode=0o600, data=b"-----BEGIN OPENSSH PRIVATE KEY-----\n")
add("./etc/ssh/sshd_config", data=b"PermitRootLogin no\n")
add("./usr/bin/ping", mode=0o755, data=b"\x7fELF ping", xattrs={"security.capability": cap_net_raw})
add("./usr/bin/su", mode=0o4755, data=b"\x7fELF su")
add("./usr/bin/wall", mode=0o2755, gid=5, data=b"\x7fELF wall")
add("./usr/bin/zz-tool", mode=0o755, data=b"tool data\n")
add("./usr/bin/aa-tool", tarfile.LNKTYPE, link="./usr/bin/zz-tool")  # link name sorts before its target
add("./usr/bin/mm-tool", tarfile.LNKTYPE, link="./usr/bin/zz-tool")
add("./usr/share/big.bin", data=big)
add("./usr/share/zeros.bin", data=b"\0" * 200000 + b"end")
add("./usr/share/acl-file", mode=0o750, data=b"acl\n",
    pax={"SCHILY.acl.access": "user::rwx,user:1000:r-x,group::r-x,mask::r-x,other::---"})
add("./usr/share/user-xattr", data=b"x\n", xattrs={"user.comment": b"hello \x00\xff binary"})
add("./usr/share/empty")
add("./home/user/notes.txt", uid=1000, gid=1000, mode=0o600, data=b"mine\n")
add("./home/user/.bash_history", uid=1000, gid=1000, mode=0o600, data=b"ls\n")
add("./root/.bash_history", mode=0o600, data=b"secret-command\n")
add("./bin", tarfile.SYMTYPE, 0o777, link="usr/bin")
add("./usr/share/long-link", tarfile.SYMTYPE, 0o777, link="../../" + "x" * 120)
long_dir = "./usr/share/" + "d" * 90
d(long_dir)
add(long_dir + "/" + "f" * 60, data=b"long path\n")
add("./dev/null", tarfile.CHRTYPE, 0o666, dev=(1, 3))
add("./dev/sda", tarfile.BLKTYPE, 0o660, gid=6, dev=(8, 0))
add("./dev/big", tarfile.CHRTYPE, 0o600, dev=(300, 70000))
add("./run/initctl", tarfile.FIFOTYPE, 0o600)
add("./var/log/syslog", mode=0o640, data=b"log line\n")
add("./var/log/syslog.1", mode=0o640, data=b"old\n")
add("./var/log/apt/history.log.2.gz", data=b"gz")
add("./var/lib/dbus/machine-id", data=b"0123\n")
add("./var/lib/systemd/random-seed", mode=0o600, data=b"\x01" * 512)
add("./var/cache/apt/pkgcache.bin", data=b"cache")
add("./tmp/junk", data=b"junk")
d("./tmp/dir")
add("./tmp/dir/junk2", data=b"junk")
add("./var/tmp/junk3", data=b"junk")

mode = "w:gz" if out.endswith(".gz") else "w"
with tarfile.open(out, mode, format=tarfile.PAX_FORMAT) as tf:
    for ti, data in entries:
        tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)

# What the filesystem must hold: path -> metadata (hardlinks resolved to their inode's).
TYPES = {tarfile.REGTYPE: "reg", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "chr",
         tarfile.BLKTYPE: "blk", tarfile.FIFOTYPE: "fifo"}
m = {}
byname = {ti.name.lstrip("./") if ti.name != "./" else "": (ti, data) for ti, data in entries}
nlink = {}
for ti, _ in entries:
    if ti.type == tarfile.LNKTYPE:
        t = ti.linkname[2:]
        nlink[t] = nlink.get(t, 1) + 1
for name, (ti, data) in byname.items():
    src, sdata = (byname[ti.linkname[2:]] if ti.type == tarfile.LNKTYPE else (ti, data))
    target = ti.linkname[2:] if ti.type == tarfile.LNKTYPE else name
    xattrs = sorted(k[len("SCHILY.xattr."):] for k in src.pax_headers if k.startswith("SCHILY.xattr."))
    if "SCHILY.acl.access" in src.pax_headers:
        xattrs = sorted(xattrs + ["system.posix_acl_access"])
    m[name] = {"type": TYPES[src.type], "mode": src.mode, "uid": src.uid, "gid": src.gid,
               "size": len(sdata) if src.type == tarfile.REGTYPE else (len(src.linkname) if src.type == tarfile.SYMTYPE else None),
               "link": src.linkname if src.type == tarfile.SYMTYPE else None,
               "rdev": [src.devmajor, src.devminor] if src.type in (tarfile.CHRTYPE, tarfile.BLKTYPE) else None,
               "nlink": nlink.get(target, 1) if src.type == tarfile.REGTYPE else None,
               "xattrs": xattrs,
               "sha256": hashlib.sha256(sdata).hexdigest() if src.type == tarfile.REGTYPE else None}
json.dump(m, open(manifest_path, "w"), indent=1, sort_keys=True)
