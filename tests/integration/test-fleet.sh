#!/bin/bash
# Many bakes at once: `baker bake A.yaml B.yaml …` and a build file (templates × variable sets)
# with --jobs, sharing one cache; lines prefixed by the target's name, --json events carrying it;
# a summary table and the exit status of the first failure. --jobs 2 over three templates, one
# failing: with --fail-fast the slow one is stopped (exit 130 inside, nothing under a final name)
# and the third never starts; without it the two others finish. Ctrl-C stops every bake.
# Templates without run steps (no appliance), so it is quick.
source "$(dirname "$0")/lib.sh"

W=$SCRATCH/w
mkdir -p "$W/srv"
cd "$W"
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel "$W/srv/rootfs.tar"
sha() { sha256sum "$1" | cut -d' ' -f1; }
python3 "$BAKER_SOURCE_DIR/tests/integration/http-server.py" --root "$W/srv" --port-file "$W/port" --log "$W/http.log" &
track_pid $!
for _ in $(seq 50); do [ -e "$W/port" ] && break; sleep 0.1; done
PORT=$(cat "$W/port")

# template NAME INPUT-LINE: a small template without run steps
template() {
  cat > "$W/$1.yaml" <<EOF
baker: 1
name: $1
version: "1"
epoch: 1700000000
variables:
  flavour: { default: "plain" }
inputs:
  $2
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/flavour, content: "$1 \${var.flavour}\n" }
outputs:
  - { format: raw }
EOF
}
SUM=$(sha "$W/srv/rootfs.tar")
template ok "rootfs: { file: srv/rootfs.tar, sha256: \"$SUM\" }"
template other "rootfs: { file: srv/rootfs.tar, sha256: \"$SUM\" }"
template slow "rootfs: { url: \"http://127.0.0.1:$PORT/slow/6000/rootfs.tar\", sha256: \"$SUM\" }"
template bad "rootfs: { file: srv/rootfs.tar, sha256: \"$(echo x | sha256sum | cut -d' ' -f1)\" }"

digest_of() { jq -r .image_digest "$1/manifest.json"; }
row() { grep -E "^$1 " "$SCRATCH/out" | tr -s ' '; }

# ---- several templates, --jobs 2, shared cache -------------------------------------------------
expect_exit 0 "$BAKER" bake --jobs 2 -o out1 ok.yaml other.yaml
grep -q '^\[ok\] .*baked ok' "$SCRATCH/out" || fail "ok's lines are not prefixed"
grep -q '^\[other\] ' "$SCRATCH/out" || fail "other's lines are not prefixed"
[[ "$(row ok)" == "ok baked "* ]] || fail "summary row for ok: $(row ok)"
[[ "$(row other)" == "other baked "* ]] || fail "summary row for other: $(row other)"
D_OK=$(digest_of out1/ok)
row ok | grep -q " ${D_OK:7:12} " || fail "the summary does not show ok's digest"
"$BAKER" bake -o single ok.yaml > /dev/null 2>&1
[ "$(digest_of single)" = "$D_OK" ] || fail "a fleet bake differs from a single bake"
expect_exit 0 "$BAKER" bake --jobs 2 -o out1 ok.yaml other.yaml
[[ "$(row ok)" == "ok unchanged "* ]] || fail "the re-bake is not unchanged: $(row ok)"
pass "two templates, --jobs 2: prefixed lines, summary, same digest as a single bake, unchanged again"

# ---- a build file: templates × variable sets, --json ------------------------------------------
cat > "$W/bakefile.yaml" <<'EOF'
jobs: 2
targets:
  - template: ok.yaml
    matrix:
      flavour: [salt, pepper]
  - template: other.yaml
    name: other-custom
    vars: { flavour: custom }
    output: built/other
EOF
"$BAKER" bake --json -o out2 > "$SCRATCH/events.json" 2> "$SCRATCH/events.err" || { cat "$SCRATCH/events.err"; fail "bakefile bake"; }
python3 - "$SCRATCH/events.json" <<'EOF' || fail "the --json events do not carry the template"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
ends = {e["template"]: e for e in ev if e["event"] == "bake-end"}
assert set(ends) == {"ok-salt", "ok-pepper", "other-custom"}, ends
assert all("template" in e for e in ev if e["event"] not in ("fleet-begin", "fleet-end")), ev
res = [e for e in ev if e["event"] == "fleet-end"][0]["results"]
assert [r["status"] for r in res] == ["baked"] * 3, res
EOF
[ "$(cat out2/ok-salt/../ok-pepper/manifest.json | jq -r .name)" = ok ] || fail "ok-pepper has no manifest"
[ -f built/other/manifest.json ] || fail "the target's own output directory was not used"
[ "$(digest_of out2/ok-salt)" != "$(digest_of out2/ok-pepper)" ] || fail "the matrix values did not reach the bakes"
expect_exit 0 "$BAKER" bake -o out2 --target ok-pepper
[[ "$(row ok-pepper)" == "ok-pepper unchanged "* ]] || fail "--target: $(row ok-pepper)"
row ok-salt && fail "--target baked another target"
# The CI matrix: one entry per target, with the bake's own key, and whether the cache has it.
"$BAKER" plan --matrix > "$SCRATCH/matrix.json" || fail "plan --matrix"
[ "$(wc -l < "$SCRATCH/matrix.json")" = 1 ] || fail "the matrix is not one line"
[ "$(jq -r '[.include[].name] | join(" ")' "$SCRATCH/matrix.json")" = "ok-salt ok-pepper other-custom" ] || fail "matrix names"
for n in ok-salt ok-pepper; do
  [ "$(jq -r --arg n $n '.include[] | select(.name == $n) | .bake_key' "$SCRATCH/matrix.json")" = \
    "$(jq -r .bake_key out2/$n/manifest.json)" ] || fail "matrix key of $n differs from its bake's"
