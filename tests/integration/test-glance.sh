#!/bin/bash
# Publishing to OpenStack Glance: Debian's glance-api on 127.0.0.1 (sqlite, file store, no auth:
# a clouds.yaml entry with `auth_type: none` and an endpoint). The tiny image is baked once (no
# boot test) with `publish: - glance: { cloud: … }` and `channels: [staging]`; then: the image is
# active with the right formats, properties and sha512, its bytes are what baker sent; re-publishing
# sends 0 bytes; a raw copy and a second version; promote, resolve, rollback; a deactivated image
# is refused by resolve and skipped by rollback; a missing cloud and a dead endpoint fail clearly.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-glance.sh"
cd "$SCRATCH"

PORT=$(free_port)
write_glance_config "$SCRATCH/glance" "$PORT"
start_glance "$SCRATCH/glance" "$PORT"
API=http://127.0.0.1:$PORT

cat > clouds.yaml <<EOF
clouds:
  local:
    auth_type: none
    auth:
      endpoint: $API
  dead:
    auth_type: none
    auth:
      endpoint: http://127.0.0.1:$(free_port)
EOF
export OS_CLIENT_CONFIG_FILE=$SCRATCH/clouds.yaml
export BAKER_HTTP_ATTEMPTS=1

# The tiny template, published to Glance as qcow2 with the properties Nova reads.
"$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" "$SCRATCH/tiny.tar" >/dev/null
sed -e "s|file: \.\./build/rootfs/tiny-rootfs.tar|file: $SCRATCH/tiny.tar|" \
    -e 's|^  - { format: qcow2 }|  - { format: qcow2 }\n  - { format: raw }|' \
    -e 's|content: "tiny, baked by baker\\n"|content: "${var.motd}\\n"|' \
    -e 's|^epoch: 1700000000|&\nvariables:\n  motd: { default: one }|' \
    "$BAKER_SOURCE_DIR/templates/tiny.yaml" > tiny.yaml
cat >> tiny.yaml <<'EOF'
publish:
  - glance:
      cloud: local
      format: qcow2
      properties: { os_distro: debian, os_version: "12" }
channels: [staging]
EOF
grep -q 'motd' tiny.yaml || fail "the template variant did not take the variable"
start=$(date +%s.%N)
"$BAKER" bake --skip-test --json -o images tiny.yaml > bake.json 2> bake.err || { cat bake.err >&2; fail "bake"; }
pass "bake + publish to glance in $(echo "$(date +%s.%N) - $start" | bc) s"
EV=$(jq -c 'select(.event == "publish")' bake.json)
[ -n "$EV" ] || { cat bake.json >&2; fail "no publish event"; }
ID=$(jq -r .image_id <<<"$EV")
D1=$(jq -r .image_digest images/manifest.json)
[ "$(jq -r .digest <<<"$EV")" = "$D1" ] || fail "the publish event names another digest"
[ "$(jq -r .bytes_sent <<<"$EV")" = "$(stat -c %s images/tiny.qcow2)" ] || fail "bytes_sent is not the qcow2's size"

curl -sf "$API/v2/images/$ID" > img.json
check() { [ "$(jq -r ".$1" img.json)" = "$2" ] || fail "image $1 is '$(jq -r ".$1" img.json)', expected '$2'"; }
check status active
check disk_format qcow2
check container_format bare
check os_distro debian
check os_version 12
check hw_firmware_type bios
check hw_disk_bus virtio
check baker_image_digest "$D1"
check baker_bake_key "$(jq -r .bake_key images/manifest.json)"
check baker_version 1.0.0
check os_hash_algo sha512
check os_hash_value "$(sha512sum images/tiny.qcow2 | cut -d' ' -f1)"
check size "$(stat -c %s images/tiny.qcow2)"
jq -e '.tags | index("baker")' img.json >/dev/null || fail "no 'baker' tag"
curl -sf "$API/v2/images/$ID/file" -o got.qcow2
cmp -s got.qcow2 images/tiny.qcow2 || fail "glance holds other bytes"
pass "image active: formats, os_distro/os_version/hw_*, baker properties, sha512 and bytes match"

# The reference client's library sees the same (python3-glanceclient; its `glance` command line
# cannot build its parser under Debian 12's current python3.11 argparse: "--stores: conflicting
# option string").
/usr/bin/python3 - "$API" "$ID" > client.txt <<'PY' || fail "glanceclient could not read the image"
import sys
from glanceclient import Client
img = Client("2", endpoint=sys.argv[1], token="unused").images.get(sys.argv[2])
print(img["status"], img["baker_image_digest"], img["os_hash_value"])
PY
[ "$(cat client.txt)" = "active $D1 $(sha512sum images/tiny.qcow2 | cut -d' ' -f1)" ] || fail "glanceclient sees '$(cat client.txt)'"
pass "glanceclient reads the image"

