#!/bin/bash
# Identity: the same template baked twice with separate empty caches (the second under another
# TZ, umask, locale and working directory) gives byte-identical raw and qcow2 outputs, for a
# template without run steps (and without `epoch:`) and one whose run steps write files, create a
# user, enable a service by a symlink and chmod/chown. Then the stamps and manifest.json are
# checked field by field, a sensitive variable is shown to leak nowhere, and `baker verify` says
# "reproducible" (exit 0) for a reproducible template and names the path (exit 7) for one whose
# run step writes the clock and random bytes.
source "$(dirname "$0")/lib.sh"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
IMAGE_DIFF=$BAKER_BUILD_DIR/tests/image-diff
SECRET="s3cr3t-T0KEN-9f8e7d"

T=$SCRATCH/t
mkdir -p "$T/sub"
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel "$T/rootfs.tar"

# Offline steps only, no `epoch:` (derived from the input's mtimes), ESP and root filesystem.
cat > "$T/repro-offline.yaml" <<'EOF'
baker: 1
name: repro-offline
version: "2.0"
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 80MiB
  table: gpt
  partitions:
    - { label: esp, type: esp, size: 36MiB, fs: vfat, mount: /boot/efi }
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/motd, content: "offline\n", mode: "0644" }
  - file: { path: /boot/efi/EFI/baker/hello.txt, content: "on the esp\n" }
  - file: { path: /srv/secret.conf, content: "x\n", mode: "0600", owner: "1000:1000" }
  - sysprep: default
outputs:
  - { format: raw }
  - { format: qcow2 }
EOF

# Deterministic run steps; a sensitive variable reaches a run step through env.
cat > "$T/repro-run.yaml" <<EOF
baker: 1
name: repro-run
version: "1.0.1"
description: deterministic run steps
variables:
  motd: { default: "hello" }
  token: { default: "$SECRET", sensitive: true }
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 80MiB
  table: gpt
  partitions:
    - { label: esp, type: esp, size: 36MiB, fs: vfat, mount: /boot/efi }
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/motd, content: "\${var.motd}\n", mode: "0644" }
  - name: users and services
    run: |
      set -e
      mkdir -p /srv/data /etc/sv/demo /etc/runlevels/default /boot/efi/EFI/run
      echo "payload" > /srv/data/a.txt
      # busybox-static has no adduser: what adduser does, by hand (shadow date from the epoch)
      echo "svc:x:1100:" >> /etc/group
      echo "svc:x:1100:1100:svc:/home/svc:/bin/sh" >> /etc/passwd
      echo "svc:!:\$((SOURCE_DATE_EPOCH / 86400)):0:99999:7:::" >> /etc/shadow
      mkdir -p /home/svc && chown 1100:1100 /home/svc && chmod 0700 /home/svc
      printf '#!/bin/sh\nexec true\n' > /etc/sv/demo/run && chmod 0755 /etc/sv/demo/run
      ln -s /etc/sv/demo /etc/runlevels/default/demo
      chmod 0750 /srv/data
      chown 1100:1100 /srv/data/a.txt
      echo efi > /boot/efi/EFI/run/note.txt
      mkfifo /srv/fifo; ln /srv/data/a.txt /srv/hardlink
  - name: uses the token
    run: |
      set -e
      test "\${#TOKEN}" -gt 0 && echo "token has \${#TOKEN} characters: \$TOKEN"
      echo ok > /etc/step4
    env: { TOKEN: "\${var.token}" }
  - sysprep: default
outputs:
  - { format: raw }
  - { format: qcow2 }
EOF

# Not deterministic: the clock and random bytes.
cat > "$T/random.yaml" <<'EOF'
baker: 1
name: repro-random
version: "1"
epoch: 1700000000
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - run: |
      date +%s%N > /etc/random-file
      head -c 32 /dev/urandom >> /etc/random-file
outputs:
  - { format: raw }
EOF

