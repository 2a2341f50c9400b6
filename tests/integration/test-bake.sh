#!/bin/bash
# One bake of a root filesystem made here (make-test-rootfs.py: every kind of entry and metadata)
# plus busybox, with every input kind (url, file, path), every offline step kind, a run step and
# sysprep, on a GPT disk with vfat + ext4 root + xfs /srv + swap, to raw, qcow2 and raw.zst; then
# the image is read back through the appliance (one launch, readback.py) and compared with the
# tarball's manifest, and with what virt-make-fs makes of the same tarball.
source "$(dirname "$0")/lib.sh"
T0=$(date +%s)
[ -x /bin/busybox ] || skip "busybox-static is missing"
/usr/bin/python3 -c 'import guestfs' 2>/dev/null || skip "python3-guestfs is missing"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
# baker forces TCG itself when KVM does not work; the tools run here need to be told.
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
I=$BAKER_SOURCE_DIR/tests/integration
W=$SCRATCH/w
mkdir -p "$W/srv" "$W/data/sub" "$W/bb/usr/bin" "$W/extra/doc"

# Inputs.
python3 "$I/make-test-rootfs.py" "$W/srv/rootfs.tar" "$W/manifest.json"
cp /bin/busybox "$W/bb/usr/bin/busybox"
ln -s busybox "$W/bb/usr/bin/sh"
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$W/bb" -cf "$W/busybox.tar.gz" -z usr
echo "extra readme" > "$W/extra/doc/README"
tar --owner=0 --group=0 --numeric-owner -C "$W/extra" -cJf "$W/extra.tar.xz" doc
echo "data one" > "$W/data/one"
echo "data two" > "$W/data/sub/two"
chmod 0640 "$W/data/sub/two"
echo "single file" > "$W/single.txt"
sha() { sha256sum "$1" | cut -d' ' -f1; }

python3 "$I/http-server.py" --root "$W/srv" --port-file "$W/port" --log "$W/http.log" &
track_pid $!
wait_for 10 "the HTTP server's port file" test -e "$W/port"
PORT=$(cat "$W/port")

cat > "$W/bt.yaml" <<EOF
baker: 1
name: bt
version: "1.0"
epoch: 1700000000
inputs:
  rootfs: { url: "http://127.0.0.1:$PORT/files/rootfs.tar", sha256: "$(sha "$W/srv/rootfs.tar")" }
  busybox: { file: busybox.tar.gz, sha256: "$(sha "$W/busybox.tar.gz")" }
  extra: { file: extra.tar.xz, sha256: "$(sha "$W/extra.tar.xz")" }
  single: { file: single.txt, sha256: "$(sha "$W/single.txt")" }
  data: { path: data }
disk:
  size: 600MiB
  table: gpt
  partitions:
    - { label: esp, type: esp, size: 32MiB, fs: vfat, mount: /boot/efi }
    - { label: root, type: root, size: 160MiB, fs: ext4, mount: / }
    - { label: srv, type: linux, size: 320MiB, fs: xfs, mount: /srv }
    - { label: swap, type: swap, size: rest, fs: swap }
steps:
  - unpack: rootfs
  - unpack: busybox
  - { unpack: extra, to: /opt/extra }
  - copy: { from: data, to: /srv/data, owner: "1000:1000" }
  - copy: { from: single, to: /etc }
  - file: { path: /etc/group, content: "root:x:0:\n", mode: "0644" }
  - file: { path: /etc/baker-test, content: "inline\n", mode: "0600", owner: "1000:1000" }
  - file: { path: /boot/efi/EFI/test.txt, content: "on the esp\n" }
  - file: { path: /etc/ssh/ssh_host_rsa_key, content: "PRIVATE\n", mode: "0600" }
  - run: |
      echo "\$GREETING" > /etc/run-effect
      # a user, the hard way (Debian's busybox-static has no adduser)
      echo "bob:x:1234:1234::/home/bob:/bin/sh" >> /etc/passwd
      busybox mkdir -p /home/bob && busybox chown 1234:1234 /home/bob
      echo "run ok"
    env: { GREETING: "hi from run" }
  - sysprep: default
outputs:
  - { format: raw }
  - { format: qcow2 }
  - { format: raw, compress: zstd }
