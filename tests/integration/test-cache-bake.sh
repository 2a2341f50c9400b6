#!/bin/bash
# The cache makes unchanged bakes free: a bake killed (SIGKILL) in the middle resumes from its last
# finished step and gives the digest of an uninterrupted bake; two bakes sharing one cache at the
# same time both succeed with identical images and leave no debris; an unchanged re-bake does no
# work ("unchanged", no step-begin); changing the last step re-runs only that step; `cache gc
# --max-size 1` empties the cache and the next bake rebuilds everything. Prints the timings.
source "$(dirname "$0")/lib.sh"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
IMAGE_DIFF=$BAKER_BUILD_DIR/tests/image-diff

T=$SCRATCH/t
mkdir -p "$T"
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel "$T/rootfs.tar"
cat > "$T/steps.yaml" <<'EOF'
baker: 1
name: steps
version: "1"
variables:
  last: { default: "first" }
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/one, content: "1\n" }
  - file: { path: /etc/two, content: "2\n" }
  - name: slow
    run: |
      sleep 4
      echo slept > /etc/slept
  - file: { path: /etc/last, content: "${var.last}\n" }
outputs:
  - { format: raw }
EOF

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
raw_digest() { echo "sha256:$(sha256sum < "$1/steps.raw" | cut -d' ' -f1)"; }
# statuses EVENTS.json: "1:cached 2:done …" from the step events
statuses() { python3 -c '
import json, sys
print(" ".join("%d:%s" % (e["index"], e["status"]) for e in map(json.loads, open(sys.argv[1])) if e["event"] == "step"))' "$1"; }
count_event() { python3 -c '
import json, sys
print(sum(1 for e in map(json.loads, open(sys.argv[1])) if e["event"] == sys.argv[2]))' "$1" "$2"; }
# descendants PID: every process below PID
descendants() { local c; for c in $(pgrep -P "$1" || true); do echo "$c"; descendants "$c"; done; }

K=$SCRATCH/cache
O=$SCRATCH/out
# Work directories in a temp directory of our own: another bake on this machine would (rightly)
# remove the killed bake's abandoned one before this test looks at it. The appliance cache stays shared.
export LIBGUESTFS_CACHEDIR=${LIBGUESTFS_CACHEDIR:-${TMPDIR:-/var/tmp}}
export TMPDIR=$SCRATCH/tmp
mkdir -m 0700 "$TMPDIR"

# ---- killed bake resumes -------------------------------------------------------------------
BAKER_CACHE=$K "$BAKER" bake --json -o "$O" "$T/steps.yaml" > "$SCRATCH/killed.json" 2> "$SCRATCH/killed.log" &
pid=$!; track_pid $pid
# qemu_running: step 3 is done, the appliance's qemu runs and the bake holds its work directory.
qemu_running() {
  kill -0 $pid 2>/dev/null || { cat "$SCRATCH/killed.log" >&2; fail "the bake ended before its appliance ran"; }
  grep -q '"index":3,.*"status":"done"' "$SCRATCH/killed.json" || return 1
  local k qemu=
  for k in $(descendants $pid); do grep -qs qemu "/proc/$k/comm" && qemu=$k; done
  [ -n "$qemu" ] || return 1
  local fds; fds=$(for f in /proc/$pid/fd/*; do readlink "$f"; done 2>/dev/null)
  grep -q "^$TMPDIR/baker-work-" <<<"$fds" # (not a pipe: grep -q's early exit fails it under pipefail)
}
wait_for 300 "the killed bake's appliance to start" qemu_running
kids=$(descendants $pid)
work=$(for f in /proc/$pid/fd/*; do readlink "$f"; done | grep -m1 "^$TMPDIR/baker-work-" || true)
[ -n "$work" ] || fail "the bake holds no work directory open"
kill -KILL $pid
wait $pid 2>/dev/null || true
# SIGKILL leaves the appliance's qemu (and libguestfs's recovery process) behind: kill them too.
for k in $kids; do track_pid "$k"; kill -KILL "$k" 2>/dev/null || true; done
grep -q '"index":4,.*"status":"done"' "$SCRATCH/killed.json" && fail "step 4 finished before the kill"
echo "killed with: $(statuses "$SCRATCH/killed.json"); killed children: $(echo $kids)"
[ -d "$work" ] || fail "no work directory left by the killed bake?"
touch -d "2 minutes ago" "$work" # past the grace a starting bake gets

t0=$(now)
BAKER_CACHE=$K "$BAKER" bake --json -o "$O" "$T/steps.yaml" > "$SCRATCH/resume.json" 2> "$SCRATCH/resume.log" ||
  { cat "$SCRATCH/resume.log" >&2; fail "resumed bake"; }
t_resume=$(elapsed "$t0" "$(now)")
[ "$(statuses "$SCRATCH/resume.json")" = "1:cached 2:cached 3:cached 4:done 5:done" ] ||
  fail "resumed bake: $(statuses "$SCRATCH/resume.json")"
resumed=$(raw_digest "$O")
[ ! -e "$work" ] || fail "the killed bake's work directory $work survived the next bake"
pass "killed bake resumes from step 4 (${t_resume}s)"

# ---- two concurrent bakes on one fresh cache; also the uninterrupted reference ------------------
K2=$SCRATCH/cache2
t0=$(now)
BAKER_CACHE=$K2 "$BAKER" bake --json -o "$SCRATCH/c1" "$T/steps.yaml" > "$SCRATCH/c1.json" 2> "$SCRATCH/c1.log" &
p1=$!; track_pid $p1
BAKER_CACHE=$K2 "$BAKER" bake --json -o "$SCRATCH/c2" "$T/steps.yaml" > "$SCRATCH/c2.json" 2> "$SCRATCH/c2.log" &
p2=$!; track_pid $p2
wait $p1 || { cat "$SCRATCH/c1.log" >&2; fail "concurrent bake 1"; }
wait $p2 || { cat "$SCRATCH/c2.log" >&2; fail "concurrent bake 2"; }
t_conc=$(elapsed "$t0" "$(now)")
d1=$(raw_digest "$SCRATCH/c1"); d2=$(raw_digest "$SCRATCH/c2")
[ "$d1" = "$d2" ] || { "$IMAGE_DIFF" "$SCRATCH/c1/steps.raw" "$SCRATCH/c2/steps.raw" >&2 || true; fail "concurrent bakes differ"; }
BAKER_CACHE=$K2 "$BAKER" cache ls --json > "$SCRATCH/ls2.json"
python3 - "$SCRATCH/ls2.json" <<'PY' || fail "cache after concurrent bakes"
import json, sys
d = json.load(open(sys.argv[1]))
ns = [i["namespace"] for i in d["items"]]
assert ns.count("steps") == 5 and ns.count("bakes") == 1 and ns.count("blobs") == 1, ns
assert all(i["namespace"] in ("steps", "bakes", "blobs") for i in d["items"]), d
PY
debris=$(find "$K2" -mindepth 1 \( -path "$K2/tmp/*" -o -name '*.tmp*' -o -name '.#*' -o -name 'trash*' \) -print)
[ -z "$debris" ] || fail "temp debris in the cache: $debris"
[ -z "$(ls -A "$SCRATCH/c1" | grep -v '^steps.raw$\|^manifest.json$')" ] || fail "debris in output 1: $(ls -A "$SCRATCH/c1")"
pass "two concurrent bakes on one cache: identical ($d1), no debris (${t_conc}s)"
[ "$resumed" = "$d1" ] || { "$IMAGE_DIFF" "$O/steps.raw" "$SCRATCH/c1/steps.raw" >&2 || true; fail "the resumed bake differs from an uninterrupted one"; }
pass "the resumed bake equals an uninterrupted bake with a separate cache"

# ---- unchanged re-bake ------------------------------------------------------------------------
t0=$(now)
BAKER_CACHE=$K "$BAKER" bake --json -o "$O" "$T/steps.yaml" > "$SCRATCH/unchanged.json" 2> "$SCRATCH/unchanged.log" ||
  { cat "$SCRATCH/unchanged.log" >&2; fail "unchanged re-bake"; }
t_unchanged=$(elapsed "$t0" "$(now)")
python3 - "$SCRATCH/unchanged.json" "$resumed" <<'PY' || fail "unchanged events"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e["event"] for e in ev]
assert "bake-unchanged" in kinds, kinds
assert not [k for k in kinds if k.startswith("step") or k in ("appliance-launch", "image", "output")], kinds
end = [e for e in ev if e["event"] == "bake-end"]
assert len(end) == 1 and end[0]["status"] == "unchanged" and end[0]["image_digest"] == sys.argv[2], end
PY
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 5 else 1)" "$t_unchanged" || fail "unchanged re-bake took ${t_unchanged}s"
pass "unchanged re-bake: no step ran (${t_unchanged}s)"

# A re-bake into an output directory whose image was altered is not "unchanged".
cp "$O/steps.raw" "$SCRATCH/keep.raw"; truncate -s 1M "$O/steps.raw"
BAKER_CACHE=$K "$BAKER" bake --json -o "$O" "$T/steps.yaml" > "$SCRATCH/repair.json" 2> "$SCRATCH/repair.log" || fail "re-bake over a damaged output"
[ "$(count_event "$SCRATCH/repair.json" bake-unchanged)" = 0 ] || fail "a damaged output counted as unchanged"
[ "$(raw_digest "$O")" = "$resumed" ] || fail "the repaired output differs"
[ "$(statuses "$SCRATCH/repair.json")" = "1:cached 2:cached 3:cached 4:cached 5:cached" ] || fail "repair: $(statuses "$SCRATCH/repair.json")"
pass "a damaged output is rebuilt from cached steps"

# ---- changed last step ------------------------------------------------------------------------
t0=$(now)
BAKER_CACHE=$K "$BAKER" bake --json --var last=second -o "$O" "$T/steps.yaml" > "$SCRATCH/last.json" 2> "$SCRATCH/last.log" ||
  { cat "$SCRATCH/last.log" >&2; fail "last-step re-bake"; }
t_last=$(elapsed "$t0" "$(now)")
[ "$(statuses "$SCRATCH/last.json")" = "1:cached 2:cached 3:cached 4:cached 5:done" ] || fail "last step: $(statuses "$SCRATCH/last.json")"
[ "$(count_event "$SCRATCH/last.json" step-begin)" = 1 ] || fail "more than one step began"
[ "$(count_event "$SCRATCH/last.json" appliance-launch)" = 0 ] || fail "the appliance was launched for a file step"
[ "$(raw_digest "$O")" != "$resumed" ] || fail "the changed step did not change the image"
pass "changing the last step re-runs only that step (${t_last}s)"

# ---- cache ls / gc, then a cold bake ----------------------------------------------------------
BAKER_CACHE=$K "$BAKER" cache ls --json > "$SCRATCH/ls.json"
python3 - "$SCRATCH/ls.json" <<'PY' || fail "cache ls"
import json, sys
d = json.load(open(sys.argv[1]))
ns = [i["namespace"] for i in d["items"]]
assert ns.count("steps") == 6 and ns.count("bakes") == 2 and ns.count("blobs") == 1, ns
assert d["count"] == len(ns) and d["total_size"] > 0
PY
BAKER_CACHE=$K "$BAKER" cache ls | grep -q "^bakes " || fail "human cache ls lists no bakes"
BAKER_CACHE=$K "$BAKER" cache gc --max-size 1 > "$SCRATCH/gc.out" || fail "cache gc"
BAKER_CACHE=$K "$BAKER" cache ls --json > "$SCRATCH/ls-after.json"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["count"] == 0, d' "$SCRATCH/ls-after.json" ||
  fail "gc --max-size 1 left items: $(cat "$SCRATCH/ls-after.json")"
pass "cache ls lists steps, bakes and blobs; gc --max-size 1 empties it"

t0=$(now)
BAKER_CACHE=$K "$BAKER" bake --json --var last=second -o "$O" "$T/steps.yaml" > "$SCRATCH/cold.json" 2> "$SCRATCH/cold.log" ||
  { cat "$SCRATCH/cold.log" >&2; fail "bake after gc"; }
t_cold=$(elapsed "$t0" "$(now)")
[ "$(statuses "$SCRATCH/cold.json")" = "1:done 2:done 3:done 4:done 5:done" ] || fail "after gc: $(statuses "$SCRATCH/cold.json")"
pass "after gc the bake rebuilds everything (${t_cold}s)"

# ---- a bake made with --skip-test does not make a tested bake "unchanged" -----------------------
sed -e 's/^name: steps/name: tested/' -e '/^steps:/,$d' "$T/steps.yaml" > "$T/tested.yaml"
cat >> "$T/tested.yaml" <<'EOF'
steps:
  - unpack: rootfs
outputs:
  - { format: raw }
test:
  boot: { firmware: bios, expect: "NEVER-PRINTED", timeout: 5s }
EOF
OT=$SCRATCH/tested
BAKER_CACHE=$K "$BAKER" bake --skip-test -o "$OT" "$T/tested.yaml" > "$SCRATCH/t1.log" 2>&1 || { cat "$SCRATCH/t1.log" >&2; fail "bake --skip-test"; }
BAKER_CACHE=$K "$BAKER" bake --json --skip-test -o "$OT" "$T/tested.yaml" > "$SCRATCH/t2.json" 2> "$SCRATCH/t2.log" || fail "re-bake --skip-test"
[ "$(count_event "$SCRATCH/t2.json" bake-unchanged)" = 1 ] || fail "re-bake --skip-test is not unchanged"
set +e
BAKER_CACHE=$K "$BAKER" bake --json -o "$OT" "$T/tested.yaml" > "$SCRATCH/t3.json" 2> "$SCRATCH/t3.log"
rc=$?
set -e
[ "$(count_event "$SCRATCH/t3.json" bake-unchanged)" = 0 ] || fail "an untested bake counted as unchanged for a tested one"
[ "$(count_event "$SCRATCH/t3.json" test-begin)" = 1 ] || fail "the boot test did not run"
[ $rc = 5 ] || { cat "$SCRATCH/t3.log" >&2; fail "failing boot test exited $rc"; }
pass "a bake with --skip-test does not make a later tested bake unchanged"

echo "timings: cold ${t_cold}s, unchanged ${t_unchanged}s, last step changed ${t_last}s, resume after kill ${t_resume}s, two concurrent cold ${t_conc}s"