# bake_twice TEMPLATE: out-a/ with cache-a under this environment; out-b/ with cache-b from
# another directory under another TZ, umask and locale. Fails on any byte of difference.
bake_twice() {
  local name=$1 a=$SCRATCH/$1-a b=$SCRATCH/$1-b
  BAKER_CACHE=$SCRATCH/cache-$name-a "$BAKER" bake --json -o "$a" "$T/$name.yaml" > "$SCRATCH/$name-a.json" 2> "$SCRATCH/$name-a.log" ||
    { cat "$SCRATCH/$name-a.log" >&2; fail "bake $name (a)"; }
  (cd "$T/sub" && umask 077 && TZ=Asia/Kolkata LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8 \
     BAKER_CACHE=$SCRATCH/cache-$name-b "$BAKER" bake -o "$b" "../$name.yaml" > "$SCRATCH/$name-b.log" 2>&1) ||
    { cat "$SCRATCH/$name-b.log" >&2; fail "bake $name (b)"; }
  local ra rb qa qb
  ra=$(sha256sum < "$a/$1.raw" | cut -d' ' -f1); rb=$(sha256sum < "$b/$1.raw" | cut -d' ' -f1)
  echo "$name: raw $ra / $rb"
  if [ "$ra" != "$rb" ]; then
    "$IMAGE_DIFF" "$a/$1.raw" "$b/$1.raw" >&2 || true
    fail "$name: raw images differ"
  fi
  cmp "$a/$1.qcow2" "$b/$1.qcow2" || fail "$name: qcow2 outputs differ"
  pass "$name: two bakes with empty caches are byte-identical (raw and qcow2)"
}

bake_twice repro-offline
bake_twice repro-run

# The offline template has no epoch: the manifest's epoch is the input's newest mtime.
python3 - "$SCRATCH/repro-offline-a/manifest.json" <<'PY' || fail "derived epoch"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["epoch"] == 1700000000, m["epoch"]
assert m["created"] == "2023-11-14T22:13:20Z", m["created"]
PY
pass "epoch derived from the inputs"

# ---- stamps and manifest ------------------------------------------------------------------
O=$SCRATCH/repro-run-a
"$BAKER" inspect --json "$O/repro-run.raw" > "$SCRATCH/inspect.json" || fail "inspect raw"
"$BAKER" inspect --json "$O/repro-run.qcow2" > "$SCRATCH/inspect-q.json" || fail "inspect qcow2"
python3 - "$O" "$SCRATCH/inspect.json" "$SCRATCH/inspect-q.json" "$BAKER" <<'PY' || fail "stamps and manifest"
import hashlib, json, os, subprocess, sys, uuid
out, insp, inspq, baker = sys.argv[1:]
m = json.load(open(os.path.join(out, "manifest.json")))
i = json.load(open(insp))
iq = json.load(open(inspq))
version = subprocess.run([baker, "--version"], capture_output=True, text=True).stdout.split()[-1]

def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return "sha256:" + h.hexdigest()

def is_digest(s):
    return isinstance(s, str) and s.startswith("sha256:") and len(s) == 71

# manifest.json: every field baker/manifest.h documents
for k in ["manifest_version", "name", "version", "description", "bake_key", "image_digest", "image_size", "epoch",
          "created", "baker_version", "inputs", "layout", "steps", "outputs"]:
    assert k in m, "manifest lacks " + k
assert m["manifest_version"] == 1
assert (m["name"], m["version"], m["description"]) == ("repro-run", "1.0.1", "deterministic run steps"), m
assert is_digest(m["bake_key"]) and is_digest(m["image_digest"])
assert m["baker_version"] == version, (m["baker_version"], version)
raw = os.path.join(out, "repro-run.raw")
assert m["image_digest"] == sha(raw) and m["image_size"] == os.path.getsize(raw)
assert [o["format"] for o in m["outputs"]] == ["raw", "qcow2"], m["outputs"]
for o in m["outputs"]:
    p = os.path.join(out, o["file"])
    assert o["size"] == os.path.getsize(p), o
    assert o["sha256"] == sha(p), o
    assert o["compress"] == "none"
assert [(x["name"], x["kind"]) for x in m["inputs"]] == [("rootfs", "file")], m["inputs"]
assert is_digest(m["inputs"][0]["digest"]) and m["inputs"][0]["source"]
lay = m["layout"]
assert lay["table"] == "gpt" and lay["size"] == m["image_size"]
uuid.UUID(lay["disk_guid"])
assert [p["label"] for p in lay["partitions"]] == ["esp", "root"]
for p in lay["partitions"]:
    for k in ["index", "label", "type", "offset", "size", "partuuid", "fs", "fs_uuid", "mount"]:
        assert k in p, "layout partition lacks " + k
    uuid.UUID(p["partuuid"])
