#!/bin/bash
# Publishing to a real OCI Distribution registry (docker-registry) on 127.0.0.1: push, unchanged
# re-push (zero blob bytes), skopeo reading what baker pushed, pull with verification, channels,
# gc with deletes, tag pagination, cross-repository mount, and basic auth.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"
cd "$SCRATCH"

PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$PORT/images/web

make_image v1.raw 4 one
make_image v2.raw 4 two
touch -d 2024-02-01T00:00:00Z v2.raw

"$BAKER" push --json v1.raw "$R:1.0" > p1.json
D1=$(jq -r .digest p1.json)
[ "$(jq -r .bytes_sent p1.json)" -gt 4000000 ] || fail "first push sent too little"
"$BAKER" push --json v1.raw "$R:1.0" > p2.json
[ "$(jq -r .bytes_sent p2.json)" = 0 ] || fail "re-push sent $(jq -r .bytes_sent p2.json) bytes"
[ "$(jq -r .status p2.json)" = unchanged ] || fail "re-push not unchanged"
[ "$(jq -r .digest p2.json)" = "$D1" ] || fail "re-push changed the digest"
pass "push, re-push sends 0 blob bytes"

[ "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$R:1.0" | sha256sum | cut -d' ' -f1)" = "$D1" ] \
  || fail "skopeo sees another manifest"
