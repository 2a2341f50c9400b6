#!/bin/bash
# Publishing to an OCI image-layout directory: push a small image and a bake manifest, read them
# back with an independent client (skopeo), pull with verification, and drive the channel verbs.
source "$(dirname "$0")/lib.sh"
command -v skopeo >/dev/null || skip "skopeo not installed"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"

# A 4 MiB sparse raw image with a few bytes of content.
truncate -s 4M web.raw
printf 'baker layout test' | dd of=web.raw bs=1 seek=1000000 conv=notrunc status=none
touch -d 2024-01-01T00:00:00Z web.raw
L=oci-layout:$SCRATCH/registry/web

"$BAKER" push --json web.raw "$L:1.0" > push1.json
D1=$(jq -r .digest push1.json)
[ "$(jq -r .status push1.json)" = pushed ] || fail "first push did not push"
[ -f registry/web/oci-layout ] && [ -f registry/web/index.json ] || fail "no OCI layout written"

# Re-push: nothing sent, same manifest digest (deterministic manifest).
"$BAKER" push --json web.raw "$L:1.0" > push2.json
[ "$(jq -r .bytes_sent push2.json)" = 0 ] || fail "re-push sent $(jq -r .bytes_sent push2.json) bytes"
[ "$(jq -r .status push2.json)" = unchanged ] || fail "re-push not reported unchanged"
[ "$(jq -r .digest push2.json)" = "$D1" ] || fail "re-push changed the manifest digest"
pass "push and unchanged re-push (0 bytes)"

# skopeo reads baker's layout: manifest digest, blob digests, and a copy out of it.
[ "sha256:$(skopeo inspect --raw "oci:registry/web:1.0" | sha256sum | cut -d' ' -f1)" = "$D1" ] \
  || fail "skopeo sees another manifest"
skopeo inspect --raw "oci:registry/web:1.0" > m.json
[ "$(jq -r .artifactType m.json)" = application/vnd.baker.image.v1 ] || fail "artifactType missing"
LAYER=$(jq -r '.layers[0].digest' m.json)
[ "$LAYER" = "sha256:$(sha256sum web.raw | cut -d' ' -f1)" ] || fail "layer digest differs from the image's"
skopeo copy -q "oci:registry/web:1.0" "dir:$SCRATCH/copy" >/dev/null
cmp -s copy/"${LAYER#sha256:}" web.raw || fail "skopeo copy gave other bytes"
pass "skopeo inspect/copy of the layout, digests match"

# containerdisk variant: a real image config skopeo can inspect, disk/<name>.raw owned by 107.
"$BAKER" push --json --containerdisk web.raw "$L:cd" > cd.json
skopeo inspect "oci:registry/web:cd" > cdi.json
[ "$(jq -r .Digest cdi.json)" = "$(jq -r .digest cd.json)" ] || fail "containerdisk digest differs"
TARL=$(jq -r '.Layers[0]' cdi.json)
tar -tvf "registry/web/blobs/sha256/${TARL#sha256:}" --numeric-owner | grep -q ' 107/107 .*disk/web.raw$' \
  || fail "containerdisk tar lacks disk/web.raw owned by 107"
pass "containerdisk"

# A bake manifest.json with its outputs beside it.
mkdir bake && cp web.raw bake/web.raw && qemu-img convert -O qcow2 web.raw bake/web.qcow2 2>/dev/null || cp web.raw bake/web.qcow2
cat > bake/manifest.json <<JSON
{"name":"web","version":"1.4.0","bake_key":"sha256:$(printf k | sha256sum | cut -d' ' -f1)",
 "image_digest":"sha256:$(sha256sum web.raw | cut -d' ' -f1)", "created":"2024-01-02T03:04:05Z",
 "outputs":[{"file":"web.qcow2","format":"qcow2","size":$(stat -c %s bake/web.qcow2),"sha256":"$(sha256sum bake/web.qcow2 | cut -d' ' -f1)"},
            {"file":"web.raw","format":"raw","size":$(stat -c %s bake/web.raw),"sha256":"$(sha256sum bake/web.raw | cut -d' ' -f1)"}]}
JSON
"$BAKER" push --json bake/manifest.json "$L" > push3.json
[ "$(jq -r .tag push3.json)" = 1.4.0 ] || fail "tag did not default to the version"
D3=$(jq -r .digest push3.json)
skopeo inspect --raw "oci:registry/web:1.4.0" | jq -e '.annotations["org.opencontainers.image.version"] == "1.4.0" and
  .annotations["org.opencontainers.image.created"] == "2024-01-02T03:04:05Z" and (.layers|length) == 2 and
  .config.mediaType == "application/vnd.baker.image.config.v1+json"' >/dev/null || fail "manifest annotations/layers wrong"
"$BAKER" pull "$L:1.4.0" pulled >/dev/null
# The config blob is the manifest in canonical form (build telemetry left out): same JSON.
cmp -s pulled/web.qcow2 bake/web.qcow2 && [ "$(jq -S . pulled/manifest.json)" = "$(jq -S . bake/manifest.json)" ] ||
  fail "pull gave other bytes"
