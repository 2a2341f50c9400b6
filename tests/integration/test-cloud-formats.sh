#!/usr/bin/env bash
# The cloud output formats from a real bake of the tiny reference template (templates/tiny.yaml,
# its outputs replaced by raw, vhd, vmdk and gce; its boot test skipped): qemu-img reads the VHD
# (fixed, a whole MiB plus the footer) and the VMDK (streamOptimized, clean for `qemu-img check`),
# GNU tar lists the GCE archive (disk.raw, 1 GiB, root, the epoch); each converts back to the image
# digest the manifest records (the padding all zeros); manifest.json lists each with its format,
# size and sha256; the root partition carries the grow-file-system attribute and `baker inspect`
# shows it; and a second bake with an empty cache gives the same bytes for every output.
source "$(dirname "$0")/lib.sh"

command -v qemu-img >/dev/null || skip "qemu-img missing (qemu-utils)"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no host kernel in /boot (linux-image-amd64)"
[ -x /bin/busybox ] || skip "busybox-static missing"

"$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" "$SCRATCH/tiny.tar"
sed -e "s|file: \.\./build/rootfs/tiny-rootfs.tar|file: $SCRATCH/tiny.tar|" -e '/^outputs:/,$d' \
  "$BAKER_SOURCE_DIR/templates/tiny.yaml" > "$SCRATCH/tiny.yaml"
cat >> "$SCRATCH/tiny.yaml" <<'YAML'
outputs:
  - { format: raw }
  - { format: vhd }
  - { format: vmdk }
  - { format: gce }
YAML

start=$(date +%s.%N)
BAKER_CACHE=$SCRATCH/cache-a expect_exit 0 "$BAKER" bake --skip-test -o "$SCRATCH/a" "$SCRATCH/tiny.yaml"
pass "bake with raw, vhd, vmdk, gce in $(echo "$(date +%s.%N) - $start" | bc) s"
A=$SCRATCH/a
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image_digest"])' "$A/manifest.json")
size=$(stat -c %s "$A/tiny.raw")
[ "sha256:$(sha256sum < "$A/tiny.raw" | cut -d' ' -f1)" = "$digest" ] || fail "the raw output is not the image digest"

# back_to_raw FILE: FILE's first $size bytes hash to the image digest, the rest are zeros.
back_to_raw() {
  local rest
  rest=$(tail -c +$((size + 1)) "$1" | tr -d '\000' | head -c 1 | wc -c)
  [ "$rest" = 0 ] || fail "$1: the padding after the image is not all zeros"
  [ "sha256:$(head -c "$size" "$1" | sha256sum | cut -d' ' -f1)" = "$digest" ] || fail "$1: not the image digest"
}

# vhd: fixed, padded to a MiB, the footer last; qemu-img sees the padded size.
mib=$(( (size + 1048575) / 1048576 * 1048576 ))
[ "$(stat -c %s "$A/tiny.vhd")" = $((mib + 512)) ] || fail "vhd is not a MiB multiple plus the footer"
[ "$(tail -c 512 "$A/tiny.vhd" | head -c 8)" = conectix ] || fail "vhd has no footer"
qemu-img info -f vpc --output=json "$A/tiny.vhd" > "$SCRATCH/vhd.json"
grep -q "\"virtual-size\": $mib" "$SCRATCH/vhd.json" || { cat "$SCRATCH/vhd.json" >&2; fail "qemu-img reads another size"; }
qemu-img convert -f vpc -O raw "$A/tiny.vhd" "$SCRATCH/vhd.raw"
back_to_raw "$SCRATCH/vhd.raw"
pass "vhd: qemu-img info reads $mib bytes, back to raw is the image digest"

