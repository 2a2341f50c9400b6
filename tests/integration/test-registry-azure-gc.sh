#!/bin/bash
# baker gc on Azure Blob Storage, a real Azurite (npm, scripts/setup) with its development account:
# the versions no channel names beyond the newest --keep go with their blobs (page blobs included),
# what a channel names stays and pulls back byte for byte, --dry-run deletes nothing; a page blob an
# interrupted upload left behind (named by no manifest) stays while younger than BAKER_GC_MIN_AGE and
# is swept once older. Blobs are checked with an independent client (azure-blob.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-azurite.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
export AZURE_STORAGE_KEY=$DEV_KEY
unset BAKER_GC_MIN_AGE
start_azurite
REF=azure+http://127.0.0.1:$PORT/$ACCOUNT/images/web
blobs() { az list images | grep '^web/blobs/' | sort; }
has_blob() { blobs | grep -qx "web/blobs/sha256/$1"; }

# Three versions of 5 MiB (page blobs), the first in channel stable.
for v in 1 2 3; do
  head -c $((5 << 20)) /dev/urandom > v$v.raw
  "$BAKER" push --json v$v.raw "$REF:$v" > push$v.json || fail "push $v"
  eval "D$v=\$(jq -r .digest push$v.json) S$v=\$(sha256sum v$v.raw | cut -c1-64)"
done
"$BAKER" promote "$REF:1" stable >/dev/null || fail "promote"
[ "$(az props "images/web/blobs/sha256/$S2" | jq -r '."x-ms-blob-type"')" = PageBlob ] \
  || fail "version 2 is not a page blob"

# An upload cut in its first page write leaves a page blob named by no manifest.
head -c $((8 << 20)) /dev/urandom > lost.raw
LOST=$(sha256sum lost.raw | cut -c1-64)
PROXY=$(free_port)
timeout 600 python3 "$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py" "$PROXY" "$PORT" 0 "comp=page" </dev/null >/dev/null 2>&1 &
track_pid $!
wait_for 20 "the proxy" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$PROXY"
BAKER_HTTP_ATTEMPTS=1 expect_exit 6 "$BAKER" push lost.raw "azure+http://127.0.0.1:$PROXY/$ACCOUNT/images/web:lost"
has_blob "$LOST" || fail "the cut upload left no page blob"
blobs > before.txt

"$BAKER" gc --dry-run --keep 1 "$REF" > dry.txt || { cat dry.txt >&2; fail "gc --dry-run"; }
grep -qx "would delete $D2" dry.txt && [ "$(grep -c '^would delete' dry.txt)" = 1 ] || { cat dry.txt >&2; fail "dry run"; }
blobs | cmp -s - before.txt || fail "gc --dry-run deleted blobs"
pass "gc --dry-run names only the unchanneled older version and deletes nothing"

"$BAKER" gc --json --keep 1 "$REF" > gc1.json || { cat gc1.json >&2; fail "gc"; }
[ "$(jq -c .deleted gc1.json)" = "[\"$D2\"]" ] || { cat gc1.json >&2; fail "gc deleted the wrong versions"; }
! has_blob "$S2" || fail "the deleted version's page blob is still there"
has_blob "$S1" && has_blob "$S3" || fail "gc deleted a kept version's blob"
has_blob "$LOST" || fail "gc swept an upload younger than BAKER_GC_MIN_AGE"
expect_exit 6 "$BAKER" resolve "$REF:2"
grep -q "not found\|no such\|missing\|does not exist" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "resolve of the deleted tag says nothing"; }
[ "$("$BAKER" resolve "$REF:stable" | head -1)" = "$D1" ] || fail "gc broke channel stable"
"$BAKER" pull "$REF:stable" pulled >/dev/null || fail "pull stable after gc"
cmp -s pulled/v1.raw v1.raw || fail "the channel's image differs after gc"
pass "gc --keep 1: version 2 and its page blob gone; the channel's version and the newest stay and pull back"

BAKER_GC_MIN_AGE=0 "$BAKER" -v gc --keep 1 "$REF" > gc2.txt 2>&1 || { cat gc2.txt >&2; fail "gc with no minimum age"; }
! has_blob "$LOST" || fail "the abandoned page blob was not swept"
has_blob "$S1" && has_blob "$S3" || fail "the sweep deleted a live blob"
"$BAKER" pull "$REF:3" pulled3 >/dev/null && cmp -s pulled3/v3.raw v3.raw || fail "the newest version after the sweep"
pass "the abandoned page blob is swept once older than BAKER_GC_MIN_AGE; live blobs stay"
