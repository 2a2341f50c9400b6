#!/bin/bash
# The offline ext4 writer, read back by a real kernel: the test rootfs tarball is written into an ext4
# image without any appliance, then mounted in the libguestfs appliance (one launch) and every entry's
# type, owner, mode, size, xattrs, link target, hardlink count and content compared with the manifest
# the rootfs generator wrote.
source "$(dirname "$0")/lib.sh"
command -v guestfish >/dev/null || skip "guestfish not installed"
command -v python3 >/dev/null || skip "python3 not installed"
writer="$BAKER_BUILD_DIR/tests/test-ext4"
[ -x "$writer" ] || fail "missing $writer"

python3 "$BAKER_SOURCE_DIR/tests/integration/make-test-rootfs.py" "$SCRATCH/rootfs.tar.gz" "$SCRATCH/rootfs.json"
"$writer" "$SCRATCH/rootfs.tar.gz" "$SCRATCH/root.img" $((32 << 20)) || fail "ext4 writer failed"
e2fsck -fn "$SCRATCH/root.img" >/dev/null 2>&1 || fail "e2fsck -fn is not clean"

python3 - "$SCRATCH/rootfs.json" > "$SCRATCH/script.gf" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print("add-ro %s" % sys.argv[1].replace("rootfs.json", "root.img"))
print("run\nmount-ro /dev/sda /")
for p in sorted(m):
    path = "/" + p
    print("echo @@ %s" % path)
    print("lstatns '%s'" % path)
    print("lgetxattrs '%s'" % path)
    if m[p]["type"] == "symlink":
        print("readlink '%s'" % path)
    if m[p]["type"] == "reg":
        print("checksum sha256 '%s'" % path)
PY
export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
guestfish -f "$SCRATCH/script.gf" > "$SCRATCH/out.txt" 2> "$SCRATCH/err.txt" || { cat "$SCRATCH/err.txt"; fail "guestfish failed"; }

python3 - "$SCRATCH/rootfs.json" "$SCRATCH/out.txt" <<'PY' || fail "filesystem differs from the tarball"
import json, re, stat, sys, os
m = json.load(open(sys.argv[1]))
blocks = open(sys.argv[2]).read().split("@@ ")[1:]
seen, bad = set(), []
for b in blocks:
    lines = b.splitlines()
    path = lines[0].strip()
    want = m[path[1:]]
    st = dict(re.findall(r"^(st_\w+): (-?\d+)$", b, re.M))
    mode = int(st["st_mode"])
    kinds = {"reg": stat.S_ISREG, "dir": stat.S_ISDIR, "symlink": stat.S_ISLNK, "chr": stat.S_ISCHR,
             "blk": stat.S_ISBLK, "fifo": stat.S_ISFIFO}
    def check(what, ok):
        if not ok: bad.append("%s: %s" % (path, what))
    check("type", kinds[want["type"]](mode))
    check("mode %o" % stat.S_IMODE(mode), stat.S_IMODE(mode) == want["mode"])
    check("owner", int(st["st_uid"]) == want["uid"] and int(st["st_gid"]) == want["gid"])
    if want["size"] is not None and want["type"] != "dir":
        check("size", int(st["st_size"]) == want["size"])
    if want["nlink"] is not None:
        check("nlink", int(st["st_nlink"]) == want["nlink"])
    if want["rdev"]:
        rdev = int(st["st_rdev"])
        check("rdev", (os.major(rdev), os.minor(rdev)) == tuple(want["rdev"]))
    names = sorted(re.findall(r"^\s*attrname: (.*)$", b, re.M))
    check("xattrs %s" % names, names == want["xattrs"])
    if want["link"]:
        check("link target", want["link"] in b)
    if want["sha256"]:
        check("content", want["sha256"] in b)
    seen.add(path[1:])
missing = set(m) - seen
for x in bad: print("MISMATCH", x)
for x in missing: print("MISSING", x)
sys.exit(1 if bad or missing else 0)
PY
echo "ok: ext4 written offline matches the tarball as the kernel reads it"
