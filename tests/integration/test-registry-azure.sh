#!/bin/bash
# Publishing the fixed VHD to Azure page blobs on a real Azurite (npm, scripts/setup) with its
# well-known development account and SharedKey: the tiny template baked with `outputs: vhd` and
# published by its `publish: - azure-blob:` entry with a channel (plan shows the target); read back with an independent client (tests/integration/azure-blob.py): a page blob equal to the
# VHD byte for byte whose written page ranges are exactly the non-zero data (zeros never sent), with
# baker's metadata; a re-push sends 0 bytes; a wrong key and a missing container fail naming the
# backend and the account, never printing the key; a connection cut in the middle of a page write
# fails, and the re-run resumes from Get Page Ranges, sending only what was missing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-azurite.sh"
command -v jq >/dev/null || skip "jq not installed"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no host kernel in /boot (linux-image-amd64)"
cd "$SCRATCH"
export AZURE_STORAGE_KEY=$DEV_KEY
start_azurite

# The tiny template with a vhd output (160 MiB, mostly zeros), published to Azurite with a channel;
# no prefix: the image's name.
"$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" tiny.tar
sed -e "s|file: \.\./build/rootfs/tiny-rootfs.tar|file: $SCRATCH/tiny.tar|" -e '/^outputs:/,$d' \
  "$BAKER_SOURCE_DIR/templates/tiny.yaml" > tiny.yaml
cat >> tiny.yaml <<YAML
outputs:
  - { format: vhd }
publish:
  - azure-blob: { account: $ACCOUNT, container: images, endpoint: "http://127.0.0.1:$PORT" }
channels: [nightly]
YAML
REF=azure+http://127.0.0.1:$PORT/$ACCOUNT/images/tiny
"$BAKER" plan tiny.yaml > plan.txt || fail "plan"
grep -qx "publish: $REF" plan.txt && grep -qx "channels: nightly" plan.txt || { cat plan.txt >&2; fail "plan does not show the target"; }
start=$(date +%s.%N)
"$BAKER" bake --json --skip-test -o img1 tiny.yaml > bake1.json 2> bake1.log || { cat bake1.log >&2; fail "bake with publish: azure-blob"; }
jq -c 'select(.event == "publish")' bake1.json > push1.json
VHD_SHA=$(sha256sum img1/tiny.vhd | cut -c1-64)
VHD_SIZE=$(stat -c %s img1/tiny.vhd)
[ "$(jq -r .target push1.json)" = "$REF" ] && [ "$(jq -r .status push1.json)" = pushed ] || { cat bake1.json >&2; fail "no publish event"; }
[ "$("$BAKER" resolve "$REF:nightly" | head -1)" = "$(jq -r .digest push1.json)" ] || fail "channel nightly does not name the bake"
pass "bake publishing a $VHD_SIZE-byte vhd to azure-blob with channel nightly in $(echo "$(date +%s.%N) - $start" | bc) s, $(jq -r .bytes_sent push1.json) bytes sent"
az get "images/tiny/blobs/sha256/$VHD_SHA" got.vhd
cmp got.vhd img1/tiny.vhd || fail "the page blob is not the vhd"
az props "images/tiny/blobs/sha256/$VHD_SHA" > props.json
[ "$(jq -r '."x-ms-blob-type"' props.json)" = PageBlob ] || fail "not a page blob"
[ "$(jq -r '."x-ms-meta-bakerdigest"' props.json)" = "sha256:$VHD_SHA" ] || fail "no digest metadata"
[ "$(jq -r '."x-ms-meta-baker_title"' props.json)" = tiny.vhd ] || fail "no title metadata"
# The pages written are the vhd's non-zero 4 KiB blocks, and nothing else was sent for it.
az pages "images/tiny/blobs/sha256/$VHD_SHA" > pages.json
python3 - img1/tiny.vhd pages.json "$(jq -r .bytes_sent push1.json)" <<'PY' || fail "page ranges"
import json, sys
data = open(sys.argv[1], "rb").read()
ranges = json.load(open(sys.argv[2]))
written = sum(e - s + 1 for s, e in ranges)
nonzero = sum(4096 for i in range(0, len(data), 4096) if data[i:i + 4096].strip(b"\0"))
small = int(sys.argv[3]) - written  # the config and the like, block blobs
assert written <= nonzero + 512 and written >= nonzero - 4096, (written, nonzero)
assert 0 <= small < 65536, small
for s, e in ranges:
    assert data[s:e + 1].strip(b"\0"), ("a range of zeros was written", s, e)
print(f"{written} of {len(data)} bytes written as pages ({len(ranges)} ranges)")
PY
pass "a page blob equal to the vhd; only its non-zero blocks were written; digest and title metadata"

"$BAKER" push --json img1/manifest.json "$REF" > push2.json 2>/dev/null || fail "re-push"
[ "$(jq -r .bytes_sent push2.json)" = 0 ] && [ "$(jq -r .status push2.json)" = unchanged ] || fail "re-push sent bytes"
pass "re-push of the unchanged image: 0 bytes sent, unchanged"

# A wrong key: the backend and the account named, the server's words, the key never printed.
WRONG='AAAAWRONGKEYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=='
AZURE_STORAGE_KEY=$WRONG expect_exit 6 "$BAKER" push img1/manifest.json "$REF"
grep -q "azure-blob .*account 'devstoreaccount1'.*status 403" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "wrong key message"; }
grep -q "AAAAWRONGKEY" "$SCRATCH/out" && fail "the key was printed"
expect_exit 6 "$BAKER" push img1/manifest.json "azure+http://127.0.0.1:$PORT/$ACCOUNT/nocontainer/tiny"
grep -q "ContainerNotFound" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "missing container message"; }
pass "wrong key and missing container: clear errors (exit 6), no key printed"

# A connection cut in the middle of the third page write; the re-run resumes. Another image (new
# motd), so its vhd is a new blob.
sed -i -e 's|tiny, baked by baker|tiny, baked again|' -e 's|^version: "1.0.0"|version: "1.0.1"|' tiny.yaml
expect_exit 0 "$BAKER" bake --skip-test --no-publish -o img2 tiny.yaml
PROXY=$(free_port)
timeout 600 python3 "$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py" "$PROXY" "$PORT" 2 "comp=page" </dev/null >/dev/null 2>&1 &
track_pid $!
wait_for 20 "the proxy" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$PROXY"
BAKER_HTTP_ATTEMPTS=1 expect_exit 6 "$BAKER" push img2/manifest.json "azure+http://127.0.0.1:$PROXY/$ACCOUNT/images/tiny"
grep -q "PUT http://127.0.0.1:$PROXY/.*comp=page" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "no error for the cut page write"; }
"$BAKER" push --json img2/manifest.json "$REF" > push3.json 2> push3.log || { cat push3.log >&2; fail "push after the cut"; }
grep -q "resuming the upload" push3.log || { cat push3.log >&2; fail "the re-run did not resume"; }
V2_SHA=$(sha256sum img2/tiny.vhd | cut -c1-64)
az get "images/tiny/blobs/sha256/$V2_SHA" got2.vhd
cmp got2.vhd img2/tiny.vhd || fail "the resumed page blob is not the vhd"
[ "$(jq -r .bytes_sent push3.json)" -lt "$(jq -r .bytes_sent push1.json)" ] || fail "the resumed push sent everything again"
pass "cut mid page write: exit 6, the re-run resumed ($(jq -r .bytes_sent push3.json) bytes sent) and the blob is the vhd"