# A corrupted blob is refused by pull.
chmod u+w "registry/web/blobs/sha256/${LAYER#sha256:}"
cp "registry/web/blobs/sha256/${LAYER#sha256:}" saved.blob
printf X | dd of="registry/web/blobs/sha256/${LAYER#sha256:}" bs=1 seek=5 conv=notrunc status=none
expect_exit 6 "$BAKER" pull "$L:1.0" pulled2
grep -q 'failed verification' "$SCRATCH/out" || fail "corruption not reported"
cp saved.blob "registry/web/blobs/sha256/${LAYER#sha256:}"
pass "pull verifies digests"

# Channels.
"$BAKER" promote "$L@$D1" prod >/dev/null
"$BAKER" promote "$L:1.4.0" prod >/dev/null
[ "$("$BAKER" resolve "$L:prod" | head -1)" = "$D3" ] || fail "resolve after promote"
"$BAKER" revoke "$L@$D3" --reason "kernel panic on boot" >/dev/null 2>&1
expect_exit 6 "$BAKER" resolve "$L:prod"
grep -q revoked "$SCRATCH/out" || fail "resolve did not say revoked"
expect_exit 6 "$BAKER" promote "$L@$D3" staging
"$BAKER" rollback "$L" prod >/dev/null
[ "$("$BAKER" resolve "$L:prod" | head -1)" = "$D1" ] || fail "rollback did not restore the previous digest"
"$BAKER" history --json "$L" prod > hist.json
[ "$(jq '.entries|length' hist.json)" = 3 ] || fail "history should have 3 entries"
jq -e '.entries[1].revoked == true and .entries[0].action == "rollback"' hist.json >/dev/null || fail "history marks"
"$BAKER" history --json "$L" > versions.json
jq -e --arg d "$D3" '.versions[] | select(.digest == $d) | .revoked' versions.json >/dev/null || fail "versions lack revoked"
# The history lives in the layout itself, readable by skopeo.
skopeo inspect --raw "oci:registry/web:baker.channel.prod" | jq -e '.artifactType == "application/vnd.baker.channel.v1"' >/dev/null \
  || fail "history manifest not in the layout"
pass "promote/resolve/revoke/rollback/history"

# gc keeps channel targets and the newest N.
before=$(ls registry/web/blobs/sha256 | wc -l)
BAKER_GC_MIN_AGE=0 "$BAKER" gc --json "$L" --keep 1 > gc.json
after=$(ls registry/web/blobs/sha256 | wc -l)
# Every blob left is reachable from index.json, and every reachable one is there.
python3 - registry/web <<'PY' || fail "layout after gc: unreachable or missing blobs"
import json, os, sys
d = sys.argv[1]
blob = lambda x: os.path.join(d, "blobs/sha256", x.split(":")[1])
live = set()
def mark(dg):
    if dg in live: return
    live.add(dg)
    m = json.load(open(blob(dg)))
    for e in [m.get("config")] + m.get("layers", []):
        if e: live.add(e["digest"])
    for e in m.get("manifests", []): mark(e["digest"])
for e in json.load(open(os.path.join(d, "index.json")))["manifests"]: mark(e["digest"])
have = {"sha256:" + f for f in os.listdir(os.path.join(d, "blobs/sha256"))}
sys.exit(0 if have == live else 1)
PY
[ "$after" -lt "$before" ] || fail "gc removed no blobs"
jq -e --arg d "$D1" '.kept | index($d) != null' gc.json >/dev/null || fail "gc removed what prod points at"
[ "$("$BAKER" resolve "$L:prod" | head -1)" = "$D1" ] || fail "prod broken by gc"
for d in $(jq -r '.deleted[]' gc.json); do
  [ ! -e "registry/web/blobs/sha256/${d#sha256:}" ] || fail "deleted manifest blob still there"
done
skopeo inspect --raw "oci:registry/web:1.0" >/dev/null || fail "layout unreadable after gc"
pass "gc"

# push --channel: the channel moves only after the manifest is in.
make_v3() { truncate -s 4M v3.raw; printf 'v3' | dd of=v3.raw bs=1 seek=77 conv=notrunc status=none; }
make_v3
"$BAKER" push --json --channel nightly v3.raw "$L:3.0" > p3.json
jq -e '.channels[0].name == "nightly" and .channels[0].moved' p3.json >/dev/null || fail "push --channel"
[ "$("$BAKER" resolve "$L:nightly" | head -1)" = "$(jq -r .digest p3.json)" ] || fail "nightly not at the pushed digest"
"$BAKER" push --json --channel nightly v3.raw "$L:3.0" | jq -e '.status == "unchanged" and (.channels[0].moved|not)' >/dev/null \
  || fail "unchanged push moved the channel"
pass "push --channel"