skopeo copy -q --src-tls-verify=false "docker://$R:1.0" "dir:$SCRATCH/copy" >/dev/null
L=$(jq -r '.layers[0].digest' copy/manifest.json)
cmp -s "copy/${L#sha256:}" v1.raw || fail "skopeo copy gave other bytes"
"$BAKER" push --json --containerdisk v1.raw "$R:1.0-cd" > cd.json
[ "$(skopeo inspect --tls-verify=false "docker://$R:1.0-cd" | jq -r .Digest)" = "$(jq -r .digest cd.json)" ] \
  || fail "containerdisk digest differs in skopeo"
"$BAKER" pull "$R:1.0-cd" cdpulled >/dev/null
tar -xOf cdpulled/v1-containerdisk.tar disk/v1.raw | cmp -s - v1.raw || fail "containerdisk tar does not hold the disk"
pass "skopeo inspect/copy from the registry, digests match"

"$BAKER" pull "$R@$D1" pulled >/dev/null
cmp -s pulled/v1.raw v1.raw || fail "pull gave other bytes"
pass "pull"

# Cross-repository mount: nothing sent.
"$BAKER" push --json --mount-from images/web v1.raw "127.0.0.1:$PORT/images/other:1.0" > mount.json
[ "$(jq -r .bytes_sent mount.json)" = 0 ] && [ "$(jq -r .blobs_mounted mount.json)" -ge 1 ] || {
  cat mount.json; fail "mount did not mount"; }
pass "cross-repository mount"

D2=$("$BAKER" push --json v2.raw "$R:2.0" | jq -r .digest)
"$BAKER" promote "$R@$D1" prod >/dev/null
"$BAKER" promote "$R:2.0" prod >/dev/null
"$BAKER" resolve --json "$R:prod" > res.json
[ "$(jq -r .digest res.json)" = "$D2" ] || fail "resolve after promote"
[ "$(jq -r .reference res.json)" = "$R@$D2" ] || fail "pull reference"
[ "$(skopeo inspect --raw --tls-verify=false "docker://$R:prod" | sha256sum | cut -d' ' -f1)" = "${D2#sha256:}" ] \
  || fail "channel tag not readable by skopeo"
"$BAKER" revoke "$R@$D2" --reason "boot loop" >/dev/null 2>&1
expect_exit 6 "$BAKER" resolve "$R:prod"
"$BAKER" rollback "$R" prod >/dev/null
[ "$("$BAKER" resolve "$R:prod" | head -1)" = "$D1" ] || fail "rollback"
"$BAKER" history --json "$R" prod | jq -e '(.entries|length) == 3 and .entries[1].revoked' >/dev/null || fail "history"
"$BAKER" history --json "$R" | jq -e --arg d "$D2" '.versions[]|select(.digest==$d)|.revoked' >/dev/null \
  || fail "versions lack the revoked mark"
pass "promote/resolve/revoke/rollback/history"

# Tag pagination: list through Link headers two at a time.
BAKER_REGISTRY_PAGE_SIZE=2 "$BAKER" history --json "$R" > h2.json
"$BAKER" history --json "$R" > h1.json
cmp -s h1.json h2.json || fail "paginated listing differs"
pass "tag pagination"

# gc: prod's target and the newest 1 stay; the rest goes.
"$BAKER" gc --json "$R" --keep 1 > gc.json
jq -e --arg d "$D1" '.kept|index($d) != null' gc.json >/dev/null || fail "gc deleted the prod image"
[ "$(jq '.deleted|length' gc.json)" -ge 1 ] || fail "gc deleted nothing"
for d in $(jq -r '.deleted[]' gc.json); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$PORT/v2/images/web/manifests/$d")
  [ "$code" = 404 ] || fail "deleted manifest $d still served ($code)"
done
[ "$("$BAKER" resolve "$R:prod" | head -1)" = "$D1" ] || fail "prod broken by gc"
pass "gc"

# Registry errors carry method, URL, status and the registry's code.
expect_exit 6 "$BAKER" pull "$R:nope" nope
grep -q "not found" "$SCRATCH/out" || fail "missing tag not reported"
expect_exit 6 "$BAKER" promote "$R@sha256:$(printf x | sha256sum | cut -d' ' -f1)" prod
grep -q "not in the registry" "$SCRATCH/out" || fail "missing digest not reported"
pass "errors"

# Basic auth (htpasswd): anonymous refused, credentials from the environment and from baker login.
command -v htpasswd >/dev/null || skip "htpasswd not installed"
BPORT=$(free_port)
mkdir -p "$SCRATCH/breg"
htpasswd -Bbn alice 's3cret-pw' > "$SCRATCH/breg/htpasswd"
write_registry_config "$SCRATCH/breg" "$BPORT" "auth:
  htpasswd:
    realm: baker-test
    path: $SCRATCH/breg/htpasswd"
start_registry "$SCRATCH/breg" "$BPORT"
BR=127.0.0.1:$BPORT/images/web
export HOME=$SCRATCH/home XDG_CONFIG_HOME=$SCRATCH/home/.config
expect_exit 6 "$BAKER" push v1.raw "$BR:1.0"
grep -q "401" "$SCRATCH/out" || fail "anonymous push not refused with 401"
BAKER_REGISTRY_USER=alice BAKER_REGISTRY_PASSWORD='s3cret-pw' "$BAKER" -v push --json v1.raw "$BR:1.0" > bp.json 2> bp.err
[ "$(jq -r .status bp.json)" = pushed ] || fail "push with env credentials"
! grep -q 's3cret-pw' bp.err bp.json || fail "password leaked into output"
printf 's3cret-pw\n' | "$BAKER" login --username alice "127.0.0.1:$BPORT" >/dev/null
[ "$(stat -c %a "$XDG_CONFIG_HOME/baker/auth.json")" = 600 ] || fail "auth file not 0600"
! grep -q 's3cret-pw' "$XDG_CONFIG_HOME/baker/auth.json" || fail "password stored in clear"
"$BAKER" push --json v2.raw "$BR:2.0" | jq -e '.status == "pushed"' >/dev/null || fail "push with baker login credentials"
rm "$XDG_CONFIG_HOME/baker/auth.json"
mkdir -p "$HOME/.docker"
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$BPORT" "$(printf 'alice:s3cret-pw' | base64)" > "$HOME/.docker/config.json"
"$BAKER" pull "$BR:2.0" bpulled >/dev/null || fail "pull with ~/.docker/config.json credentials"
cmp -s bpulled/v2.raw v2.raw || fail "basic-auth pull bytes"
pass "basic auth: env, baker login, docker config"
