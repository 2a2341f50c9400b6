#!/bin/bash
# Bad input gets a clear error, and nothing is lost: for each failure the exit code (outcome.h), the
# message's content, no file under the output names (nor temp files) in OUTPUT, no half entry in
# the cache; after the last one a corrected bake succeeds with the same OUTPUT and cache.
# Only the failing script and the interrupted bake launch the appliance (plus the final bake).
source "$(dirname "$0")/lib.sh"
T0=$(date +%s)
[ -x /bin/busybox ] || skip "busybox-static is missing"
export BAKER_HTTP_ATTEMPTS=2 BAKER_HTTP_BACKOFF_MS=50
W=$SCRATCH/w
OUT=$W/out
mkdir -p "$W/srv" "$W/bb/usr/bin" "$W/big"
sha() { sha256sum "$1" | cut -d' ' -f1; }

cp /bin/busybox "$W/bb/usr/bin/busybox"
ln -s usr/bin "$W/bb/bin"
ln -s busybox "$W/bb/usr/bin/sh"
mkdir "$W/bb/tmp" "$W/bb/etc"
tar --owner=0 --group=0 --numeric-owner -C "$W/bb" -czf "$W/good.tar.gz" bin etc usr tmp
cp "$W/good.tar.gz" "$W/srv/good.tar.gz"
# Corrupt: a byte run inside the deflate stream overwritten; truncated: the first half only.
python3 - "$W/good.tar.gz" "$W/corrupt.tar.gz" "$W/truncated.tar.gz" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
n = len(d)
c = bytearray(d)
c[n // 3:n // 3 + 64] = b"\xa5" * 64
open(sys.argv[2], "wb").write(c)
open(sys.argv[3], "wb").write(d[:n // 2])
import io, tarfile
for out, name in ((sys.argv[1].replace("good", "dotdot"), "usr/../../evil"), (sys.argv[1].replace("good", "absolute"), "/etc/evil")):
    with tarfile.open(out, "w:gz") as tf:
        ti = tarfile.TarInfo(name)
        ti.size = 5
        tf.addfile(ti, io.BytesIO(b"evil\n"))
PY
# 40 MiB that do not compress, for a 32 MiB root partition.
head -c $((40 << 20)) /dev/urandom > "$W/big/blob"
tar -C "$W/big" -cf "$W/big.tar" blob

python3 "$BAKER_SOURCE_DIR/tests/integration/http-server.py" --root "$W/srv" --port-file "$W/port" --log "$W/http.log" &
track_pid $!
wait_for 10 "the HTTP server's port file" test -e "$W/port"
PORT=$(cat "$W/port")
DEAD_PORT=$(free_port)

# tmpl NAME INPUT-YAML STEPS-YAML [ROOT-SIZE]: a template bt.yaml in $W, output name "et".
tmpl() {
  cat > "$W/$1.yaml" <<EOF
baker: 1
name: et
version: "1"
epoch: 1700000000
inputs:
  rootfs: { $2 }
disk:
  size: ${4:-64MiB}
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
$3
outputs:
  - { format: qcow2 }
EOF
}
file_input() { echo "file: $1, sha256: \"$(sha "$W/$1")\""; }

# nothing_lost: no output under its final name, no temp file in OUTPUT, no bake or half entry in
# the cache, no blob whose content is not its name, no baker temp dir of ours left in /var/tmp.
nothing_lost() {
  local what=$1
  if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then ls -lA "$OUT" >&2; fail "$what: files left in OUTPUT"; fi
  if [ -d "$BAKER_CACHE/bakes" ] && [ -n "$(ls -A "$BAKER_CACHE/bakes")" ]; then fail "$what: a bake entry was committed"; fi
  if [ -d "$BAKER_CACHE/tmp" ] && [ -n "$(ls -A "$BAKER_CACHE/tmp")" ]; then ls -lA "$BAKER_CACHE/tmp" >&2; fail "$what: cache temp left"; fi
  if [ -d "$BAKER_CACHE/partial" ] && [ -n "$(find "$BAKER_CACHE/partial" -type f -newer "$W/stamp" ! -name '*.part' ! -name '*.resume')" ]; then
    find "$BAKER_CACHE/partial" -ls >&2; fail "$what: unexpected files in cache/partial"
  fi
  for b in "$BAKER_CACHE"/blobs/sha256/*; do
    [ -e "$b" ] || continue
    [ "$(sha "$b")" = "$(basename "$b")" ] || fail "$what: blob $(basename "$b") has other content"
  done
  for d in "$BAKER_CACHE"/steps/*/; do
    [ -d "$d" ] || continue
    [ -s "$d/tree.tar" ] || fail "$what: step entry $d without its tree.tar"
  done
}

# bad NAME CODE PATTERN...: bakes $W/NAME.yaml, expects exit CODE and each grep -E PATTERN in the output.
bad() {
  local name=$1 code=$2; shift 2
  touch "$W/stamp"
  expect_exit "$code" "$BAKER" bake --skip-test -o "$OUT" "$W/$name.yaml"
  for p in "$@"; do
    grep -qE -- "$p" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "$name: message lacks /$p/"; }
  done
  nothing_lost "$name"
  pass "$name: exit $code, $(grep -m1 -E 'error' "$SCRATCH/out" | cut -c1-150)"
}

tmpl corrupt "$(file_input corrupt.tar.gz)" ""
bad corrupt 4 "corrupt\.tar\.gz" "corrupt"
tmpl dotdot "$(file_input dotdot.tar.gz)" ""
bad dotdot 4 "dotdot\.tar\.gz" "usr/\.\./\.\./evil"
tmpl absolute "$(file_input absolute.tar.gz)" ""
bad absolute 4 "absolute\.tar\.gz" "/etc/evil"
tmpl truncated "$(file_input truncated.tar.gz)" ""
bad truncated 4 "truncated\.tar\.gz" "usr/bin/busybox|truncated|unexpected end"
tmpl toobig "$(file_input big.tar)" "" 40MiB
bad toobig 4 "partition 'root'" "[0-9]+ bytes short"
sed -e 's|^  partitions:$|&\n    - { label: esp, type: esp, size: 33MiB, fs: vfat, mount: /boot/efi }|' \
    -e 's|^  - unpack: rootfs$|  - { unpack: rootfs, to: /boot/efi }|' "$W/toobig.yaml" > "$W/toobigfat.yaml"
sed -i 's|size: 40MiB|size: 128MiB|' "$W/toobigfat.yaml"
bad toobigfat 4 "partition 'esp' \(/boot/efi\)" "[0-9]+ bytes short"
tmpl unreachable "url: \"http://127.0.0.1:$DEAD_PORT/good.tar.gz\", sha256: \"$(sha "$W/good.tar.gz")\"" ""
bad unreachable 3 "http://127\.0\.0\.1:$DEAD_PORT/good\.tar\.gz" "[Cc]onnect|refused"
tmpl notfound "url: \"http://127.0.0.1:$PORT/status/404/good.tar.gz\", sha256: \"$(sha "$W/good.tar.gz")\"" ""
bad notfound 3 "http://127\.0\.0\.1:$PORT/status/404/good\.tar\.gz" "404"
tmpl mismatch "url: \"http://127.0.0.1:$PORT/files/good.tar.gz\", sha256: \"$(printf '0%.0s' $(seq 64))\"" ""
bad mismatch 3 "0{64}" "$(sha "$W/good.tar.gz")"
[ ! -e "$BAKER_CACHE/blobs/sha256/$(sha "$W/good.tar.gz")" ] || fail "mismatch: the download was stored"
tmpl missing "$(file_input good.tar.gz)" "  - run: provisioners/does-not-exist.sh"
bad missing 2 "missing\.yaml:[0-9]+:[0-9]+" "does-not-exist\.sh"

# A failing script: step name, exit code, last lines (first appliance launch).
tmpl failing "$(file_input good.tar.gz)" "  - { name: breaks, run: \"echo first-line; echo last-words; exit 3\" }"
bad failing 4 "breaks" "exit code 3" "last-words"
# reported once (log once, at the boundary that knows the step): not by the appliance code too
n=$(grep -c "failed with exit code 3" "$SCRATCH/out" || true)
[ "$n" = 1 ] || { cat "$SCRATCH/out" >&2; fail "failing: the failure was reported $n times, not once"; }
grep -qE "failing\.yaml:[0-9]+:[0-9]+: error: step 'breaks' failed with exit code 3; last lines:" "$SCRATCH/out" ||
  { cat "$SCRATCH/out" >&2; fail "failing: the one report lacks the step's position or its last lines"; }
pass "failing: reported once, at the step, with its last lines"

# Interrupted while a run step sleeps (second launch): exit 130, nothing left behind.
tmpl slow "$(file_input good.tar.gz)" "  - run: \"echo sleeping; sleep 120\""
touch "$W/stamp"
"$BAKER" bake --skip-test -o "$OUT" "$W/slow.yaml" > "$W/slow.log" 2>&1 &
bpid=$!
track_pid $bpid
poll 300 grep -qs '\] sleeping$' "$W/slow.log" || { cat "$W/slow.log"; fail "the slow step never started"; }
# The bake's work dir (held open by baker, and holding qemu's scratch disk).
qpid=$(pgrep -P $bpid | while read -r c; do grep -q qemu "/proc/$c/cmdline" 2>/dev/null && echo "$c"; done | head -1 || true)
[ -n "$qpid" ] || fail "no qemu child of the bake found"
WORK=$( { ls -l "/proc/$bpid/fd"; tr '\0' '\n' < "/proc/$qpid/cmdline"; } 2>/dev/null |
        grep -oE '/var/tmp/baker-(bake|work)-[A-Za-z0-9]+' | head -1 || true)
[ -n "$WORK" ] && [ -d "$WORK" ] || fail "the bake's work dir was not found"
kill -INT $bpid
set +e; wait $bpid; rc=$?; set -e
[ $rc = 130 ] || { cat "$W/slow.log"; fail "interrupted bake exited $rc, expected 130"; }
wait_for 10 "qemu $qpid to stop after the interrupt" gone "$qpid"
nothing_lost interrupted
[ ! -e "$WORK" ] || { ls -la "$WORK"; fail "interrupted: work dir $WORK left behind"; }
pass "interrupted: exit 130, nothing left in OUTPUT, the cache or /var/tmp"

# The corrected template bakes (third launch) into the same OUTPUT with the same cache.
tmpl fixed "$(file_input good.tar.gz)" "  - run: \"echo fixed > /etc/fixed\""
"$BAKER" bake --skip-test -o "$OUT" "$W/fixed.yaml" > "$W/fixed.log" 2>&1 || { cat "$W/fixed.log"; fail "corrected bake failed"; }
[ -s "$OUT/et.qcow2" ] && [ -s "$OUT/manifest.json" ] || fail "corrected bake: outputs missing"
qemu-img check "$OUT/et.qcow2" > /dev/null || fail "corrected bake: qemu-img check"
[ "$(ls -A "$OUT" | wc -l)" = 2 ] || { ls -A "$OUT"; fail "corrected bake: stray files in OUTPUT"; }
pass "the corrected bake succeeds in the same OUTPUT and cache"
echo "time: $(( $(date +%s) - T0 ))s"
