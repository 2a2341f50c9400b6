#!/bin/bash
# Issue 13 items 11 and 13: one output folder, one bake at a time. A bake locks its output folder
# (flock on the directory): a second bake into it waits. The finished-bake check compares the
# outputs' digests, not their sizes: a same-size file from another bake in place of an output is
# rebuilt, never "unchanged". Under the lock, the ".NAME.*.tmp-XXXXXX" files a killed bake left are
# removed; nothing else is (another name's temporary file, a symlink, its target). No appliance.
source "$(dirname "$0")/../integration/lib.sh"
command -v flock >/dev/null || skip "flock not installed"
W=$SCRATCH/w
mkdir -p "$W"
cd "$W"

template() { # FILE CONTENT: the same name and disk, another /etc/motd
  cat > "$1" <<YAML
baker: 1
name: conc
version: "1.0"
disk:
  size: 16MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - file: { path: /etc/motd, content: "$2\n" }
outputs:
  - { format: raw }
YAML
}
template a.yaml "bake A"
template b.yaml "bake B"

"$BAKER" bake -o out a.yaml > a1.log 2>&1 || { cat a1.log >&2; fail "bake a"; }
A=$(sha256sum < out/conc.raw | cut -d' ' -f1)
"$BAKER" bake -o out-b b.yaml > b1.log 2>&1 || { cat b1.log >&2; fail "bake b"; }
[ "$(stat -c %s out-b/conc.raw)" = "$(stat -c %s out/conc.raw)" ] || fail "the two images differ in size"
cp out-b/conc.raw out/conc.raw
"$BAKER" bake -o out a.yaml > a2.log 2>&1 || { cat a2.log >&2; fail "bake a again"; }
grep -q "unchanged" a2.log && { cat a2.log >&2; fail "a same-size output of another bake counted as unchanged"; }
[ "$(sha256sum < out/conc.raw | cut -d' ' -f1)" = "$A" ] || fail "the output was not rebuilt"
python3 - out <<'PY' || fail "manifest does not describe the files beside it"
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
for o in m["outputs"]:
    h = hashlib.sha256(open(os.path.join(d, o["file"]), "rb").read()).hexdigest()
    assert o["sha256"] == "sha256:" + h, o
PY
pass "the finished-bake check compares digests"

# Another bake holds the folder: this one waits for it.
rm -f held
flock out -c 'touch held; sleep 4' &
track_pid $!
for _ in $(seq 50); do [ -e held ] && break; sleep 0.1; done
[ -e held ] || fail "flock did not take the folder"
start=$(date +%s%N)
"$BAKER" bake -o out a.yaml > a3.log 2>&1 || { cat a3.log >&2; fail "bake a while locked"; }
elapsed=$((($(date +%s%N) - start) / 1000000))
grep -q "waiting for another bake writing to 'out'" a3.log || { cat a3.log >&2; fail "no notice of the wait"; }
[ "$elapsed" -gt 2500 ] || fail "the bake did not wait for the lock (${elapsed} ms)"
pass "a second bake into the folder waits for the first (${elapsed} ms)"

# Debris of a killed bake goes; nothing else does.
echo victim > "$SCRATCH/victim"
head -c 1000 /dev/urandom > out/.conc.raw.tmp-Ab12Cd
head -c 1000 /dev/urandom > out/.manifest.json.tmp-Zz99Yy
echo keep > out/.other.raw.tmp-Qq11Ww
ln -s "$SCRATCH/victim" out/.conc.qcow2.tmp-Ss22Tt
"$BAKER" bake -o out a.yaml > a4.log 2>&1 || { cat a4.log >&2; fail "bake a with debris"; }
[ ! -e out/.conc.raw.tmp-Ab12Cd ] && [ ! -e out/.manifest.json.tmp-Zz99Yy ] || { ls -la out >&2; fail "debris left"; }
[ -e out/.other.raw.tmp-Qq11Ww ] && [ -L out/.conc.qcow2.tmp-Ss22Tt ] || { ls -la out >&2; fail "removed what is not debris"; }
[ "$(cat "$SCRATCH/victim")" = victim ] || fail "a symlink was followed"
pass "a killed bake's temporary files are removed under the lock, nothing else"
