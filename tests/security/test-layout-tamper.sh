#!/bin/bash
# Issue 13 item 10: reads from an OCI image layout are verified like reads from a registry. A tag
# pull accepted a manifest whose bytes no longer matched index.json's digest (and said every digest
# was verified); a digest of "sha256:../../…" in index.json read a file outside the layout; a digest
# shorter than "sha256:" read past the end of the string. Each is refused, with a message, and
# nothing is written to the destination.
source "$(dirname "$0")/../integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
truncate -s 1M web.raw
printf 'baker tamper test' | dd of=web.raw bs=1 seek=5000 conv=notrunc status=none
"$BAKER" push --json web.raw "oci-layout:$SCRATCH/lay/web:1.0" > push.json
D=$(jq -r .digest push.json)
"$BAKER" pull "oci-layout:$SCRATCH/lay/web:1.0" good >/dev/null 2>&1 || fail "untampered pull failed"
pass "untampered pull"
cp lay/web/index.json index.orig

refused() { # WHAT MESSAGE-REGEX
  expect_exit_nonzero "$BAKER" pull "oci-layout:$SCRATCH/lay/web:1.0" "dest-$1"
  grep -Eq "$2" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "$1: no message matching '$2'"; }
  grep -q "every digest verified" "$SCRATCH/out" && fail "$1: claims every digest verified"
  if [ -d "dest-$1" ] && [ -n "$(ls -A "dest-$1")" ]; then ls -la "dest-$1" >&2; fail "$1: files written to the destination"; fi
  pass "$1 refused"
}
expect_exit_nonzero() {
  set +e; "$@" >"$SCRATCH/out" 2>&1; local got=$?; set -e
  [ "$got" != 0 ] || { cat "$SCRATCH/out" >&2; fail "'$*' succeeded"; }
}

# 1. The manifest's bytes changed after index.json named them (still valid JSON, same layers).
M=lay/web/blobs/sha256/${D#sha256:}
cp "$M" manifest.orig
jq -c '. + {"annotations": {"tampered": "yes"}}' manifest.orig > "$M"
refused tampered-manifest "failed verification"
cp manifest.orig "$M"

# 2. index.json names a "digest" that climbs out of blobs/sha256/ to a file beside the layout
#    (a copy of the genuine manifest: read, it would pull fine).
cp manifest.orig lay/outside.json
jq --arg d "sha256:../../../outside.json" '.manifests[0].digest = $d' index.orig > lay/web/index.json
refused dotdot-digest "invalid digest"

# 3. A digest shorter than the algorithm prefix, and one with upper-case hex.
jq '.manifests[0].digest = "sha25"' index.orig > lay/web/index.json
refused short-digest "invalid digest"
jq --arg d "$(echo "$D" | tr a-f A-F | sed 's/^SHA256/sha256/')" '.manifests[0].digest = $d' index.orig > lay/web/index.json
refused upper-digest "invalid digest"

cp index.orig lay/web/index.json
"$BAKER" pull "oci-layout:$SCRATCH/lay/web:1.0" good2 >/dev/null 2>&1 || fail "restored layout does not pull"
pass "the restored layout pulls again"
