#!/bin/bash
# The life of images in Glance after publishing: history, pull, revoke (deactivate) and gc, against
# Debian's glance-api on 127.0.0.1 (no auth). No bake: four small raw images and their manifests
# are made here (what baker push reads), so the test needs no appliance.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-glance.sh"
cd "$SCRATCH"

start_glance_local

# make_image DIR VERSION: a 4 MiB raw image with some data and the manifest.json of a bake of it.
make_image() {
  local dir=$1 version=$2 digest
  mkdir -p "$dir"
  truncate -s 4M "$dir/img.raw"
  printf 'version %s %s' "$version" "$RANDOM" | dd of="$dir/img.raw" bs=1 seek=65536 conv=notrunc status=none
  digest=sha256:$(sha256sum "$dir/img.raw" | cut -d' ' -f1)
  jq -n --arg v "$version" --arg d "$digest" --argjson s "$(stat -c %s "$dir/img.raw")" \
    '{name: "img", version: $v, bake_key: ("sha256:" + ("0" * 64)), image_digest: $d, image_size: $s,
      outputs: [{file: "img.raw", format: "raw", size: $s, sha256: $d}]}' > "$dir/manifest.json"
}
for v in 1 2 3 4; do make_image "v$v" "$v"; done
D1=$(jq -r .image_digest v1/manifest.json) D2=$(jq -r .image_digest v2/manifest.json) D3=$(jq -r .image_digest v3/manifest.json)
"$BAKER" push --json --channel stable v1/manifest.json glance:local/img > p1.json || fail "push v1"
"$BAKER" push --json --channel stable v2/manifest.json glance:local/img > p2.json || fail "push v2"
"$BAKER" push --json v3/manifest.json glance:local/img > p3.json || fail "push v3"
"$BAKER" promote glance:local/img@"$D3" beta > /dev/null || fail "promote v3 to beta"
ID1=$(jq -r .image_id p1.json) ID2=$(jq -r .image_id p2.json) ID3=$(jq -r .image_id p3.json)

# history: the versions newest first with their channels; a channel's moves newest first.
"$BAKER" history --json glance:local/img > h.json || fail "history"
[ "$(jq -r '[.versions[].digest] | join(" ")' h.json)" = "$D3 $D2 $D1" ] || { cat h.json; fail "history order"; }
[ "$(jq -r --arg d "$D2" '.versions[] | select(.digest == $d) | .channels | join(",")' h.json)" = stable ] || fail "stable on v2"
[ "$(jq -r --arg d "$D3" '.versions[] | select(.digest == $d) | .images[0].id' h.json)" = "$ID3" ] || fail "image id of v3"
"$BAKER" history --json glance:local/img stable > hc.json || fail "history stable"
[ "$(jq -r '[.entries[].image_id] | join(" ")' hc.json)" = "$ID2 $ID1" ] || { cat hc.json; fail "channel entries"; }
[ "$(jq -r '.entries[0].action + " " + .entries[0].version' hc.json)" = "promote 2" ] || fail "entry fields"
jq -e '.entries[0].date | test("^20[0-9-]+T[0-9:]+Z$")' hc.json >/dev/null || fail "entry date"
"$BAKER" history glance:local/img stable > hc.txt
grep -q "$ID2.*(current)" hc.txt || { cat hc.txt; fail "text history marks the current image"; }
expect_exit 6 "$BAKER" history glance:local/img nosuch
pass "history: versions with channels, a channel's moves"

# pull: by channel and by digest; the file is the image, verified; a corrupted store is refused.
"$BAKER" pull --json glance:local/img:stable out1 > pull.json || fail "pull stable"
cmp -s out1/img.raw v2/img.raw || fail "pulled bytes differ"
[ "$(jq -r .digest pull.json)" = "$D2" ] && [ "$(jq -r .reference pull.json)" = "glance:local/img@$D2" ] || { cat pull.json; fail "pull report"; }
[ "$(jq -r '.files[0].digest' pull.json)" = "sha512:$(sha512sum v2/img.raw | cut -d' ' -f1)" ] || fail "pull sha512"
"$BAKER" pull glance:local/img@"$D1" out2 > /dev/null || fail "pull by digest"
cmp -s out2/img.raw v1/img.raw || fail "pulled v1 differs"
printf 'X' | dd of="$SCRATCH/glance/images/$ID1" bs=1 seek=65536 conv=notrunc status=none
expect_exit 6 "$BAKER" pull glance:local/img@"$D1" out3
grep -q "sha512" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "corruption message"; }
[ ! -e out3/img.raw ] && [ ! -e out3/img.raw.partial ] || fail "a corrupted pull left a file"
expect_exit 2 "$BAKER" pull glance:local/img out4
pass "pull: by channel and digest, sha512 and image digest checked, corruption refused"

