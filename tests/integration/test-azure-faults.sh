#!/bin/bash
# Azure page blob faults against a real Azurite (npm, scripts/setup). Azurite has no storage quota,
# so "the account is full" is played by the fault proxy (s3-cut-proxy.py status:507) in front of
# it, answering 507 Insufficient Storage to the page writes after the first two, as a full account
# would: the push fails naming the backend, the account and the answer, leaves no tag and a page blob
# without its digest, and the run after the "quota is raised" (straight to Azurite) resumes from Get
# Page Ranges. Ctrl-C (SIGINT) in the middle of a page write (slowed by the proxy) stops the push at
# once (exit 130), leaves no tag, and the next run resumes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-azurite.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
PROXY_PY=$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py
export AZURE_STORAGE_KEY=$DEV_KEY BAKER_HTTP_ATTEMPTS=1
start_azurite

# image FILE: 24 MiB (a multiple of 512: a page blob), data in 6 stretches of 3 MiB, zeros between.
image() {
  truncate -s 24M "$1"
  local i; for i in 0 1 2 3 4 5; do
    head -c $((3 << 20)) /dev/urandom | dd of="$1" bs=1M seek=$((i * 4)) conv=notrunc status=none
  done
}
# no_tag PREFIX TAG / undigested PREFIX SHA: the container has no tag object; the page blob is there
# without the digest metadata that makes it count as present.
no_tag() {
  ! az list images | grep -qx "$1/tags/$2" || fail "tag $1:$2 exists"
}
undigested() {
  az props "images/$1/blobs/sha256/$2" > props.json
  [ "$(jq -r '."x-ms-meta-bakerdigest" // "none"' props.json)" = none ] || fail "the unfinished blob has its digest"
}
# proxy FAULT: the fault proxy in front of Azurite, faulting page writes after the first two.
proxy() {
  PROXY=$(free_port)
  timeout 600 python3 "$PROXY_PY" "$PROXY" "$PORT" 2 comp=page "$1" </dev/null >/dev/null 2>&1 &
  PROXY_PID=$!
  track_pid $PROXY_PID
  wait_for 20 "the proxy" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$PROXY"
}

image q.raw
Q_SHA=$(sha256sum q.raw | cut -c1-64)
proxy status:507
expect_exit 6 "$BAKER" push q.raw "azure+http://127.0.0.1:$PROXY/$ACCOUNT/images/q:1"
grep -q "azure-blob .*account 'devstoreaccount1'.*PUT http://127.0.0.1:$PROXY/.*status 507 Insufficient Storage" out \
  || { cat out; fail "the refusal does not name the backend, the account and the status"; }
grep -q "refused by the fault proxy" out && grep -q "quota" out || { cat out; fail "no server message or quota hint"; }
! grep -q "$DEV_KEY" out || fail "the key was printed"
no_tag q 1
undigested q "$Q_SHA"
sed -n 's/.*\(status 507.*\)/  \1/p' out
pass "account full (507): exit 6 naming the backend, account and answer; no tag, the blob not counted as there"
kill "$PROXY_PID"

"$BAKER" -v push --json q.raw "azure+http://127.0.0.1:$PORT/$ACCOUNT/images/q:1" > q.json 2> q.err \
  || { cat q.err; fail "push after the quota was raised"; }
grep -q "resuming the upload" q.err || { cat q.err; fail "the re-run did not resume"; }
az get "images/q/blobs/sha256/$Q_SHA" got.raw
cmp -s got.raw q.raw || fail "the page blob after the quota was raised is not the image"
[ "$(jq -r .bytes_sent q.json)" -lt $((18 << 20)) ] || fail "the re-run sent $(jq -r .bytes_sent q.json) bytes"
[ "$("$BAKER" resolve "azure+http://127.0.0.1:$PORT/$ACCOUNT/images/q:1" | head -1)" = "$(jq -r .digest q.json)" ] \
  || fail "the tag does not resolve"
az list images | grep -qx "q/tags/1" || fail "no tag object where no_tag looks"
pass "quota raised: the re-run resumed ($(jq -r .bytes_sent q.json) bytes sent) and the tag names the image"

# Ctrl-C mid page write: the first two writes at full speed, later ones at 256 KiB/s; baker runs in
# the background (where a shell ignores SIGINT unless the program handles it).
image int.raw
INT_SHA=$(sha256sum int.raw | cut -c1-64)
proxy slow:262144
"$BAKER" push int.raw "azure+http://127.0.0.1:$PROXY/$ACCOUNT/images/int:1" > int.out 2>&1 &
BPID=$!
written() {
  az pages "images/int/blobs/sha256/$INT_SHA" 2>/dev/null |
    jq -e '[.[] | .[1] - .[0] + 1] | add >= 6291456' >/dev/null
}
wait_for 60 "two page writes" written
sleep 1
interrupt "$BPID" int.out
no_tag int 1
undigested int "$INT_SHA"
pass "Ctrl-C mid page write: exit 130 after $INTERRUPT_MS ms, no tag, the blob not counted as there"

"$BAKER" -v push --json int.raw "azure+http://127.0.0.1:$PORT/$ACCOUNT/images/int:1" > int.json 2> int.err \
  || { cat int.err; fail "push after the interrupt"; }
grep -q "resuming the upload" int.err || { cat int.err; fail "the run after Ctrl-C did not resume"; }
az get "images/int/blobs/sha256/$INT_SHA" got.raw
cmp -s got.raw int.raw || fail "the resumed page blob is not the image"
[ "$("$BAKER" resolve "azure+http://127.0.0.1:$PORT/$ACCOUNT/images/int:1" | head -1)" = "$(jq -r .digest int.json)" ] \
  || fail "the tag does not resolve"
pass "the run after Ctrl-C resumed ($(jq -r .bytes_sent int.json) bytes sent) and tagged the image"
