#!/bin/bash
# Publishing to S3-compatible object storage: a real Swift with s3api (it verifies SigV4 signatures,
# Content-MD5 and part sizes) on 127.0.0.1. Push (multipart, parallel parts) and read the objects
# back through Swift's own API, re-push sends 0 bytes, the channel verbs, wrong credentials and a
# missing bucket, a connection cut mid-part then a resumed re-run, gc aborting an abandoned upload.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-swift.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"

start_swift "$SCRATCH/swift"
[ "$(swift_native PUT /images -o /dev/null -w '%{http_code}')" = 201 ] || fail "could not create the bucket"

# Credentials from a shared credentials file and a profile, as the AWS CLI reads them.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION
export HOME=$SCRATCH/home AWS_PROFILE=swift
mkdir -p "$HOME/.aws"
printf '[swift]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$SWIFT_ACCESS_KEY" "$SWIFT_SECRET" \
  > "$HOME/.aws/credentials"
# Parts of 5 MiB (the S3 minimum), so a 23 MiB image is 5 parts, sent 4 at a time.
export BAKER_S3_PART_SIZE=$((5 << 20)) BAKER_S3_PARALLEL=4
S3=s3://127.0.0.1:$SWIFT_PORT/images
head -c $((23 << 20)) /dev/urandom > web.raw
touch -d 2024-01-01T00:00:00Z web.raw
WEB_SHA=$(sha256sum web.raw | cut -c1-64)

