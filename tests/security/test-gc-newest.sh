#!/bin/bash
# Issue 13 item 5: `gc --keep N` must keep the newest N in the order of publishing, not by
# org.opencontainers.image.created, which reproducible builds make equal. Three images with the
# same creation time are pushed as 1.0.1, 1.0.2, 1.0.3 (in increasing digest order, so that the old
# tie-break on the digest put 1.0.3 last and deleted it), prod points at 1.0.1; `gc --keep 1`
# must keep 1.0.3 and prod's 1.0.1 and delete 1.0.2. --dry-run deletes nothing and names what
# would go; a gc that would delete the most recent push or every version no channel points at
# refuses (exit 2) unless --force.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/lib-registry.sh"
cd "$SCRATCH"

PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$PORT/images/gc

served() { # DIGEST: 0 when the registry still serves the manifest
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://127.0.0.1:$PORT/v2/images/gc/manifests/$1")" = 200 ]
}

# Three images, the same mtime (so the same "created"); their artifact digests, computed offline.
for s in a b c; do
  make_image "img-$s.raw" 4 "$s"
  echo "$("$BAKER" push --json "img-$s.raw" "oci-layout:$SCRATCH/probe:x" | jq -r .digest) img-$s.raw"
done | sort > order
mapfile -t IMGS < <(cut -d' ' -f2 order)
mapfile -t DIGS < <(cut -d' ' -f1 order)
for i in 0 1 2; do
  "$BAKER" push --json "${IMGS[$i]}" "$R:1.0.$((i + 1))" > "push$i.json"
  [ "$(jq -r .digest "push$i.json")" = "${DIGS[$i]}" ] || fail "push $i gave another digest"
done
[ "$(jq -r '.annotations["org.opencontainers.image.created"]' <(skopeo inspect --raw --tls-verify=false "docker://$R:1.0.1"))" = \
  "$(jq -r '.annotations["org.opencontainers.image.created"]' <(skopeo inspect --raw --tls-verify=false "docker://$R:1.0.3"))" ] ||
  fail "the versions do not share their creation time"
"$BAKER" promote "$R:1.0.1" prod >/dev/null
"$BAKER" history --json "$R" | jq -r '.versions[].tags[0]' > listed
[ "$(head -1 listed)" = 1.0.3 ] || { cat listed >&2; fail "history does not list the last push first"; }
pass "history lists the last push first"

"$BAKER" gc --json --dry-run "$R" --keep 1 > dry.json
[ "$(jq -c '.deleted' dry.json)" = "[\"${DIGS[1]}\"]" ] || { cat dry.json >&2; fail "dry run names the wrong versions"; }
jq -e '.dry_run' dry.json >/dev/null || fail "dry run not marked"
served "${DIGS[1]}" || fail "--dry-run deleted something"
pass "--dry-run names what would go and deletes nothing"

expect_exit 2 "$BAKER" gc "$R" --keep 0
grep -q "most recent push\|every version no channel" "$SCRATCH/out" || fail "refusal not explained"
for d in "${DIGS[@]}"; do served "$d" || fail "a refused gc deleted $d"; done
pass "gc that would delete the newest push or every unchanneled version refuses without --force"

"$BAKER" gc --json "$R" --keep 1 > gc.json
[ "$(jq -c '.deleted' gc.json)" = "[\"${DIGS[1]}\"]" ] || { cat gc.json >&2; fail "gc --keep 1 deleted the wrong versions"; }
served "${DIGS[2]}" || fail "gc --keep 1 deleted 1.0.3, the newest"
served "${DIGS[0]}" || fail "gc deleted prod's 1.0.1"
! served "${DIGS[1]}" || fail "1.0.2 still served"
pass "gc --keep 1 keeps the last push (1.0.3) and prod's 1.0.1, deletes 1.0.2"

"$BAKER" gc --json --force "$R" --keep 0 > force.json
[ "$(jq -c '.deleted' force.json)" = "[\"${DIGS[2]}\"]" ] || { cat force.json >&2; fail "--force"; }
served "${DIGS[0]}" || fail "--force deleted prod's image"
pass "--force deletes the rest, never a channel's image"