EOF

t=$(date +%s)
"$BAKER" bake -o "$W/out" "$W/bt.yaml" > "$W/bake.log" 2>&1 || { cat "$W/bake.log"; fail "bake failed"; }
BAKE_SECS=$(( $(date +%s) - t ))
grep -q "run ok" "$W/bake.log" || fail "run step output not streamed"
ls "$W/out" > "$W/out.ls"
for f in bt.raw bt.qcow2 bt.raw.zst manifest.json; do grep -qx "$f" "$W/out.ls" || fail "missing output $f"; done
[ "$(grep -c . "$W/out.ls")" = 4 ] || { cat "$W/out.ls"; fail "unexpected files in the output directory"; }
pass "bake with url/file/path inputs, all step kinds and 3 outputs (${BAKE_SECS}s)"

qemu-img check "$W/out/bt.qcow2" > /dev/null || fail "qemu-img check"
zstd -dc "$W/out/bt.raw.zst" | cmp - "$W/out/bt.raw" || fail "raw.zst does not decompress to the raw"
qemu-img compare -f raw -F qcow2 "$W/out/bt.raw" "$W/out/bt.qcow2" > /dev/null || fail "qcow2 differs from raw"
pass "qcow2 checks clean and equals the raw; raw.zst decompresses to the raw"

