#!/bin/bash
# SAS authentication on a real Azurite (npm, scripts/setup): account SAS tokens made as Azure's own
# tools make them, signed with the development account's key (azure-blob.py sas), given to baker in
# AZURE_STORAGE_SAS_TOKEN and in a connection string. Push (a page blob and block blobs) read back
# with the key, re-push 0 bytes, promote, resolve, pull, gc; a read-only SAS and an expired one fail
# (exit 6) naming the backend, the account and where the credentials came from, with the server's
# code; a connection cut mid page write names the request. In none of these outputs (human, -vv,
# --json) does a SAS or its signature appear, encoded or decoded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-azurite.sh" # the key goes only to its independent client, az
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
unset BAKER_GC_MIN_AGE
start_azurite
REF=azure+http://127.0.0.1:$PORT/$ACCOUNT/images/web

EXPIRY=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)
SAS=$(az sas racwdl "$EXPIRY")
READ_ONLY=$(az sas rl "$EXPIRY")
EXPIRED=$(az sas racwdl 2020-01-01T00:00:00Z)
# What must never be printed: each token, and its signature as sent (percent-encoded) and decoded.
SECRETS=()
for t in "$SAS" "$READ_ONLY" "$EXPIRED"; do
  SECRETS+=("$t" "$(sed 's/.*sig=\([^&]*\).*/\1/' <<<"$t")"
            "$(python3 -c 'import sys, urllib.parse; print(urllib.parse.parse_qs(sys.argv[1])["sig"][0])' "$t")")
done
keep_out() { cp "$SCRATCH/out" "$1"; } # expect_exit's output, kept for the final check

export AZURE_STORAGE_SAS_TOKEN=$SAS
head -c $((6 << 20)) /dev/urandom > web.raw
WEB_SHA=$(sha256sum web.raw | cut -c1-64)
"$BAKER" -vv push --json web.raw "$REF:1.0" > push1.json 2> push1.err || { cat push1.err >&2; fail "push with a SAS"; }
D1=$(jq -r .digest push1.json)
[ "$(jq -r .status push1.json)" = pushed ] || fail "push did not push"
az get "images/web/blobs/sha256/$WEB_SHA" got.raw
cmp -s got.raw web.raw || fail "the page blob is not the image"
[ "$(az props "images/web/blobs/sha256/$WEB_SHA" | jq -r '."x-ms-blob-type"')" = PageBlob ] || fail "not a page blob"
"$BAKER" -v push --json web.raw "$REF:1.0" > push2.json 2> push2.err || { cat push2.err >&2; fail "re-push"; }
[ "$(jq -r .bytes_sent push2.json)" = 0 ] || fail "re-push with a SAS sent bytes"
"$BAKER" -v promote --json "$REF:1.0" stable > promote.json 2> promote.err || { cat promote.err >&2; fail "promote"; }
[ "$("$BAKER" resolve "$REF:stable" | head -1)" = "$D1" ] || fail "resolve with a SAS"
"$BAKER" -v pull "$REF:stable" pulled > pull.out 2>&1 || { cat pull.out >&2; fail "pull with a SAS"; }
cmp -s pulled/web.raw web.raw || fail "pulled image differs"
pass "AZURE_STORAGE_SAS_TOKEN: push (page blob, read back with the key), re-push 0 bytes, promote, resolve, pull"

AZURE_STORAGE_SAS_TOKEN='' AZURE_STORAGE_CONNECTION_STRING="BlobEndpoint=$ENDPOINT/$ACCOUNT;SharedAccessSignature=$SAS" \
  "$BAKER" -v resolve --json "$REF:stable" > cs.json 2> cs.err || { cat cs.err >&2; fail "resolve with a connection string SAS"; }
grep -q "$D1" cs.json || fail "resolve through the connection string's SAS"
pass "a SAS in AZURE_STORAGE_CONNECTION_STRING"

head -c $((5 << 20)) /dev/urandom > web2.raw
AZURE_STORAGE_SAS_TOKEN=$READ_ONLY expect_exit 6 "$BAKER" -vv push --json web2.raw "$REF:2.0"
keep_out read-only.out
grep -q "azure-blob '$REF' (account '$ACCOUNT', credentials from AZURE_STORAGE_SAS_TOKEN): PUT .*status 403.*AuthorizationPermissionMismatch.*does not permit" \
  read-only.out || { cat read-only.out >&2; fail "read-only SAS message"; }
[ "$(AZURE_STORAGE_SAS_TOKEN=$READ_ONLY "$BAKER" resolve "$REF:stable" | head -1)" = "$D1" ] || fail "a read-only SAS cannot resolve"
AZURE_STORAGE_SAS_TOKEN=$EXPIRED expect_exit 6 "$BAKER" -vv resolve --json "$REF:stable"
keep_out expired.out
grep -q "azure-blob '$REF' (account '$ACCOUNT', credentials from AZURE_STORAGE_SAS_TOKEN): GET .*status 403.*check the SAS token" \
  expired.out || { cat expired.out >&2; fail "expired SAS message"; }
pass "a read-only SAS pushes nothing but resolves; an expired SAS: exit 6, backend, account, source, server's code"

# A connection cut in the first page write: the request is named, its SAS is not.
PROXY=$(free_port)
timeout 600 python3 "$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py" "$PROXY" "$PORT" 0 "comp=page" </dev/null >/dev/null 2>&1 &
track_pid $!
wait_for 20 "the proxy" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$PROXY"
BAKER_HTTP_ATTEMPTS=1 expect_exit 6 "$BAKER" -vv push --json web2.raw "azure+http://127.0.0.1:$PROXY/$ACCOUNT/images/web:2.0"
keep_out cut.out
grep -q "PUT http://127.0.0.1:$PROXY/$ACCOUNT/images/web/blobs/sha256/.*comp=page" cut.out || { cat cut.out >&2; fail "the cut request is not named"; }
BAKER_GC_MIN_AGE=0 "$BAKER" -vv gc --json --keep 1 "$REF" > gc.json 2> gc.err || { cat gc.err >&2; fail "gc with a SAS"; }
[ "$("$BAKER" resolve "$REF:stable" | head -1)" = "$D1" ] || fail "gc broke the channel"
pass "a cut mid page write names the request; gc with a SAS sweeps and keeps the channel"

for f in push1.json push1.err push2.json push2.err promote.json promote.err pull.out cs.json cs.err read-only.out \
  expired.out cut.out gc.json gc.err; do
  for s in "${SECRETS[@]}"; do
    ! grep -qF -- "$s" "$f" || fail "$f holds a SAS or its signature"
  done
done
pass "no SAS and no signature in any output (${#SECRETS[@]} strings, 14 outputs)"
