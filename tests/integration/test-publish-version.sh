#!/bin/bash
# A published version is never moved to other content (issue 10): a bake that would publish a new
# image under a version the registry holds already fails with exit 6, names the fix (raise
# `version`), and leaves the version tag and the channels where they were; the same image again is
# `unchanged`; a raised version publishes and moves the channel. `baker push` keeps the same rule;
# a tag that is not the image's version (one named in the reference) still moves.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"
cd "$SCRATCH"

PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$PORT/images/v
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel rootfs.tar
cat > v.yaml <<EOF
baker: 1
name: v
version: "1.\${var.build}"
epoch: 1700000000
variables:
  build: { default: "0" }
  content: { default: "a" }
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/content, content: "\${var.content}\n" }
outputs:
  - { format: raw }
publish:
  - oci: "$R"
channels: [nightly]
EOF
published() { jq -r 'select(.event == "publish") | .digest' "$1"; }
resolve() { "$BAKER" resolve "$R:$1" | head -1; }

"$BAKER" bake --json -o images v.yaml > b1.json
D1=$(published b1.json)
[ -n "$D1" ] && [ "$(resolve 1.0)" = "$D1" ] && [ "$(resolve nightly)" = "$D1" ] || fail "first publish"
expect_exit 6 "$BAKER" bake --var content=b -o images v.yaml
grep -q "version '1.0' is published already as $D1" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "refusal does not name the version and its digest"; }
grep -q "raise 'version'" "$SCRATCH/out" || fail "refusal does not say how to go on"
[ "$(resolve 1.0)" = "$D1" ] || fail "the version tag moved"
[ "$(resolve nightly)" = "$D1" ] || fail "the channel moved to a refused image"
pass "a new image under a published version: exit 6, version and channel unmoved"

"$BAKER" bake --json -o images v.yaml > b2.json
[ "$(published b2.json)" = "$D1" ] || fail "the same image again did not publish the same digest"
[ "$(jq -r 'select(.event == "publish") | .status' b2.json)" = unchanged ] || fail "the same image again: not unchanged"
"$BAKER" bake --json --var content=b --var build=1 -o images v.yaml > b3.json
D3=$(published b3.json)
[ -n "$D3" ] && [ "$D3" != "$D1" ] || fail "raised version: no new digest"
[ "$(resolve 1.1)" = "$D3" ] && [ "$(resolve nightly)" = "$D3" ] && [ "$(resolve 1.0)" = "$D1" ] ||
  fail "raised version: tags wrong"
pass "the same image republishes unchanged; a raised version publishes and moves the channel"

expect_exit 6 "$BAKER" push images/manifest.json "$R:1.0"
grep -q "is never moved to other content" "$SCRATCH/out" || fail "push to another version's tag not refused"
"$BAKER" push images/manifest.json "$R:candidate" >/dev/null
"$BAKER" bake --var build=2 -o out2 v.yaml >/dev/null 2>&1 || fail "bake of 1.2"
"$BAKER" push --json out2/manifest.json "$R:candidate" > moved.json
[ "$(resolve candidate)" = "$(jq -r .digest moved.json)" ] && [ "$(jq -r .digest moved.json)" != "$D3" ] ||
  fail "a tag that is not the image's version did not move"
pass "push: a version's tag refuses other content, another tag moves"
