#!/bin/bash
# A broken Glance upload is tried again within the same run: the fault proxy (s3-cut-proxy.py)
# between baker and Debian's glance-api cuts the image data PUT after 1 MiB. baker waits until
# Glance has put the image back to `queued` and uploads into that same image again: one image,
# active, with Glance's sha512 of the bytes. When every try is cut, baker fails (exit 6) with the
# image queued, never active and in no channel, and the next run uploads into it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-glance.sh"
cd "$SCRATCH"
start_glance_local
PROXY_PY=$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py
ONCE=$(free_port) ALWAYS=$(free_port)
timeout 600 python3 "$PROXY_PY" "$ONCE" "${API##*:}" 0 /file cut 1 </dev/null >/dev/null 2>&1 &
track_pid $!
timeout 600 python3 "$PROXY_PY" "$ALWAYS" "${API##*:}" 0 /file cut </dev/null >/dev/null 2>&1 &
track_pid $!
cat >> clouds.yaml <<EOF
  once: { auth_type: none, auth: { endpoint: "http://127.0.0.1:$ONCE" } }
  always: { auth_type: none, auth: { endpoint: "http://127.0.0.1:$ALWAYS" } }
EOF
wait_for 20 "the proxies" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$ONCE && echo 2>/dev/null > /dev/tcp/127.0.0.1/$ALWAYS"

# image NAME: an 8 MiB raw image and the manifest a bake leaves beside it.
image() {
  head -c $((8 << 20)) /dev/urandom > "$1.raw"
  local d; d=sha256:$(sha256sum "$1.raw" | cut -c1-64)
  jq -n --arg n "$1" --arg d "$d" '{name: $n, version: "1", bake_key: ("sha256:" + ("0" * 64)), image_digest: $d,
    outputs: [{file: ($n + ".raw"), format: "raw", size: 8388608, sha256: $d}]}' > "$1.json"
}
images() { curl -sf "$API/v2/images?name=$1" | jq -r '[.images[] | .status] | join(",")'; }
hash_ok() { [ "$(curl -sf "$API/v2/images?name=$1" | jq -r '.images[0].os_hash_value')" = "$(sha512sum "$1.raw" | cut -d' ' -f1)" ]; }

# Cut once: the second try in the same run goes through, into the same image.
image a
BAKER_HTTP_ATTEMPTS=3 "$BAKER" push --json --channel staging a.json glance:once/a > a.out 2> a.err \
  || { cat a.err; fail "the push through a connection cut once did not succeed"; }
grep -q "broke off.*try 2 of 3" a.err || { cat a.err; fail "no word of the second try"; }
[ "$(images a)" = active ] || fail "images named a: $(images a), expected one active"
hash_ok a || fail "a's sha512 in Glance is not the image's"
[ "$(jq -r .bytes_sent a.out)" = $((8 << 20)) ] || fail "bytes_sent $(jq -r .bytes_sent a.out)"
[ "$("$BAKER" resolve glance:local/a:staging | sed -n 2p)" = "$(jq -r .image_id a.out)" ] || fail "channel staging"
pass "a cut upload is tried again in the same run: one image, active, sha512 right, in its channel"

# Cut every time: exit 6 after the tries; the image is queued, not active, in no channel.
image b
expect_exit 6 env BAKER_HTTP_ATTEMPTS=2 "$BAKER" push --channel staging b.json glance:always/b
grep -q "try 2 of 2" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "no second try"; }
poll 30 bash -c "[ \"\$(curl -sf '$API/v2/images?name=b' | jq -r '.images[0].status')\" = queued ]" \
  || fail "b is '$(images b)' after the failed tries, expected queued"
expect_exit 6 "$BAKER" resolve glance:local/b:staging
"$BAKER" push --json --channel staging b.json glance:local/b > b.out || fail "the re-run of b"
[ "$(images b)" = active ] && hash_ok b || fail "b after the re-run: $(images b)"
pass "cut on every try: exit 6, image queued and in no channel; the re-run uploads into it"
