#!/bin/bash
# Glance faults against Debian's glance-api (lib-glance.sh): an image over Glance's own
# `image_size_cap` (413) fails naming the endpoint, the cloud and Glance's words, leaves the image
# `queued` (never active) and out of the channel, and after the cap is raised (glance-api restarted)
# the re-run uploads into that image and succeeds; Ctrl-C (SIGINT) in the middle of the upload
# (slowed by the fault proxy) stops the push at once (exit 130) and Glance puts the image back to
# `queued`; a connection cut in the middle of the upload (the fault proxy) fails with exit 6, leaves
# nothing active; each time the next run makes the image active with the right sha512 and channel.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-glance.sh"
cd "$SCRATCH"
PROXY_PY=$BAKER_SOURCE_DIR/tests/integration/s3-cut-proxy.py

PORT=$(free_port)
API=http://127.0.0.1:$PORT
CAP=$((4 << 20))
write_glance_config "$SCRATCH/glance" "$PORT" "$(printf '[DEFAULT]\nimage_size_cap = %s\n' $CAP)"
start_glance "$SCRATCH/glance" "$PORT"

# The fault proxy in front of Glance, for the image data PUTs (/file).
SLOW=$(free_port) CUT=$(free_port)
timeout 600 python3 "$PROXY_PY" "$SLOW" "$PORT" 0 /file slow:262144 </dev/null >/dev/null 2>&1 &
track_pid $!
timeout 600 python3 "$PROXY_PY" "$CUT" "$PORT" 0 /file cut </dev/null >/dev/null 2>&1 &
track_pid $!
cat > clouds.yaml <<EOF
clouds:
  local: { auth_type: none, auth: { endpoint: "$API" } }
  slow: { auth_type: none, auth: { endpoint: "http://127.0.0.1:$SLOW" } }
  cut: { auth_type: none, auth: { endpoint: "http://127.0.0.1:$CUT" } }
EOF
export OS_CLIENT_CONFIG_FILE=$SCRATCH/clouds.yaml BAKER_HTTP_ATTEMPTS=1
wait_for 20 "the proxies" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$SLOW && echo 2>/dev/null > /dev/tcp/127.0.0.1/$CUT"

# image NAME: a 12 MiB raw image and the manifest a bake leaves beside it.
image() {
  head -c $((12 << 20)) /dev/urandom > "$1.raw"
  local sha; sha=$(sha256sum "$1.raw" | cut -c1-64)
  cat > "$1.json" <<EOF
{"name":"$1","version":"1.0","bake_key":"$(printf %s "$1" | sha256sum | cut -c1-64)","image_digest":"sha256:$sha",
 "outputs":[{"file":"$1.raw","format":"raw","size":$((12 << 20)),"sha256":"$sha"}]}
EOF
}
# status NAME: the status of the one image of that name.
status() { curl -sf "$API/v2/images?name=$1" | jq -r '[.images[].status] | join(",")'; }
# settled NAME WANT: once Glance has noticed, the image's status is WANT.
settled() { [ "$(status "$1")" = "$2" ]; }
# finished NAME: the re-run made it active, with Glance's sha512 of the bytes, in channel staging.
finished() {
  "$BAKER" push --json --channel staging "$1.json" "glance:local/$1" > "$1.done.json" 2> "$1.done.err" \
    || { cat "$1.done.err"; fail "the re-run of $1 failed"; }
  [ "$(status "$1")" = active ] || fail "$1 is $(status "$1") after the re-run"
  [ "$(curl -sf "$API/v2/images?name=$1" | jq -r '.images[0].os_hash_value')" = "$(sha512sum "$1.raw" | cut -d' ' -f1)" ] \
    || fail "$1's sha512 in Glance is not the image's"
  [ "$("$BAKER" resolve "glance:local/$1:staging" | sed -n 2p)" = "$(jq -r .image_id "$1.done.json")" ] \
    || fail "channel staging does not name $1"
  [ "$(curl -sf "$API/v2/images?name=$1" | jq '.images | length')" = 1 ] || fail "more than one image named $1"
}
# unpublished NAME: not active, not in the channel.
unpublished() {
  [ "$(status "$1")" != active ] || fail "$1 is active"
  expect_exit 6 "$BAKER" resolve "glance:local/$1:staging"
}

image q
expect_exit 6 "$BAKER" push --channel staging q.json glance:local/q
grep -q "PUT $API/v2/images/.*/file: status 413 .*(cloud 'local'.*The provided image is too large" out \
  || { cat out; fail "the refusal does not name the request, the cloud and Glance's message"; }
grep -q "<html>\|<title>" out && { cat out; fail "Glance's HTML page printed as it is"; }
grep -q "quota\|size cap" out || { cat out; fail "no word of a quota"; }
sed -n 's/.*\(status 413.*\)/  \1/p' out | head -1
[ "$(status q)" = queued ] || fail "q is '$(status q)' after the 413, expected queued"
unpublished q
pass "over image_size_cap (413): exit 6 naming the request, the cloud and Glance's words; image queued, no channel"

# The cap raised: glance-api restarted with a larger one.
kill "$GLANCE_PID"
wait_for 30 "glance-api to stop" bash -c "! curl -s -o /dev/null $API/healthcheck"
sed -i "s/^image_size_cap = .*/image_size_cap = $((1 << 30))/" "$SCRATCH/glance/glance-api.conf"
start_glance "$SCRATCH/glance" "$PORT"
finished q
[ "$(jq -r .bytes_sent q.done.json)" = $((12 << 20)) ] || fail "the re-run of q sent $(jq -r .bytes_sent q.done.json) bytes"
pass "cap raised: the re-run uploaded into the queued image; active, sha512 and channel right"

# Ctrl-C while the data goes at 256 KiB/s through the proxy; baker runs in the background (where a
# shell ignores SIGINT unless the program handles it).
image int
"$BAKER" push --channel staging int.json glance:slow/int > int.out 2>&1 &
BPID=$!
wait_for 60 "the upload to start" settled int saving
sleep 2
interrupt "$BPID" int.out
wait_for 30 "Glance to put the image back to queued" settled int queued
unpublished int
pass "Ctrl-C mid-upload: exit 130 after $INTERRUPT_MS ms; Glance put the image back to queued, no channel"
finished int
pass "the run after Ctrl-C uploaded into the queued image; active, sha512 and channel right"

# The connection cut after 1 MiB of the image's data.
image cut
expect_exit 6 "$BAKER" push --channel staging cut.json glance:cut/cut
grep -q "PUT http://127.0.0.1:$CUT/v2/images/.*/file" out || { cat out; fail "the cut upload is not named"; }
poll 30 settled cut queued || { curl -s "$API/v2/images?name=cut" | jq -c '.images[] | {status, size, checksum}'; fail "cut is '$(status cut)', not queued"; }
unpublished cut
pass "connection cut mid-upload: exit 6, image queued, no channel"
finished cut
pass "the run after the cut uploaded into the queued image; active, sha512 and channel right"
