#!/bin/bash
# baker inspect, offline: an image built by tests/helpers/make-stamped-image (raw, qcow2, mbr), a
# manifest, and bad input. Cross-checked against sfdisk, blkid and sha256sum, not baker itself.
source "$(dirname "$0")/lib.sh"
MAKE=$BAKER_BUILD_DIR/tests/make-stamped-image
[ -x "$MAKE" ] || skip "make-stamped-image not built"
cd "$SCRATCH"

"$MAKE" disk.raw
expect_exit 0 "$BAKER" inspect disk.raw
out=$(cat "$SCRATCH/out")
for want in "table:        gpt" "name:       web" "version:    1.4.0" \
            "bake key:   sha256:1111111111111111111111111111111111111111111111111111111111111111" \
            "IMAGE_ID=web IMAGE_VERSION=1.4.0" "stamp:        partition 2"; do
  grep -qF -- "$want" <<<"$out" || { echo "$out" >&2; fail "human output lacks '$want'"; }
done
pass "human output"

"$BAKER" inspect --json disk.raw >doc.json
digest=sha256:$(sha256sum disk.raw | cut -d' ' -f1)
python3 - "$digest" <<'PY' || fail "json output"
import json, subprocess, sys
d = json.load(open("doc.json"))
assert d["kind"] == "image" and d["format"] == "raw", d
assert d["image_digest"] == sys.argv[1], (d["image_digest"], sys.argv[1])
assert d["stamp"]["name"] == "web" and d["stamp"]["version"] == "1.4.0"
assert d["stamp"]["inputs"]["base"].startswith("sha256:2222")
assert d["os_release"]["IMAGE_ID"] == "web" and d["os_release"]["IMAGE_VERSION"] == "1.4.0"
# the table as sfdisk reads it
sf = json.loads(subprocess.check_output(["sfdisk", "--json", "disk.raw"]))["partitiontable"]
assert d["table"]["disk_guid"] == sf["id"].lower(), (d["table"], sf["id"])
for ours, theirs in zip(d["table"]["partitions"], sf["partitions"], strict=True):
    assert ours["partuuid"] == theirs["uuid"].lower()
    assert ours["offset"] == theirs["start"] * 512 and ours["size"] == theirs["size"] * 512
    assert ours["type_id"] == theirs["type"].lower()
    assert ours["label"] == theirs["name"]
# filesystems as blkid reads them
for p in d["table"]["partitions"]:
    out = subprocess.check_output(["blkid", "-p", "-o", "export", "-O", str(p["offset"]), "disk.raw"], text=True)
    kv = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    assert p["fs"] == kv["TYPE"], (p, kv)
    assert p["fs_uuid"].lower() == kv["UUID"].lower(), (p, kv)
    assert p["fs_label"] == kv.get("LABEL", ""), (p, kv)
PY
pass "json output matches sha256sum, sfdisk and blkid"

# qcow2: converted to a temporary raw in $TMPDIR (a directory of its own here); same digest as
# the raw; the temporary file is gone. qemu-img is the real one, behind a shim on PATH that notes
# its arguments, so the check looks at the very file baker had it write.
qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2
mkdir tmp shim
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s"\nexec %s "$@"\n' "$SCRATCH/qemu-img.args" "$(command -v qemu-img)" >shim/qemu-img
chmod +x shim/qemu-img
TMPDIR=$SCRATCH/tmp PATH=$SCRATCH/shim:$PATH "$BAKER" inspect --json disk.qcow2 >q.json
python3 - "$digest" <<'PY' || fail "qcow2"
import json, sys
d = json.load(open("q.json"))
assert d["format"] == "qcow2" and d["image_digest"] == sys.argv[1] and d["stamp"]["name"] == "web", d
PY
raw=$(tail -1 qemu-img.args)
case "$raw" in "$SCRATCH/tmp/baker-image-"*) ;; *) fail "the temporary raw '$raw' is not in TMPDIR";; esac
[ ! -e "$raw" ] || fail "temporary raw $raw left behind"
[ -z "$(ls -A tmp)" ] || fail "files left in TMPDIR: $(ls -A tmp)"
pass "qcow2"

"$MAKE" --table mbr disk-mbr.raw
"$BAKER" inspect --json disk-mbr.raw >m.json
python3 - <<'PY' || fail "mbr"
import json
d = json.load(open("m.json"))
assert d["table"]["type"] == "mbr" and len(d["table"]["partitions"]) == 2
assert d["table"]["partitions"][0]["type_id"] == "0xef" and d["stamp"]["name"] == "web", d
PY
pass "mbr"

# a manifest
cat >manifest.json <<'JSON'
{
  "manifest_version": 1, "name": "web", "version": "1.4.0",
  "bake_key": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
  "image_digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
  "image_size": 50331648, "created": "2023-11-14T22:13:20Z", "baker_version": "0.1.0",
  "layout": {"table": "gpt", "size": 50331648, "disk_guid": "6205e86d-d207-47e5-9833-3b80abe2fcd2",
             "partitions": [{"index": 1, "label": "root", "type": "root", "offset": 1048576, "size": 49000000,
                             "partuuid": "f9c7be0b-b9be-4129-8d45-c5d5049b1d8f", "fs": "ext4",
                             "fs_uuid": "5d4cc820-b37f-4d1f-90c6-e04ed50a56ea", "mount": "/"}]},
  "steps": [{"index": 1, "name": "unpack base", "kind": "unpack",
             "key": "sha256:4444444444444444444444444444444444444444444444444444444444444444", "seconds": 1.5, "cached": true}],
  "outputs": [{"file": "web.qcow2", "format": "qcow2", "compress": null, "size": 1234,
               "sha256": "sha256:5555555555555555555555555555555555555555555555555555555555555555"}]
}
JSON
expect_exit 0 "$BAKER" inspect manifest.json
out=$(cat "$SCRATCH/out")
for want in "name:         web" "image digest: sha256:3333" "web.qcow2 (qcow2) 1234 bytes sha256:5555" \
            "unpack base" "sha256:4444444444444444444444444444444444444444444444444444444444444444 (cached)" \
            "partuuid f9c7be0b-b9be-4129-8d45-c5d5049b1d8f ext4"; do
  grep -qF -- "$want" <<<"$out" || { echo "$out" >&2; fail "manifest output lacks '$want'"; }
done
"$BAKER" inspect --json manifest.json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["kind"] == "manifest" and d["manifest"]["bake_key"].startswith("sha256:1111")' || fail "manifest json"
pass "manifest"

# bad input: clear errors, exit 3, no crash
expect_exit 3 "$BAKER" inspect missing.raw
grep -q "cannot open 'missing.raw': No such file or directory" "$SCRATCH/out" || fail "missing file message"
head -c 3000000 /dev/urandom >noise.raw
expect_exit 3 "$BAKER" inspect noise.raw
grep -q "'noise.raw' is not a disk image" "$SCRATCH/out" || fail "non-image message"
echo "hello" >text.txt
expect_exit 3 "$BAKER" inspect text.txt
head -c $((20 << 20)) disk.raw >truncated.raw
expect_exit 3 "$BAKER" inspect truncated.raw
grep -q "image is truncated: 20971520 bytes" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "truncated message"; }
echo '{"name": "x"}' >bad.json
expect_exit 3 "$BAKER" inspect bad.json
grep -q "not a baker manifest: no 'bake_key'" "$SCRATCH/out" || fail "bad manifest message"
echo '{ not json' >broken.json
expect_exit 3 "$BAKER" inspect broken.json
expect_exit 2 "$BAKER" inspect
pass "bad input"