"$BAKER" push --json web.raw "$S3/web:1.0" > push1.json
D1=$(jq -r .digest push1.json)
[ "$(jq -r .status push1.json)" = pushed ] || fail "first push did not push"
[ "$(jq -r .bytes_sent push1.json)" -ge $((23 << 20)) ] || fail "first push sent $(jq -r .bytes_sent push1.json) bytes"
# Swift's own API: the object is the image byte for byte, a multipart (SLO) object with baker's metadata.
swift_native GET "/images/web/blobs/sha256/$WEB_SHA" -o got.raw
cmp -s got.raw web.raw || fail "the object in Swift is not the image"
swift_native HEAD "/images/web/blobs/sha256/$WEB_SHA" -I | tr -d '\r' > head.txt
grep -qi "^x-static-large-object: true" head.txt || fail "not uploaded as a multipart object"
grep -qi "^x-object-meta-baker-digest: sha256:$WEB_SHA" head.txt || fail "no digest metadata"
grep -qi "^x-object-meta-baker-manifest: $D1" head.txt || fail "no manifest metadata"
grep -qi "^x-object-meta-baker-title: web.raw" head.txt || fail "no title metadata"
[ "sha256:$(swift_native GET "/images/web/manifests/sha256/${D1#sha256:}" | sha256sum | cut -c1-64)" = "$D1" ] \
  || fail "manifest object is not the manifest"
[ "$(swift_native GET /images/web/tags/1.0 | jq -r .digest)" = "$D1" ] || fail "tag object does not name the manifest"
pass "push: multipart upload, objects and metadata as documented"

"$BAKER" push --json web.raw "$S3/web:1.0" > push2.json
[ "$(jq -r .bytes_sent push2.json)" = 0 ] || fail "re-push sent $(jq -r .bytes_sent push2.json) bytes"
[ "$(jq -r .status push2.json)" = unchanged ] || fail "re-push not reported unchanged"
pass "re-push of an unchanged image: 0 bytes sent"

# A sparse image: its parts of zeros are copied on the server from one zero object (sent once per
# prefix), not sent.
truncate -s 30M sparse.raw
head -c $((5 << 20)) /dev/urandom | dd of=sparse.raw conv=notrunc status=none
"$BAKER" -v push --json sparse.raw "$S3/sparse:1" > sparse.json 2> sparse.err || { cat sparse.err; fail "sparse push failed"; }
grep -q "'sparse.raw' uploaded in 6 parts of 5242880 bytes: 0 already there, 5 of zeros copied" sparse.err \
  || { cat sparse.err; fail "parts of zeros were not copied on the server"; }
[ "$(jq -r .bytes_sent sparse.json)" -lt $((11 << 20)) ] || fail "sparse push sent $(jq -r .bytes_sent sparse.json) bytes"
swift_native GET "/images/sparse/blobs/sha256/$(sha256sum sparse.raw | cut -c1-64)" -o got.raw
cmp -s got.raw sparse.raw || fail "the sparse image in Swift differs"
pass "parts of zeros copied on the server: $(jq -r .bytes_sent sparse.json) bytes sent for 30 MiB"

"$BAKER" pull "$S3/web:1.0" pulled >/dev/null
cmp -s pulled/web.raw web.raw || fail "pulled image differs"
printf 'v2' | dd of=web.raw bs=1 seek=100 conv=notrunc status=none
"$BAKER" push --json web.raw "$S3/web:2.0" > push3.json
D2=$(jq -r .digest push3.json)
"$BAKER" promote "$S3/web:1.0" stable >/dev/null
"$BAKER" promote "$S3/web:2.0" stable >/dev/null
[ "$("$BAKER" resolve "$S3/web:stable" | head -1)" = "$D2" ] || fail "resolve after promote"
"$BAKER" rollback "$S3/web" stable >/dev/null
[ "$("$BAKER" resolve "$S3/web:stable" | head -1)" = "$D1" ] || fail "rollback did not restore the previous digest"
"$BAKER" history --json "$S3/web" stable > hist.json
[ "$(jq '.entries|length' hist.json)" = 3 ] || fail "history should have 3 entries"
pass "pull, promote, resolve, rollback, history"

# A template's publish: s3 entry (no prefix: the image's name), with a channel; baked twice, the
# second publish sends nothing.
cat > tiny.yaml <<YAML
baker: 1
name: tiny
version: "1.0"
disk:
  size: 16MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - file: { path: /etc/motd, content: "tiny\n" }
outputs:
  - { format: raw }
publish:
  - s3: { endpoint: "http://127.0.0.1:$SWIFT_PORT", bucket: images, region: us-east-1 }
channels: [nightly]
YAML
"$BAKER" bake --json -o out-tiny tiny.yaml > tiny1.json 2> tiny1.err || { cat tiny1.err; fail "bake with publish: s3 failed"; }
TD=$(jq -r 'select(.event == "publish") | .digest' tiny1.json)
[ -n "$TD" ] && [ "$TD" != null ] || { cat tiny1.json; fail "no publish event"; }
[ "$("$BAKER" resolve "$S3/tiny:nightly" | head -1)" = "$TD" ] || fail "channel nightly does not resolve to the bake"
"$BAKER" bake --json -o out-tiny tiny.yaml > tiny2.json 2> tiny2.err || { cat tiny2.err; fail "second bake failed"; }
[ "$(jq -r 'select(.event == "publish") | .bytes_sent' tiny2.json)" = 0 ] || { cat tiny2.json; fail "re-publish sent bytes"; }
pass "bake with publish: s3 and a channel; re-publish sends 0 bytes"

# Wrong secret: which backend, which access key id, the server's words; never the secret.
AWS_ACCESS_KEY_ID=$SWIFT_ACCESS_KEY AWS_SECRET_ACCESS_KEY=not-the-secret-4711 \
  expect_exit 6 "$BAKER" push web.raw "$S3/web:3.0"
grep -q "S3 's3://127.0.0.1:$SWIFT_PORT/images/web' (access key id 'test:tester'" out || { cat out; fail "error names no backend/key id"; }
grep -q "SignatureDoesNotMatch" out || { cat out; fail "server's message missing"; }
! grep -q "not-the-secret-4711" out || fail "the secret was printed"
expect_exit 6 "$BAKER" resolve "s3://127.0.0.1:$SWIFT_PORT/no-such-bucket/web:1.0"
grep -q "NoSuchBucket" out || { cat out; fail "missing bucket not named"; }
pass "wrong secret and missing bucket: clear errors, no secret"

# A network cut mid-part: 2 parts get through, every later one is reset after 1 MiB. The push
# fails; the re-run lists the parts already there and sends only the rest.
PPORT=$(free_port)
python3 "$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py" "$PPORT" "$SWIFT_PORT" 2 &
track_pid $!
wait_for 10 "the cutting proxy" curl -s -o /dev/null "http://127.0.0.1:$PPORT/healthcheck"
head -c $((23 << 20)) /dev/urandom > cut.raw
BAKER_HTTP_ATTEMPTS=2 expect_exit 6 "$BAKER" push cut.raw "s3://127.0.0.1:$PPORT/images/cut:1"
grep -q "next run resumes it" out || { cat out; fail "the cut push did not say it can resume"; }
"$BAKER" -v push --json cut.raw "$S3/cut:1" > cut.json 2> cut.err || { cat cut.err; fail "resumed push failed"; }
there=$(sed -n "s/.*resuming the upload of 'cut.raw': \([2-4]\) of 5 parts already there.*/\1/p" cut.err)
[ -n "$there" ] || { cat cut.err; fail "did not resume"; }
# Parts are 5 MiB, the last 3 MiB. Which ones got through the proxy depends on which threads were
# first (a part that finished early lets its worker start the last one): the parts there hold at
# least (N-1) x 5 + 3 MiB, and the resumed push sends at most the rest.
sent=$(jq -r .bytes_sent cut.json)
[ "$sent" -le $(( (23 - (there - 1) * 5 - 3) << 20 )) ] ||
  fail "resumed push sent $sent bytes for 23 MiB with $there parts there"
swift_native GET "/images/cut/blobs/sha256/$(sha256sum cut.raw | cut -c1-64)" -o got.raw
cmp -s got.raw cut.raw || fail "resumed upload corrupt"
pass "connection cut mid-part: resumed, $sent of $((23 << 20)) bytes sent again"

# An upload nobody resumes is aborted by gc.
head -c $((12 << 20)) /dev/urandom > lost.raw
BAKER_HTTP_ATTEMPTS=1 expect_exit 6 "$BAKER" push lost.raw "s3://127.0.0.1:$PPORT/images/web:lost"
BAKER_GC_MIN_AGE=0 "$BAKER" -v gc --keep 5 "$S3/web" > gc.out 2>&1 || { cat gc.out; fail "gc failed"; }
grep -q "aborted 1 abandoned multipart upload" gc.out || { cat gc.out; fail "gc did not abort the abandoned upload"; }
[ "$("$BAKER" resolve "$S3/web:stable" | head -1)" = "$D1" ] || fail "gc broke the channel"
pass "gc aborts an abandoned upload"