# Re-publishing: nothing sent, the same image.
"$BAKER" push --json images/manifest.json glance:local/tiny > p2.json
[ "$(jq -r .bytes_sent p2.json)" = 0 ] || fail "re-publish sent $(jq -r .bytes_sent p2.json) bytes"
[ "$(jq -r .status p2.json)" = unchanged ] || fail "re-publish not unchanged"
[ "$(jq -r .image_id p2.json)" = "$ID" ] || fail "re-publish made another image"
[ "$(curl -sf "$API/v2/images?name=tiny" | jq '.images | length')" = 1 ] || fail "more than one image after re-publish"
pass "re-publish sends 0 bytes"

# The raw output is another Glance image of the same digest.
"$BAKER" push --json --format raw images/manifest.json glance:local/tiny > raw.json
RAW=$(jq -r .image_id raw.json)
[ "$RAW" != "$ID" ] && [ "$(jq -r .disk_format raw.json)" = raw ] || fail "raw publish"
[ "$(curl -sf "$API/v2/images/$RAW" | jq -r .os_hash_value)" = "$(sha512sum images/tiny.raw | cut -d' ' -f1)" ] \
  || fail "raw image hash"
pass "raw upload ($(jq -r .bytes_sent raw.json) bytes)"

# Channels: the template's staging channel, then prod through promote/rollback.
"$BAKER" resolve --json glance:local/tiny:staging > r1.json
[ "$(jq -r .image_id r1.json)" = "$ID" ] && [ "$(jq -r .digest r1.json)" = "$D1" ] || fail "resolve staging"
"$BAKER" bake --skip-test --no-publish --var motd=two -o images2 tiny.yaml > /dev/null 2>&1 || fail "second bake"
"$BAKER" push --json images2/manifest.json glance:local/tiny > v2.json
ID2=$(jq -r .image_id v2.json)
D2=$(jq -r .image_digest images2/manifest.json)
[ "$D2" != "$D1" ] || fail "the second version has the same digest"
"$BAKER" promote glance:local/tiny:staging prod > /dev/null
"$BAKER" promote --json "glance:local/tiny@$D2" prod > pr.json
[ "$(jq -r .status pr.json)" = promoted ] && [ "$(jq -r .previous pr.json)" = "$ID" ] || { cat pr.json; fail "promote"; }
[ "$("$BAKER" resolve glance:local/tiny:prod | head -1)" = "$D2" ] || fail "resolve after promote"
curl -sf "$API/v2/images?tag=prod" | jq -e --arg id "$ID2" '[.images[].id] == [$id]' >/dev/null \
  || fail "the plain 'prod' tag is not on exactly the promoted image"
"$BAKER" promote --json "glance:local/tiny@$D2" prod > pr2.json
[ "$(jq -r .status pr2.json)" = unchanged ] || fail "promoting the same image again moved the channel"
"$BAKER" rollback glance:local/tiny prod > /dev/null
[ "$("$BAKER" resolve glance:local/tiny:prod | sed -n 2p)" = "$ID" ] || fail "rollback"
pass "promote, resolve, rollback (history in glance tags)"

# Revoked (deactivated) images: resolve refuses, rollback skips.
"$BAKER" promote "glance:local/tiny@$D2" prod > /dev/null
curl -sf -X POST "$API/v2/images/$ID2/actions/deactivate" || fail "deactivate"
expect_exit 6 "$BAKER" resolve glance:local/tiny:prod
grep -q "revoked" "$SCRATCH/out" || fail "resolve of a deactivated image does not say revoked"
"$BAKER" rollback glance:local/tiny prod > /dev/null
[ "$("$BAKER" resolve glance:local/tiny:prod | sed -n 2p)" = "$ID" ] || fail "rollback past a deactivated image"
pass "deactivated image refused by resolve, skipped by rollback"

# Clear errors: an unknown cloud, an endpoint that does not answer, a bad reference.
expect_exit 6 "$BAKER" push images/manifest.json glance:nosuch/tiny
grep -q "cloud 'nosuch' not found in '$SCRATCH/clouds.yaml' (it has: local, dead)" "$SCRATCH/out" \
  || { cat "$SCRATCH/out"; fail "unknown cloud message"; }
expect_exit 6 "$BAKER" push images/manifest.json glance:dead/tiny
grep -q "127.0.0.1" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "dead endpoint message"; }
expect_exit 2 "$BAKER" resolve glance:local/tiny@sha256:nothex
pass "unknown cloud, dead endpoint, bad reference"