# vmdk: streamOptimized and clean.
qemu-img info "$A/tiny.vmdk" | grep -q 'create type: streamOptimized' || fail "vmdk is not streamOptimized"
qemu-img check "$A/tiny.vmdk" > "$SCRATCH/check.txt" || { cat "$SCRATCH/check.txt" >&2; fail "qemu-img check vmdk"; }
qemu-img convert -f vmdk -O raw "$A/tiny.vmdk" "$SCRATCH/vmdk.raw"
back_to_raw "$SCRATCH/vmdk.raw"
pass "vmdk: qemu-img check clean, back to raw is the image digest"

# gce: GNU tar lists one member, disk.raw, 1 GiB, root, at the template's epoch (1700000000).
tar -tvzf "$A/tiny.gce.tar.gz" --full-time > "$SCRATCH/list.txt"
cat "$SCRATCH/list.txt"
[ "$(wc -l < "$SCRATCH/list.txt")" = 1 ] || fail "gce archive holds more than disk.raw"
grep -Eq '^-rw-r--r-- root/root +1073741824 2023-11-14 22:13:20 disk\.raw$' "$SCRATCH/list.txt" ||
  fail "gce archive lists something else"
mkdir "$SCRATCH/gce" && tar -xSzf "$A/tiny.gce.tar.gz" -C "$SCRATCH/gce"
back_to_raw "$SCRATCH/gce/disk.raw"
[ $(( $(stat -c %b "$SCRATCH/gce/disk.raw") * 512 )) -lt $((size * 2)) ] || fail "disk.raw extracted without holes"
pass "gce: tar lists disk.raw (1 GiB, oldgnu sparse), back to raw is the image digest"

# The manifest records every output with its format and bytes.
python3 - "$A" <<'PY' || fail "manifest outputs"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
got = {o["file"]: o for o in m["outputs"]}
for f, fmt in [("tiny.raw", "raw"), ("tiny.vhd", "vhd"), ("tiny.vmdk", "vmdk"), ("tiny.gce.tar.gz", "gce")]:
    o = got[f]
    assert o["format"] == fmt, o
    data = open(os.path.join(d, f), "rb").read()
    assert o["size"] == len(data), (f, o["size"], len(data))
    assert o["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest(), f
PY
pass "manifest.json lists raw, vhd, vmdk and gce with their sizes and digests"

# The root partition is marked for growing (GPT attribute 59 and x-systemd.growfs), and inspect says so.
"$BAKER" inspect "$A/tiny.raw" > "$SCRATCH/inspect.txt"
grep -E '^  2 +root .* grow-file-system$' "$SCRATCH/inspect.txt" || { cat "$SCRATCH/inspect.txt" >&2; fail "inspect shows no grow-file-system on root"; }
grep -E '^  1 +esp .*grow-file-system' "$SCRATCH/inspect.txt" && fail "the esp is marked for growing"
"$BAKER" inspect --json "$A/tiny.vhd" | python3 -c '
import json, sys
parts = json.load(sys.stdin)["table"]["partitions"]
assert [p["grow_file_system"] for p in parts] == [False, True], parts' || fail "inspect --json of the vhd: grow_file_system"
sgdisk -i 2 "$A/tiny.raw" | grep -q "Attribute flags: 0800000000000000" || fail "sgdisk sees no bit 59 on root"
pass "root partition marked grow-file-system (bit 59), shown by baker inspect (raw and vhd) and sgdisk"

# A second bake with an empty cache, from another folder: the same bytes.
(cd "$SCRATCH/gce" && BAKER_CACHE=$SCRATCH/cache-b TZ=Asia/Kolkata "$BAKER" bake --skip-test -o "$SCRATCH/b" "$SCRATCH/tiny.yaml" \
  > "$SCRATCH/b.log" 2>&1) || { cat "$SCRATCH/b.log" >&2; fail "second bake"; }
for f in tiny.raw tiny.vhd tiny.vmdk tiny.gce.tar.gz; do
  cmp "$A/$f" "$SCRATCH/b/$f" || fail "$f differs between two bakes"
done
pass "two bakes with empty caches give identical vhd, vmdk and gce"
