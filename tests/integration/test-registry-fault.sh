#!/bin/bash
# A registry killed in the middle of a large chunked upload and restarted on the same storage: the
# push resumes from what arrived (the session's Range) and completes; meanwhile the tag keeps
# naming the previous, complete manifest and never a missing one.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"
cd "$SCRATCH"

PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$PORT/images/big

make_image small.raw 1 old
OLD=$("$BAKER" push --json small.raw "$R:latest" | jq -r .digest)
head -c $((64 << 20)) /dev/urandom > big.raw
touch -d 2024-03-01T00:00:00Z big.raw

# Small chunks so the upload is many requests long and surely interrupted in the middle.
BAKER_REGISTRY_CHUNK_SIZE=$((256 << 10)) "$BAKER" -v push --json big.raw "$R:latest" > push.json 2> push.err &
PUSH=$!
track_pid $PUSH

# Watch the registry's upload data grow; kill -9 it past 8 MiB.
killed=
for _ in $(seq 2000); do
  sz=$(find "$SCRATCH/reg/data" -path '*_uploads*' -name data -size +8M 2>/dev/null | head -1)
  if [ -n "$sz" ]; then kill -9 "$REG_PID"; killed=1; break; fi
  kill -0 $PUSH 2>/dev/null || break
  sleep 0.01
done
[ -n "$killed" ] || { cat push.err; fail "the upload finished before it could be interrupted"; }
wait "$REG_PID" 2>/dev/null || true
partial=$(find "$SCRATCH/reg/data" -path '*_uploads*' -name data -printf '%s\n' | sort -n | tail -1)

# While the registry is down (and the push knows it): its storage tags the old, complete manifest.
wait_for 30 "the push to notice the registry is gone" grep -q 'interrupted at' push.err
link=$SCRATCH/reg/data/docker/registry/v2/repositories/images/big/_manifests/tags/latest/current/link
[ "$(cat "$link")" = "$OLD" ] || fail "while the registry is down the tag names '$(cat "$link")', not $OLD"
start_registry "$SCRATCH/reg" "$PORT"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$PORT/v2/images/big/manifests/$OLD")
[ "$code" = 200 ] || fail "old manifest gone"
# After it is back and until the push ends, every look at the tag finds a digest (an empty one is
# a tag that names nothing) of a manifest the registry serves: the old one, or the new one.
tag_digest() {
  curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$PORT/v2/images/big/manifests/latest" |
    tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}'
}
manifest_code() {
  curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$PORT/v2/images/big/manifests/$1"
}
: >tags.txt
while :; do
  running=; kill -0 $PUSH 2>/dev/null && running=1
  d=$(tag_digest); echo "${d:-(none)} $(manifest_code "${d:-none}")" >>tags.txt
  [ -n "$running" ] || break
  sleep 0.05
done
wait $PUSH || { cat push.err; fail "push did not complete after the restart"; }
grep -q 'resuming' push.err || fail "no resume reported"
NEW=$(jq -r .digest push.json)
while read -r d c; do
  [ "$d" = "$OLD" ] || [ "$d" = "$NEW" ] || { cat tags.txt >&2; fail "the tag named '$d' during the push, neither $OLD nor $NEW"; }
  [ "$c" = 200 ] || { cat tags.txt >&2; fail "the tag named $d, which the registry answers with $c"; }
done <tags.txt
[ "$(tail -1 tags.txt)" = "$NEW 200" ] || fail "the tag does not name the new manifest once the push ended"
sent=$(jq -r .bytes_sent push.json)
# docker-registry 2.8 refuses a session whose data outgrew the offset signed into its URL (the chunk
# in flight was stored but its answer lost): then baker opens a new session. Either way no more
# than the blob plus what was in flight goes twice.
[ "$sent" -lt $((2 * (64 << 20))) ] || fail "sent $sent bytes for a 64 MiB blob"
how=resumed; grep -q 'starting a new one' push.err && how="restarted (session refused by the registry)"
[ "$(curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$PORT/v2/images/big/manifests/latest" \
  | tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}')" = "$NEW" ] || fail "tag not moved to the new manifest"
"$BAKER" pull "$R:latest" pulled >/dev/null && cmp -s pulled/big.raw big.raw || fail "pulled bytes differ"
[ "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$R:latest" | sha256sum | cut -d' ' -f1)" = "$NEW" ] \
  || fail "skopeo disagrees"
pass "killed at $partial bytes, $how, $sent bytes sent for 64 MiB, tag never dangling"

# Re-publishing the unchanged image sends nothing.
"$BAKER" push --json big.raw "$R:latest" | jq -e '.bytes_sent == 0 and .status == "unchanged"' >/dev/null \
  || fail "re-push of the big image sent bytes"
pass "unchanged re-push sends 0 bytes"

# A connection cut between chunks (a proxy drops the 5th PATCH): baker asks the session what
# arrived (its Range) and continues from there; nothing is sent twice.
PPORT=$(free_port)
python3 "$BAKER_SOURCE_DIR/tests/integration/registry-cut-proxy.py" "$PPORT" "$PORT" 5 &
track_pid $!
wait_for 10 "the cutting proxy on port $PPORT" curl -s -o /dev/null "http://127.0.0.1:$PPORT/v2/"
head -c $((16 << 20)) /dev/urandom > cut.raw
BAKER_REGISTRY_CHUNK_SIZE=$((1 << 20)) "$BAKER" -v push --json cut.raw "127.0.0.1:$PPORT/images/cut:1" > cut.json 2> cut.err \
  || { cat cut.err; fail "push through the cutting proxy failed"; }
grep -q 'interrupted at 4194304' cut.err || { cat cut.err; fail "the cut did not happen at the 5th chunk"; }
grep -q 'registry has 4194304 bytes' cut.err || { cat cut.err; fail "did not resume from the registry's Range"; }
# bytes_sent = the 16 MiB layer + a small config: nothing resent.
layer_bytes=$(jq -r .bytes_sent cut.json)
[ "$layer_bytes" -lt $(( (16 << 20) + 4096 )) ] || fail "sent $layer_bytes bytes for a 16 MiB blob"
"$BAKER" pull "127.0.0.1:$PORT/images/cut:1" cutpulled >/dev/null && cmp -s cutpulled/cut.raw cut.raw || fail "cut upload corrupt"
pass "connection cut between chunks: resumed from the registry's Range, $layer_bytes bytes sent for 16 MiB"