uuid.UUID(lay["partitions"][1]["fs_uuid"])
assert len(m["steps"]) == 5
for n, s in enumerate(m["steps"], 1):
    assert s["index"] == n and is_digest(s["key"]) and isinstance(s["seconds"], (int, float)), s
    assert s["kind"] and s["name"] and "cached" in s
assert len({s["key"] for s in m["steps"]}) == 5
assert m["steps"][2]["seconds"] > 0.5 and m["steps"][2]["cached"] is False   # a run step takes time
# events: the bake key and step keys agree with the manifest
ev = [json.loads(l) for l in open(os.path.join(out, "..", "repro-run-a.json"))]
assert [e["bake_key"] for e in ev if e["event"] == "bake-end"] == [m["bake_key"]]
assert [e["key"] for e in ev if e["event"] == "step"] == [s["key"] for s in m["steps"]]
# the layout equals what inspect reads from the disk
for a, b in zip(lay["partitions"], i["table"]["partitions"]):
    assert (a["partuuid"], a["fs_uuid"], a["offset"], a["size"]) == (b["partuuid"], b["fs_uuid"], b["offset"], b["size"]), (a, b)
assert lay["disk_guid"] == i["table"]["disk_guid"]
# stamps, read offline from the raw and the qcow2 output
for x in (i, iq):
    assert x["os_release"]["IMAGE_ID"] == "repro-run", x["os_release"]
    assert x["os_release"]["IMAGE_VERSION"] == "1.0.1", x["os_release"]
    assert x["os_release"]["ID"] == "baker-tiny"           # the rest of os-release kept
    st = x["stamp"]
    assert (st["name"], st["version"], st["baker_version"]) == ("repro-run", "1.0.1", version), st
    assert st["bake_key"] == m["bake_key"], (st["bake_key"], m["bake_key"])
    assert st["inputs"] == {"rootfs": m["inputs"][0]["digest"]}, st["inputs"]
assert i["image_digest"] == m["image_digest"]
PY
pass "stamp (os-release, stamp.json) and manifest.json carry every documented field, digests match the files"

# The sensitive value: masked in the run step's output, and nowhere in what baker writes.
grep -q 'token has 19 characters' "$SCRATCH/repro-run-a.json" || fail "the run step did not see the token"
for f in "$O/manifest.json" "$SCRATCH/repro-run-a.json" "$SCRATCH/repro-run-a.log" "$SCRATCH/repro-run-b.log" \
         "$SCRATCH/inspect.json"; do
  if grep -q "$SECRET" "$f"; then grep "$SECRET" "$f" >&2; fail "the sensitive value leaked into $f"; fi
done
grep -rq "$SECRET" "$SCRATCH/cache-repro-run-a/bakes" && fail "the sensitive value is in the cached manifest"
grep -qa "$SECRET" "$O/repro-run.raw" && fail "the sensitive value is in the image"
pass "sensitive value in no manifest, stamp, event or log"

# ---- baker verify -------------------------------------------------------------------------
"$BAKER" verify -o "$SCRATCH/repro-offline-a" "$T/repro-offline.yaml" > "$SCRATCH/verify.out" 2> "$SCRATCH/verify.err" ||
  { cat "$SCRATCH/verify.err" >&2; fail "verify of a reproducible template exited $?"; }
grep -q "^reproducible: sha256:" "$SCRATCH/verify.out" || fail "verify verdict: $(cat "$SCRATCH/verify.out")"
pass "baker verify: reproducible (exit 0)"

BAKER_CACHE=$SCRATCH/cache-random "$BAKER" bake -o "$SCRATCH/random" "$T/random.yaml" > "$SCRATCH/random.log" 2>&1 ||
  { cat "$SCRATCH/random.log" >&2; fail "bake random"; }
expect_exit 7 "$BAKER" verify -o "$SCRATCH/random" "$T/random.yaml"
grep -q "NOT reproducible" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "verify verdict"; }
grep -q "/etc/random-file: content differs" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "verify does not name the path"; }
grep -v "random-file\|NOT reproducible\|differences\|^rebuilding\|^\[\|appliance\|assembling\|^image\|^output\|^baking\|^baked\|sysprep" \
  "$SCRATCH/out" | grep . && fail "verify names more than the random file"
pass "baker verify: not reproducible (exit 7), names /etc/random-file"