done
[ "$(jq -r '.include[0].command' "$SCRATCH/matrix.json")" = "baker bake -f bakefile.yaml --target ok-salt" ] || fail "command"
[ "$(jq -r '.include[0].vars.flavour' "$SCRATCH/matrix.json")" = salt ] || fail "vars"
[ "$(jq -r '[.include[].cached] | all' "$SCRATCH/matrix.json")" = true ] || fail "baked targets not cached"
BAKER_CACHE=$SCRATCH/cold "$BAKER" plan --matrix ok.yaml > "$SCRATCH/cold.json"
[ "$(jq -r '.include[0].cached' "$SCRATCH/cold.json")" = false ] || fail "an empty cache holds it"
expect_exit 2 "$BAKER" plan --matrix --var flavour=x bad-missing.yaml
pass "plan --matrix: one line, names, keys equal to the bakes', cached true/false, command"

printf 'targets:\n  - template: ok.yaml\n    colour: red\n' > "$W/broken.yaml"
expect_exit 2 "$BAKER" bake -f broken.yaml
grep -q "broken.yaml:3:5: error: unknown key 'colour'" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "bad build file error"; }
pass "build file: matrix × templates, own outputs, --target, --json events with template, file:line:col errors"

# ---- one failing of three, --jobs 2 ----------------------------------------------------------
# slow (6 s in its download) and bad (a wrong pin, exit 3) start; ok waits for a free slot.
export BAKER_CACHE=$SCRATCH/cache-ff
t0=$(date +%s)
expect_exit 3 "$BAKER" bake --jobs 2 --fail-fast -o out3 slow.yaml bad.yaml ok.yaml
[ $(( $(date +%s) - t0 )) -lt 5 ] || fail "--fail-fast waited for the slow bake"
[[ "$(row slow)" == "slow stopped "* ]] || { cat "$SCRATCH/out"; fail "slow was not stopped: $(row slow)"; }
[[ "$(row bad)" == "bad failed (3) "* ]] || fail "bad: $(row bad)"
[[ "$(row ok)" == "ok skipped "* ]] || fail "ok: $(row ok)"
[ -z "$(find out3 -type f 2>/dev/null)" ] || { find out3; fail "the stopped bake left files"; }
[ -z "$(find "$BAKER_CACHE/tmp" -mindepth 1 2>/dev/null)" ] || { find "$BAKER_CACHE/tmp"; fail "temporary files left in the cache"; }
pgrep -f "out3/slow" && fail "the stopped bake is still running"
pass "--fail-fast: exit 3, slow stopped with nothing left, ok skipped"

export BAKER_CACHE=$SCRATCH/cache-kg
expect_exit 3 "$BAKER" bake --jobs 2 -o out4 slow.yaml bad.yaml ok.yaml
[[ "$(row slow)" == "slow baked "* ]] || fail "slow: $(row slow)"
[[ "$(row bad)" == "bad failed (3) "* ]] || fail "bad: $(row bad)"
[[ "$(row ok)" == "ok baked "* ]] || fail "ok: $(row ok)"
[ -f out4/slow/manifest.json ] && [ -f out4/ok/manifest.json ] || fail "the two others did not finish"
pass "keep-going: exit 3, the two others baked"

# ---- Ctrl-C stops every bake -----------------------------------------------------------------
export BAKER_CACHE=$SCRATCH/cache-int
"$BAKER" bake --jobs 2 -o out5 slow.yaml ok.yaml > "$SCRATCH/int.out" 2>&1 &
pid=$!; track_pid $pid
for _ in $(seq 100); do grep -q '^\[ok\] baked' "$SCRATCH/int.out" && break; sleep 0.1; done
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ $rc = 130 ] || { cat "$SCRATCH/int.out"; fail "interrupted fleet exited $rc"; }
grep -Eq '^slow +stopped' "$SCRATCH/int.out" || { cat "$SCRATCH/int.out"; fail "slow not stopped"; }
[ ! -e out5/slow/manifest.json ] && [ -z "$(find out5/slow -type f)" ] || fail "the interrupted bake left files"
pass "SIGINT: exit 130, every bake stopped"