# revoke: every image of the digest deactivated with its reason; idempotent; resolve and pull refuse.
"$BAKER" revoke --json --reason "CVE-2026-0001" glance:local/img@"$D2" > rv.json 2> rv.err || fail "revoke"
[ "$(jq -r .status rv.json)" = revoked ] && [ "$(jq -r '.channels | join(",")' rv.json)" = stable ] || { cat rv.json; fail "revoke report"; }
grep -q "channel 'stable' points at the revoked image" rv.err || { cat rv.err; fail "revoke does not warn about stable"; }
curl -sf "$API/v2/images/$ID2" > i2.json
[ "$(jq -r .status i2.json)" = deactivated ] && [ "$(jq -r .baker_revoked_reason i2.json)" = CVE-2026-0001 ] || fail "image 2 not revoked"
"$BAKER" revoke --json --reason again glance:local/img@"$D2" > rv2.json || fail "revoke again"
[ "$(jq -r .status rv2.json)" = unchanged ] || fail "second revoke"
expect_exit 6 "$BAKER" resolve glance:local/img:stable
expect_exit 6 "$BAKER" pull glance:local/img@"$D2" out5
grep -q "revoked" "$SCRATCH/out" || fail "pull of a revoked image"
"$BAKER" history --json glance:local/img > h2.json
[ "$(jq -r --arg d "$D2" '.versions[] | select(.digest == $d) | "\(.revoked) \(.reason)"' h2.json)" = "true CVE-2026-0001" ] || fail "history revoked"
expect_exit 6 "$BAKER" revoke --reason x glance:local/img@sha256:$(printf '%064d' 0)
expect_exit 2 "$BAKER" revoke --reason x glance:local/img:stable
"$BAKER" rollback glance:local/img stable > /dev/null || fail "rollback past the revoked image"
pass "revoke: deactivated with its reason, idempotent, resolve and pull refuse"

# gc: a leftover that never got its bytes (as an interrupted publish leaves it) is kept while young.
LEFT=$(curl -sf -X POST -H 'Content-Type: application/json' "$API/v2/images" \
  -d "{\"name\":\"img\",\"disk_format\":\"raw\",\"container_format\":\"bare\",\"tags\":[\"baker\"],\"baker_image_digest\":\"$D3\"}" | jq -r .id)
OTHER=$(curl -sf -X POST -H 'Content-Type: application/json' "$API/v2/images" \
  -d '{"name":"img","disk_format":"raw","container_format":"bare"}' | jq -r .id)
"$BAKER" push v4/manifest.json glance:local/img > /dev/null || fail "push v4"
"$BAKER" gc --json --keep 0 --dry-run glance:local/img > gd.json 2> gd.err || fail "gc dry run"
jq -e --arg l "$LEFT" '.too_young | index($l)' gd.json >/dev/null || { cat gd.json; fail "the young leftover is not too young"; }
grep -q "would refuse" gd.err || fail "dry run does not say gc would refuse"
expect_exit 2 "$BAKER" gc --keep 0 glance:local/img
grep -q "most recent push" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "refusal reason"; }
# stable points at v1 again (rollback), beta at v3, v4 is the newest: v2 (revoked, no channel) goes,
# with the leftover.
BAKER_GC_MIN_AGE=0 "$BAKER" gc --json --keep 1 glance:local/img > gc.json || fail "gc"
[ "$(jq -r '.deleted | join(" ")' gc.json)" = "$D2" ] || { cat gc.json; fail "gc deleted versions"; }
[ "$(jq -r '.images_deleted | sort | join(" ")' gc.json)" = "$(printf '%s\n' "$ID2" "$LEFT" | sort | paste -sd' ')" ] || { cat gc.json; fail "gc deleted images"; }
for id in "$ID1" "$ID3" "$OTHER"; do curl -sf -o /dev/null "$API/v2/images/$id" || fail "gc deleted $id"; done
for id in "$ID2" "$LEFT"; do [ "$(curl -s -o /dev/null -w '%{http_code}' "$API/v2/images/$id")" = 404 ] || fail "$id still there"; done
[ "$("$BAKER" resolve glance:local/img:stable | sed -n 2p)" = "$ID1" ] || fail "stable after gc"
pass "gc: unchanneled versions and leftovers older than the minimum age go; channels, young and foreign images stay"

# Sharing: --member makes the image shared with exactly those projects, on a reused image too.
members() { curl -sf "$API/v2/images/$1/members" | jq -r '[.members[].member_id] | sort | join(" ")'; }
"$BAKER" push --json --member proj-a --member proj-b v1/manifest.json glance:local/img > s1.json || fail "push with members"
[ "$(jq -r '.bytes_sent' s1.json)" = 0 ] && [ "$(jq -r .image_id s1.json)" = "$ID1" ] || fail "sharing re-uploaded"
[ "$(jq -r '.members_added | join(" ")' s1.json)" = "proj-a proj-b" ] || { cat s1.json; fail "members added"; }
[ "$(curl -sf "$API/v2/images/$ID1" | jq -r .visibility)" = shared ] || fail "visibility not shared"
[ "$(members "$ID1")" = "proj-a proj-b" ] || fail "glance members: $(members "$ID1")"
"$BAKER" push --json --member proj-a --member proj-b v1/manifest.json glance:local/img > s2.json || fail "push again"
[ "$(jq -c '[.members_added, .members_removed]' s2.json)" = "[[],[]]" ] || { cat s2.json; fail "re-push changed members"; }
"$BAKER" push --json --member proj-b --member proj-c v1/manifest.json glance:local/img > s3.json || fail "push other members"
[ "$(jq -r '.members_added | join(" ")' s3.json)/$(jq -r '.members_removed | join(" ")' s3.json)" = "proj-c/proj-a" ] \
  || { cat s3.json; fail "members changed"; }
[ "$(members "$ID1")" = "proj-b proj-c" ] || fail "glance members after the change: $(members "$ID1")"
"$BAKER" push --json --visibility community v1/manifest.json glance:local/img > s4.json || fail "push community"
[ "$(curl -sf "$API/v2/images/$ID1" | jq -r .visibility)" = community ] && [ "$(jq -r .visibility s4.json)" = community ] \
  || fail "visibility community"
expect_exit 2 "$BAKER" push --visibility public --member proj-a v1/manifest.json glance:local/img
expect_exit 2 "$BAKER" push --visibility everyone v1/manifest.json glance:local/img
pass "visibility and members: shared with exactly the projects named, idempotent, on a reused image"
