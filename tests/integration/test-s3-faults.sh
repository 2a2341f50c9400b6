#!/bin/bash
# S3 faults against a real Swift with s3api (lib-swift.sh): a bucket over its quota (Swift's own
# container_quotas middleware, which s3api answers as 400 EntityTooLarge) fails naming the backend
# and the server's words, leaves no tag and no image object, and the re-run after the quota is
# raised resumes and succeeds; Ctrl-C (SIGINT) in the middle of a multipart upload stops the push at
# once (exit 130), leaves no tag and no image object, and the next run resumes the finished parts.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-swift.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
PROXY_PY=$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py

start_swift "$SCRATCH/swift"
[ "$(swift_native PUT /images -o /dev/null -w '%{http_code}')" = 201 ] || fail "could not create the bucket"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION
export AWS_ACCESS_KEY_ID=$SWIFT_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SWIFT_SECRET
# 23 MiB in parts of 5 MiB: 5 parts, 2 at a time.
export BAKER_S3_PART_SIZE=$((5 << 20)) BAKER_S3_PARALLEL=2 BAKER_HTTP_ATTEMPTS=1
S3=s3://127.0.0.1:$SWIFT_PORT/images

# quota QUOTA-BYTES: the bucket's and its multipart segments' container quota (s3api keeps parts
# in BUCKET+segments, which counts for itself). Swift checks a PUT against the container's byte count
# as its proxy cached it (for a minute), so only a quota below one part trips at a known request: a
# quota smaller than 5 MiB refuses the first part.
quota() {
  local c code
  for c in images images+segments; do
    code=$(swift_native PUT "/$c" -H "X-Container-Meta-Quota-Bytes: $1" -o /dev/null -w '%{http_code}')
    case $code in 201|202|204) ;; *) fail "setting the quota of $c: status $code" ;; esac
  done
}
# no_object KEY: Swift's own API does not have the object.
no_object() {
  [ "$(swift_native HEAD "/images/$1" -o /dev/null -w '%{http_code}')" = 404 ] || fail "object '$1' exists"
}

head -c $((23 << 20)) /dev/urandom > q.raw
Q_SHA=$(sha256sum q.raw | cut -c1-64)
quota $((4 << 20))
expect_exit 6 "$BAKER" push q.raw "$S3/q:1"
grep -q "S3 's3://127.0.0.1:$SWIFT_PORT/images/q' (access key id 'test:tester'" out || { cat out; fail "no backend named"; }
grep -q "EntityTooLarge" out && grep -q "exceeds" out || { cat out; fail "the server's refusal is not shown"; }
grep -q "quota" out || { cat out; fail "the error does not say it is a quota"; }
! grep -q "$SWIFT_SECRET\b" out || fail "the secret was printed"
no_object q/tags/1
no_object "q/blobs/sha256/$Q_SHA"
pass "over quota: exit 6, backend and the server's EntityTooLarge named, no tag, no image object"

quota $((100 << 20))
"$BAKER" -v push --json q.raw "$S3/q:1" > q.json 2> q.err || { cat q.err; fail "push after the quota was raised"; }
swift_native GET "/images/q/blobs/sha256/$Q_SHA" -o got.raw
cmp -s got.raw q.raw || fail "the object after the quota was raised is not the image"
[ "$("$BAKER" resolve "$S3/q:1" | head -1)" = "$(jq -r .digest q.json)" ] || fail "the tag does not resolve"
pass "quota raised: the re-run succeeded ($(jq -r .bytes_sent q.json) bytes sent) and the tag names the image"

# Ctrl-C mid-upload: the first 2 parts go at full speed, later ones at 512 KiB/s through a proxy, so
# the push is surely inside a part when SIGINT arrives (baker started in the background, where a
# shell ignores SIGINT unless the program handles it).
PPORT=$(free_port)
python3 "$PROXY_PY" "$PPORT" "$SWIFT_PORT" 2 partNumber= slow:524288 &
track_pid $!
wait_for 10 "the slow proxy" curl -s -o /dev/null "http://127.0.0.1:$PPORT/healthcheck"
head -c $((23 << 20)) /dev/urandom > int.raw
INT_SHA=$(sha256sum int.raw | cut -c1-64)
"$BAKER" push int.raw "s3://127.0.0.1:$PPORT/images/int:1" > int.out 2>&1 &
BPID=$!
# Two parts in the segments container, then the interrupt.
segments() { [ "$(swift_native GET "/images+segments?prefix=int/" | grep -c .)" -ge 2 ]; }
wait_for 60 "two finished parts" segments
sleep 1
interrupt "$BPID" int.out
grep -q "interrupted" int.out || { cat int.out; fail "no word of the interrupt"; }
no_object int/tags/1
no_object "int/blobs/sha256/$INT_SHA"
pass "Ctrl-C mid-part: exit 130 after $INTERRUPT_MS ms, no tag, no image object"

"$BAKER" -v push --json int.raw "$S3/int:1" > int.json 2> int.err || { cat int.err; fail "push after the interrupt"; }
grep -q "resuming the upload of 'int.raw': [2-4] of 5 parts already there" int.err || { cat int.err; fail "did not resume"; }
[ "$(jq -r .bytes_sent int.json)" -le $((18 << 20)) ] || fail "the re-run sent $(jq -r .bytes_sent int.json) bytes"
swift_native GET "/images/int/blobs/sha256/$INT_SHA" -o got.raw
cmp -s got.raw int.raw || fail "the resumed object is not the image"
[ "$("$BAKER" resolve "$S3/int:1" | head -1)" = "$(jq -r .digest int.json)" ] || fail "the tag does not resolve"
pass "the run after Ctrl-C resumed ($(jq -r .bytes_sent int.json) of $((23 << 20)) bytes sent) and tagged the image"