# e2fsck -fn on the root partition, extracted with its offset from the manifest.
read -r OFF SIZE < <(python3 -c '
import json,sys
m=json.load(open(sys.argv[1]))
p=[p for p in m["layout"]["partitions"] if p["label"]=="root"][0]
print(p["offset"], p["size"])' "$W/out/manifest.json")
dd if="$W/out/bt.raw" of="$W/root.ext4" bs=1M iflag=skip_bytes,count_bytes skip="$OFF" count="$SIZE" conv=sparse status=none
e2fsck -fn "$W/root.ext4" > "$W/e2fsck.log" 2>&1 || { cat "$W/e2fsck.log"; fail "e2fsck -fn found problems"; }
rm -f "$W/root.ext4"
pass "e2fsck -fn clean on the root partition"

# An MBR disk (vfat + ext4 + swap, no run step: no appliance, ~1 s): table, types, UUIDs, fsck.
cat > "$W/mbr.yaml" <<EOF
baker: 1
name: mbr
version: "1"
epoch: 1700000000
inputs:
  busybox: { file: busybox.tar.gz, sha256: "$(sha "$W/busybox.tar.gz")" }
disk:
  size: 96MiB
  table: mbr
  partitions:
    - { label: boot, type: linux, size: 32MiB, fs: vfat, mount: /boot }
    - { label: root, type: root, size: 40MiB, fs: ext4, mount: / }
    - { label: swap, type: swap, size: rest, fs: swap }
steps:
  - unpack: busybox
  - file: { path: /boot/hello, content: "x\n" }
outputs:
  - { format: raw }
EOF
"$BAKER" bake -o "$W/mbr" "$W/mbr.yaml" > "$W/mbr.log" 2>&1 || { cat "$W/mbr.log"; fail "mbr bake failed"; }
sfdisk --dump "$W/mbr/mbr.raw" > "$W/mbr.sfdisk"
grep -q '^label: dos' "$W/mbr.sfdisk" || fail "mbr: not a dos label"
[ "$(grep -o 'type=[0-9a-f]*' "$W/mbr.sfdisk" | tr '\n' ' ')" = "type=83 type=83 type=82 " ] || { cat "$W/mbr.sfdisk"; fail "mbr: partition types"; }
python3 -c '
import json,sys
for p in json.load(open(sys.argv[1]))["layout"]["partitions"]: print(p["offset"], p["size"], p["fs"], p["fs_uuid"])' "$W/mbr/manifest.json" |
while read -r off size fs uuid; do
  got=$(blkid -p -O "$off" -o export "$W/mbr/mbr.raw" | grep -E '^(TYPE|UUID)=' | sort | tr '\n' ' ')
  [ "$got" = "TYPE=$fs UUID=$uuid " ] || fail "mbr: partition at $off is '$got', expected $fs $uuid"
  if [ "$fs" = ext4 ]; then
    dd if="$W/mbr/mbr.raw" of="$W/mbr.ext4" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none
    e2fsck -fn "$W/mbr.ext4" > "$W/mbr.e2fsck" 2>&1 || { cat "$W/mbr.e2fsck"; fail "mbr: e2fsck"; }
  fi
done
pass "mbr disk: dos label, types 83/83/82, vfat/ext4/swap with the manifest's UUIDs, e2fsck clean"

# The same tarball through virt-make-fs (one appliance launch).
t=$(date +%s)
virt-make-fs --type=ext4 --format=raw --size=+16M "$W/srv/rootfs.tar" "$W/vmf.img" > "$W/vmf.log" 2>&1 ||
  { cat "$W/vmf.log"; fail "virt-make-fs failed"; }
VMF_SECS=$(( $(date +%s) - t ))

# Read both back in one launch.
t=$(date +%s)
/usr/bin/python3 "$I/readback.py" "$W/rb.json" --disk "$W/out/bt.qcow2:qcow2" --disk "$W/vmf.img" \
  --fs "bake=/dev/sda2:/,/dev/sda3:/srv,/dev/sda1:/boot/efi" --fs "vmf=/dev/sdb:/" \
  --xfs-check /dev/sda3 > "$W/rb.log" 2>&1 || { cat "$W/rb.log"; fail "readback failed"; }
RB_SECS=$(( $(date +%s) - t ))

/usr/bin/python3 - "$W/manifest.json" "$W/rb.json" "$W/out/manifest.json" <<'PY' || fail "readback comparison"
import json, sys
man = json.load(open(sys.argv[1]))
rb = json.load(open(sys.argv[2]))
bm = json.load(open(sys.argv[3]))
bake, vmf, parts = rb["fs"]["bake"], rb["fs"]["vmf"], rb["partitions"]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

# What sysprep and the run step change; everything else must be exactly the tarball's.
removed = {"etc/ssh/ssh_host_ed25519_key", "var/log/syslog.1", "var/log/apt/history.log.2.gz",
           "var/lib/dbus/machine-id", "var/lib/systemd/random-seed", "var/cache/apt/pkgcache.bin",
           "tmp/junk", "tmp/dir", "tmp/dir/junk2", "var/tmp/junk3", "home/user/.bash_history",
           "root/.bash_history"}
emptied = {"etc/machine-id", "var/log/syslog"}
changed = {"etc/passwd", "etc/hostname"}
def same(path, want, got, who, fields=("type", "mode", "uid", "gid", "link", "rdev")):
    for k in fields:
        check(want[k] == got[k], f"{who} /{path}: {k} {got[k]!r}, expected {want[k]!r}")
    if want["type"] in ("reg", "symlink"):
        check(want["size"] == got["size"], f"{who} /{path}: size {got['size']}, expected {want['size']}")
    if want["type"] == "reg":
        check(want["nlink"] == got["nlink"], f"{who} /{path}: nlink {got['nlink']}, expected {want['nlink']}")
        check(want["sha256"] == got["sha256"], f"{who} /{path}: content differs")
for path, want in man.items():
    got = bake.get(path)
    if path in removed:
        check(got is None, f"bake /{path}: should have been removed by sysprep")
        continue
    if got is None:
        errors.append(f"bake /{path}: missing")
        continue
    if path in emptied:
        check(got["size"] == 0 and got["mode"] == want["mode"], f"bake /{path}: not emptied in place: {got}")
        continue
    if path in changed:
        continue
    same(path, want, got, "bake")
    check(sorted(got["xattrs"]) == want["xattrs"], f"bake /{path}: xattrs {sorted(got['xattrs'])}, expected {want['xattrs']}")
# Hardlinks share one inode.
check(bake["usr/bin/aa-tool"]["ino"] == bake["usr/bin/zz-tool"]["ino"] == bake["usr/bin/mm-tool"]["ino"], "hardlinks split")
check(bake["usr/bin/ping"]["xattrs"].get("security.capability") == "0100000200200000000000000000000000000000",
      f"capability value {bake['usr/bin/ping']['xattrs']}")
check(bake["usr/share/user-xattr"]["xattrs"].get("user.comment") == b"hello \x00\xff binary".hex(), "user xattr value")

# Steps.
check(bake["etc/run-effect"]["content"] == "hi from run\n", "run step effect (env) missing")
check("bob:x:1234:" in bake["etc/passwd"]["content"], "run step: user bob not in /etc/passwd")
check(bake.get("home/bob", {}).get("type") == "dir" and bake["home/bob"]["uid"] == 1234, "run step: /home/bob")
check(bake["etc/hostname"]["content"] == "localhost\n", "sysprep hostname")
check(not [p for p in bake if p.startswith("etc/ssh/ssh_host_")], "sysprep left SSH host keys")
check(bake["etc/machine-id"]["content"] == "", "machine-id not empty")
for p, mode, uid in (("opt/extra/doc/README", 0o644, 0), ("srv/data/one", 0o644, 1000), ("srv/data/sub/two", 0o640, 1000),
                     ("srv/data/sub", 0o755, 1000), ("etc/single.txt", 0o644, 0), ("etc/baker-test", 0o600, 1000),
                     ("boot/efi/EFI/test.txt", None, 0), ("usr/bin/busybox", 0o755, 0)):
    e = bake.get(p)
    if e is None:
        errors.append(f"bake /{p}: missing")
        continue
    check(mode is None or e["mode"] == mode, f"/{p}: mode {e['mode']:o}, expected {mode!r}")
    check(e["uid"] == uid, f"/{p}: uid {e['uid']}, expected {uid}")
check(bake["srv/data/one"]["content"] == "data one\n" and bake["opt/extra/doc/README"]["content"] == "extra readme\n", "copied content")
check(bake["etc/baker-test"]["content"] == "inline\n" and bake["etc/single.txt"]["content"] == "single file\n", "file content")
check(bake["usr/bin/sh"]["link"] == "busybox", "busybox /bin/sh link")

# Partitions: filesystems with the UUIDs the manifest and /etc/fstab name.
layout = {p["label"]: p for p in bm["layout"]["partitions"]}
fstab = bake["etc/fstab"]["content"]
for dev, label, fs in (("/dev/sda1", "esp", "vfat"), ("/dev/sda2", "root", "ext4"), ("/dev/sda3", "srv", "xfs"), ("/dev/sda4", "swap", "swap")):
    got = parts[dev]
    check(got["type"] == fs, f"{dev}: filesystem {got['type']}, expected {fs}")
    check(got["uuid"].lower() == layout[label]["fs_uuid"].lower(), f"{dev}: uuid {got['uuid']} != manifest {layout[label]['fs_uuid']}")
    check(f"UUID={layout[label]['fs_uuid']} " in fstab, f"/etc/fstab lacks {label}'s UUID:\n{fstab}")
check(rb["xfs_check"]["/dev/sda3"] == 0, f"xfs_repair -n: {rb['xfs_check']}")

# virt-make-fs of the same tarball: the same files with the same metadata.
vpaths = {p for p in vmf if p != "lost+found" and not p.startswith("lost+found/")}
check(vpaths == set(man), f"virt-make-fs lists other files: {sorted(vpaths ^ set(man))}")
vmf_xattr_diffs = []
for path in sorted(vpaths & set(man)):
    same(path, man[path], vmf[path], "virt-make-fs")
    if sorted(vmf[path]["xattrs"]) != man[path]["xattrs"]:
        vmf_xattr_diffs.append(path)
    if path not in removed | emptied | changed:
        b, v = bake[path], vmf[path]
        for k in ("type", "mode", "uid", "gid", "link", "rdev", "sha256") + (("nlink",) if b["type"] != "dir" else ()):
            check(b[k] == v[k], f"/{path}: baker {k} {b[k]!r} != virt-make-fs {v[k]!r}")
if vmf_xattr_diffs:
    print("note: virt-make-fs dropped xattrs/ACLs of: " + ", ".join(vmf_xattr_diffs))
if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"compared {len(man)} tarball entries with the baked image and virt-make-fs's")
PY
pass "readback: every tarball entry's type/owner/mode/size/xattrs/link/nlink, steps, sysprep, fstab UUIDs, xfs, virt-make-fs parity"
echo "times: bake ${BAKE_SECS}s, virt-make-fs ${VMF_SECS}s, readback ${RB_SECS}s, total $(( $(date +%s) - T0 ))s"
