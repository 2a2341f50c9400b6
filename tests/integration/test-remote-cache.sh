#!/bin/bash
# The remote cache: docker-registry on 127.0.0.1 (and an OCI layout) as the shared store, two cache
# directories standing for two machines. B, cold, bakes what A baked with every step pulled from the
# remote cache and the same image digest; after changing the last step, B re-runs exactly that step;
# a corrupted blob in the registry is detected and not used, and the runner that found it and
# pushes repairs the entry; an unreachable cache registry, or one refusing the credentials, gives
# one warning and a local bake. Templates without run steps, so no appliance.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"

W=$SCRATCH/w
mkdir -p "$W"
cd "$W"
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel "$W/rootfs.tar"
cat > "$W/steps.yaml" <<'EOF'
baker: 1
name: steps
version: "1"
epoch: 1700000000
variables:
  last: { default: "first" }
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/one, content: "1\n" }
  - file: { path: /etc/two, content: "2\n" }
  - file: { path: /etc/last, content: "${var.last}\n" }
outputs:
  - { format: raw }
EOF

PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
REF=127.0.0.1:$PORT/baker/cache
LAYOUT=oci-layout:$SCRATCH/layout-cache

statuses() { python3 -c '
import json, sys
print(" ".join("%d:%s" % (e["index"], e["status"]) for e in map(json.loads, open(sys.argv[1])) if e["event"] == "step"))' "$1"; }
digest_of() { jq -r .image_digest "$1/manifest.json"; }

# ---- `cache: local` keeps a step, and every later one, out of the remote cache ------------------
sed 's|  - file: { path: /etc/two, content: "2\\n" }|&\n    cache: local|' steps.yaml > local.yaml
grep -q 'cache: local' local.yaml || fail "local.yaml was not made"
BAKER_CACHE=$SCRATCH/cache-l "$BAKER" bake --json --cache-to "$REF" -o out-l local.yaml > l.json 2> l.err ||
  { cat l.err; fail "bake with a local step"; }
has_tag() { curl -sf -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
  "http://127.0.0.1:$PORT/v2/baker/cache/manifests/$1"; }
LKEYS=($("$BAKER" plan --json local.yaml | jq -r '.steps[].key | ltrimstr("sha256:")'))
LBAKE=$(jq -r '.bake_key | ltrimstr("sha256:")' out-l/manifest.json)
[ "${LKEYS[*]}" = "$("$BAKER" plan --json steps.yaml | jq -r '.steps[].key | ltrimstr("sha256:")' | xargs)" ] ||
  fail "cache: local changed a key"
for k in "${LKEYS[0]}" "${LKEYS[1]}"; do has_tag "steps-$k" || fail "step $k, before the local one, was not pushed"; done
for k in "${LKEYS[2]}" "${LKEYS[3]}"; do
  if has_tag "steps-$k"; then fail "step $k (local, or after one) was pushed"; fi
done
if has_tag "bakes-$LBAKE"; then fail "a bake with a local step was pushed as finished"; fi
[ -d "$SCRATCH/cache-l/steps/${LKEYS[2]}" ] || fail "the local step is not in the local cache"
pass "cache: local: that step and the later ones stay in the local cache, the earlier ones are shared"

# ---- machine A bakes and pushes to the registry and a layout -----------------------------------
BAKER_CACHE=$SCRATCH/cache-a "$BAKER" bake --json --cache-to "$REF" --cache-to "$LAYOUT" -o out-a steps.yaml \
  > a.json 2> a.err || { cat a.err; fail "bake on A"; }
[ "$(statuses a.json)" = "1:done 2:done 3:done 4:done" ] || fail "A: $(statuses a.json)"
KEYS=$("$BAKER" plan --json steps.yaml | jq -r '.steps[].key')
for k in $KEYS; do
  curl -sf -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://127.0.0.1:$PORT/v2/baker/cache/manifests/steps-${k#sha256:}" || fail "step $k not in the registry"
done
BAKE_KEY=$(jq -r .bake_key out-a/manifest.json)
curl -sf -o /dev/null -H "Accept: application/vnd.oci.image.manifest.v1+json" \
  "http://127.0.0.1:$PORT/v2/baker/cache/manifests/bakes-${BAKE_KEY#sha256:}" || fail "the finished bake is not in the registry"
pass "A pushed every step and the finished bake, one manifest per key"

# ---- plan --matrix says which finished bakes the shared cache holds ------------------------------
sed 's/default: "first"/default: "other"/' steps.yaml > other.yaml
BAKER_CACHE=$SCRATCH/cache-m "$BAKER" plan --matrix --cache-from "$REF" steps.yaml other.yaml > m.json 2> m.err ||
  { cat m.err; fail "plan --matrix"; }
[ "$(jq -r '[.include[] | "\(.name):\(.shared):\(.cached)"] | join(" ")' m.json)" = "steps:true:true other:false:false" ] ||
  fail "matrix: $(cat m.json)"
[ "$(jq -r '.include[0].bake_key' m.json)" = "$BAKE_KEY" ] || fail "matrix key"
DEAD=127.0.0.1:$(free_port)/nothing
BAKER_CACHE=$SCRATCH/cache-m "$BAKER" plan --matrix --cache-from "$DEAD" steps.yaml other.yaml > m2.json 2> m2.err ||
  { cat m2.err; fail "plan --matrix with an unreachable cache"; }
[ "$(jq -r '[.include[].shared] | join(" ")' m2.json)" = "false false" ] || fail "matrix, unreachable: $(cat m2.json)"
[ "$(wc -l < m2.err)" = 1 ] && grep -q "'$DEAD' is unreachable" m2.err || { cat m2.err; fail "expected one warning line"; }
pass "plan --matrix: shared says what the registry holds; an unreachable one is one warning, nothing shared"

# ---- machine B, cold: everything pulled, same digest --------------------------------------------
export BAKER_CACHE_FROM=$REF
BAKER_CACHE=$SCRATCH/cache-b "$BAKER" bake --json -o out-b steps.yaml > b.json 2> b.err || { cat b.err; fail "bake on B"; }
[ "$(statuses b.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] || fail "B: $(statuses b.json)"
[ "$(digest_of out-b)" = "$(digest_of out-a)" ] || fail "B's image differs from A's"
# the whole bake is cached: nothing but the finished bake's outputs is downloaded
[ "$(find "$SCRATCH/cache-b/steps" "$SCRATCH/cache-b/blobs" -type f | wc -l)" = 0 ] ||
  fail "B downloaded step states or inputs: $(find "$SCRATCH/cache-b/steps" "$SCRATCH/cache-b/blobs" -type f)"
cmp out-a/steps.raw out-b/steps.raw || fail "B's output differs from A's"
BAKER_CACHE=$SCRATCH/cache-d "$BAKER" bake --json --cache-from "$LAYOUT" -o out-d steps.yaml > d.json 2> d.err ||
  { cat d.err; fail "bake from the layout"; }
[ "$(statuses d.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] || fail "D: $(statuses d.json)"
[ "$(digest_of out-d)" = "$(digest_of out-a)" ] || fail "D's image differs from A's"
pass "B (and D from an OCI layout), cold: every step pulled, only the outputs downloaded, identical digest"

# ---- a corrupt output in the finished bake's entry: skipped, the steps' longest prefix instead ---
RAWL=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
  "http://127.0.0.1:$PORT/v2/baker/cache/manifests/bakes-${BAKE_KEY#sha256:}" |
  jq -r '.layers[] | select(.annotations["org.opencontainers.image.title"] == "steps.raw") | .digest')
RAWD=$(find "$SCRATCH/reg/data" -path "*/blobs/sha256/*/${RAWL#sha256:}/data")
[ -f "$RAWD" ] || fail "the finished bake's entry has no steps.raw layer"
printf 'XXXXXXXX' | dd of="$RAWD" bs=1 seek=4096 conv=notrunc status=none
BAKER_CACHE=$SCRATCH/cache-x "$BAKER" bake --json --cache-to "$REF" -o out-x steps.yaml > x.json 2> x.err ||
  { cat x.err; fail "bake with a corrupt output"; }
grep -q "bakes-${BAKE_KEY#sha256:}' is unusable" x.err || { cat x.err; fail "no warning for the corrupt output"; }
[ "$(find "$SCRATCH/cache-x/steps" -mindepth 1 -maxdepth 1 | wc -l)" = 1 ] || fail "X did not fall back to the longest prefix"
[ "$(digest_of out-x)" = "$(digest_of out-a)" ] || fail "the bake past a corrupt output differs"
[ -z "$(find out-x -name '.*')" ] || fail "staging files left in out-x: $(find out-x -name '.*')"
pass "a corrupt output in the finished bake's entry: one warning, not used, the steps pulled instead, same digest"
# X pushes too: it re-publishes the entry on a blob of its own (the registry keeps the corrupt bytes
# under their digest), so the next cold runner pulls the finished bake cleanly
RAWL2=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
  "http://127.0.0.1:$PORT/v2/baker/cache/manifests/bakes-${BAKE_KEY#sha256:}" |
  jq -r '.layers[] | select(.annotations["org.opencontainers.image.title"] == "steps.raw") | .digest')
[ -n "$RAWL2" ] && [ "$RAWL2" != "$RAWL" ] || fail "X did not re-publish the finished bake's corrupt output ($RAWL2)"
BAKER_CACHE=$SCRATCH/cache-y "$BAKER" bake --json -o out-y steps.yaml > y.json 2> y.err || { cat y.err; fail "bake after the repair"; }
[ "$(statuses y.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] && ! grep -qE '^(warning|error)' y.err ||
  { cat y.err; fail "Y after X's repair: $(statuses y.json)"; }
[ "$(find "$SCRATCH/cache-y/steps" -type f | wc -l)" = 0 ] || fail "Y downloaded step states, not the finished bake"
cmp out-a/steps.raw out-y/steps.raw || fail "Y's output differs from A's"
pass "the runner that found the output corrupt repaired the entry: the next cold runner pulls it, no warning"

# ---- B changes the last step: exactly that one re-runs ------------------------------------------
BAKER_CACHE=$SCRATCH/cache-c "$BAKER" bake --json --var last=second -o out-c steps.yaml > c.json 2> c.err ||
  { cat c.err; fail "changed bake"; }
[ "$(statuses c.json)" = "1:pulled 2:pulled 3:pulled 4:done" ] || fail "changed last step: $(statuses c.json)"
pass "changed last step on a cold machine: steps 1-3 pulled, step 4 re-run"

# ---- a corrupted blob is detected and not used --------------------------------------------------
K4=$(echo "$KEYS" | tail -1)
LAYER=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
  "http://127.0.0.1:$PORT/v2/baker/cache/manifests/steps-${K4#sha256:}" | jq -r '.layers[0].digest')
DATA=$(find "$SCRATCH/reg/data" -path "*/blobs/sha256/*/${LAYER#sha256:}/data")
[ -f "$DATA" ] || fail "blob $LAYER not found in the registry's storage"
printf 'XXXXXXXX' | dd of="$DATA" bs=1 seek=1000 conv=notrunc status=none
BAKER_CACHE=$SCRATCH/cache-e "$BAKER" bake --json --rebuild --cache-to "$REF" -o out-e steps.yaml > e.json 2> e.err ||
  { cat e.err; fail "bake with a corrupt entry"; }
[ "$(statuses e.json)" = "1:pulled 2:pulled 3:pulled 4:done" ] || fail "corrupt entry: $(statuses e.json)"
grep -q "steps-${K4#sha256:}' is unusable" e.err || { cat e.err; fail "no warning for the corrupt entry"; }
[ "$(digest_of out-e)" = "$(digest_of out-a)" ] || fail "the bake past a corrupt entry differs"
[ "$(grep -cE '^(warning|error)' e.err)" = 1 ] || { cat e.err; fail "expected one warning line for the corrupt entry"; }
pass "a corrupted blob: detected, one warning line, not used; step 4 re-run, same digest"
LAYER2=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
  "http://127.0.0.1:$PORT/v2/baker/cache/manifests/steps-${K4#sha256:}" | jq -r '.layers[0].digest')
[ "$LAYER2" != "$LAYER" ] || fail "E did not re-publish the corrupt step entry"
BAKER_CACHE=$SCRATCH/cache-e2 "$BAKER" bake --json --rebuild -o out-e2 steps.yaml > e2.json 2> e2.err ||
  { cat e2.err; fail "bake after the repair"; }
[ "$(statuses e2.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] && ! grep -qE '^(warning|error)' e2.err ||
  { cat e2.err; fail "after E's repair: $(statuses e2.json)"; }
[ "$(digest_of out-e2)" = "$(digest_of out-a)" ] || fail "the bake from the repaired entry differs"
cmp "$SCRATCH/cache-a/steps/${K4#sha256:}/tree.tar" "$SCRATCH/cache-e2/steps/${K4#sha256:}/tree.tar" ||
  fail "the repaired step state differs from A's"
pass "the runner that found the blob corrupt and re-ran the step repaired the entry: a cold runner pulls every step, no warning"

# ---- a truncated blob (the repaired one, a padded layer): skipped the same way ------------------
DATA2=$(find "$SCRATCH/reg/data" -path "*/blobs/sha256/*/${LAYER2#sha256:}/data")
[ -f "$DATA2" ] || fail "blob $LAYER2 not found in the registry's storage"
truncate -s 4096 "$DATA2"
BAKER_CACHE=$SCRATCH/cache-t "$BAKER" bake --json --rebuild -o out-t steps.yaml > t.json 2> t.err || { cat t.err; fail "bake with a truncated entry"; }
[ "$(statuses t.json)" = "1:pulled 2:pulled 3:pulled 4:done" ] || fail "truncated entry: $(statuses t.json)"
grep -q "steps-${K4#sha256:}' is unusable" t.err || { cat t.err; fail "no warning for the truncated entry"; }
[ "$(digest_of out-t)" = "$(digest_of out-a)" ] || fail "the bake past a truncated entry differs"
pass "a truncated blob: skipped with a warning, step 4 re-run, same digest"

# ---- two runners push the same keys at once: one valid entry per key ----------------------------
for m in r1 r2; do
  BAKER_CACHE=$SCRATCH/cache-$m "$BAKER" bake --json --var last=race --cache-to "$REF" -o out-$m steps.yaml \
    > $m.json 2> $m.err &
  eval "PID_$m=\$!"
done
wait "$PID_r1" || { cat r1.err; fail "runner 1"; }
wait "$PID_r2" || { cat r2.err; fail "runner 2"; }
BAKER_CACHE=$SCRATCH/cache-r3 "$BAKER" bake --json --var last=race --cache-from "$REF" -o out-r3 steps.yaml \
  > r3.json 2> r3.err || { cat r3.err; fail "bake from the raced entries"; }
[ "$(statuses r3.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] && ! grep -q unusable r3.err ||
  { cat r3.err; fail "raced entries: $(statuses r3.json)"; }
[ "$(digest_of out-r3)" = "$(digest_of out-r1)" ] || fail "the raced entry gives another image"
pass "two runners pushing the same keys at once: both succeed, a cold runner pulls every step from what they left"

# ---- an unreachable cache registry: one warning, a local bake -----------------------------------
BAKER_CACHE=$SCRATCH/cache-f "$BAKER" bake --json --cache-from "$DEAD" --cache-to "$DEAD" -o out-f steps.yaml \
  > f.json 2> f.err || { cat f.err; fail "bake with an unreachable cache"; }
[ "$(statuses f.json)" = "1:done 2:done 3:done 4:done" ] || fail "unreachable: $(statuses f.json)"
[ "$(grep -cE '^(warning|error)' f.err)" = 1 ] && grep -q "^warning: remote cache '$DEAD' is unreachable" f.err ||
  { cat f.err; fail "expected exactly one warning line"; }
pass "unreachable cache registry (both directions): exactly one warning line, local bake succeeds"

# ---- cache gc --remote: entries not used within N days go, an image and its channel stay -------
"$BAKER" push --channel stable out-a/manifest.json "$REF:img-1" > push.out 2>&1 || { cat push.out; fail "push"; }
tags() { curl -sf "http://127.0.0.1:$PORT/v2/baker/cache/tags/list" | jq -r '.tags[]' | sort; }
N=$(tags | grep -cE '^(steps|bakes)-' || true)
# A's four steps and finished bake, and the race's last step and finished bake
[ "$N" = 7 ] || fail "expected the cache entries among the tags, got $N"
expect_exit 0 "$BAKER" cache gc --remote "$REF" --keep-days 1
grep -q "removed 0 entries, kept $N" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "keep-days 1 removed something"; }
sleep 1
expect_exit 0 "$BAKER" cache gc --remote "$REF" --keep-days 0 --dry-run
grep -q "would remove $N entries" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "dry run"; }
[ "$(tags | grep -cE '^(steps|bakes)-')" = "$N" ] || fail "--dry-run removed entries"
expect_exit 0 "$BAKER" cache gc --remote "$REF" --keep-days 0
grep -q "removed $N entries" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "keep-days 0"; }
[ "$(tags | grep -cE '^(steps|bakes)-' || true)" = 0 ] || fail "entries left: $(tags)"
tags | grep -qx img-1 || fail "the image's tag went"
tags | grep -qx stable || fail "the channel went"
"$BAKER" resolve "$REF:stable" > /dev/null 2>&1 || fail "the channel no longer resolves"
BAKER_CACHE=$SCRATCH/cache-g "$BAKER" bake --json -o out-g steps.yaml > g.json 2> g.err || { cat g.err; fail "bake after gc"; }
[ "$(statuses g.json)" = "1:done 2:done 3:done 4:done" ] || fail "after gc: $(statuses g.json)"
pass "cache gc --remote: keep-days 1 keeps, --dry-run counts, keep-days 0 removes every entry, the image and channel stay"

# ---- cache: in a configuration file; options > $BAKER_CACHE_* > ./.baker.yaml > the user's file --
unset BAKER_CACHE_FROM BAKER_CACHE_TO
mkdir -p "$W/cfg" "$SCRATCH/xdg/baker"
cp "$W/rootfs.tar" "$W/cfg/"
# a last step of its own: the registry still holds the blob corrupted above (a push skips blobs
# that are there)
sed 's/default: "first"/default: "cfg"/' "$W/steps.yaml" > "$W/cfg/steps.yaml"
cd "$W/cfg"
export XDG_CONFIG_HOME=$SCRATCH/xdg
printf 'cache:\n  from: %s\n  to: [%s]\n' "$DEAD" "$REF" > .baker.yaml
printf 'cache:\n  from: %s\n' "$REF" > "$SCRATCH/xdg/baker/config.yaml"
BAKER_CACHE=$SCRATCH/cache-h "$BAKER" bake --json -o out-h steps.yaml > h.json 2> h.err || { cat h.err; fail "bake with .baker.yaml"; }
[ "$(grep -c "'$DEAD' is unreachable" h.err)" = 1 ] || { cat h.err; fail "the project's cache.from was not used"; }
[ "$(statuses h.json)" = "1:done 2:done 3:done 4:done" ] || fail "H: $(statuses h.json)"
[ "$(tags | grep -cE '^steps-')" = 4 ] || fail "the project's cache.to was not used: $(tags)"
BAKER_CACHE=$SCRATCH/cache-i BAKER_CACHE_FROM=$REF "$BAKER" bake --json -o out-i steps.yaml > i.json 2> i.err ||
  { cat i.err; fail "bake with BAKER_CACHE_FROM over .baker.yaml"; }
[ "$(statuses i.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] && ! grep -q unreachable i.err ||
  { cat i.err; fail "\$BAKER_CACHE_FROM did not win over .baker.yaml"; }
BAKER_CACHE=$SCRATCH/cache-j BAKER_CACHE_FROM=$DEAD "$BAKER" bake --json --cache-from "$REF" -o out-j steps.yaml \
  > j.json 2> j.err || { cat j.err; fail "bake with --cache-from over the environment"; }
[ "$(statuses j.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] && ! grep -q unreachable j.err ||
  { cat j.err; fail "--cache-from did not win over \$BAKER_CACHE_FROM"; }
rm .baker.yaml
BAKER_CACHE=$SCRATCH/cache-k "$BAKER" bake --json -o out-k steps.yaml > k.json 2> k.err || { cat k.err; fail "bake with the user's config"; }
[ "$(statuses k.json)" = "1:pulled 2:pulled 3:pulled 4:pulled" ] || { cat k.err; fail "the user's config was not used"; }
printf 'cache:\n  from: %s\n  tto: x\n' "$REF" > .baker.yaml
expect_exit 2 "$BAKER" bake -o out-l steps.yaml
grep -q "^.baker.yaml:3:3: error: unknown key 'tto' in 'cache'" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "config error"; }
pass "cache: from ./.baker.yaml and the user's config; \$BAKER_CACHE_FROM over them, --cache-from over it; errors at file:line:col"

# ---- a cache registry that refuses the credentials: one warning naming it, a local bake ---------
command -v htpasswd >/dev/null || skip "htpasswd not installed (apache2-utils)"
cd "$W"
unset XDG_CONFIG_HOME # no configured cache: only what each bake below names
APORT=$(free_port)
mkdir -p "$SCRATCH/areg"
htpasswd -Bbn alice 'right-pw' > "$SCRATCH/areg/htpasswd"
write_registry_config "$SCRATCH/areg" "$APORT" "auth:
  htpasswd:
    realm: baker-test
    path: $SCRATCH/areg/htpasswd"
start_registry "$SCRATCH/areg" "$APORT"
AREF=127.0.0.1:$APORT/baker/cache
one_refusal() { # FILE.err FILE.json: exactly one warning line, naming the registry; no secret anywhere
  [ "$(grep -cE '^(warning|error)' "$1")" = 1 ] && grep -q "^warning: remote cache '$AREF' refused access" "$1" ||
    { cat "$1"; fail "expected exactly one warning line naming '$AREF'"; }
  grep -q 'wrong-pw' "$1" "$2" && fail "the password was printed" || true
}
BAKER_CACHE=$SCRATCH/cache-p BAKER_REGISTRY_USER=alice BAKER_REGISTRY_PASSWORD=wrong-pw "$BAKER" bake --json \
  --cache-from "$AREF" --cache-to "$AREF" -o out-p steps.yaml > p.json 2> p.err || { cat p.err; fail "bake with refused credentials"; }
[ "$(statuses p.json)" = "1:done 2:done 3:done 4:done" ] || fail "refused credentials: $(statuses p.json)"
one_refusal p.err p.json
# the same through ~/.docker/config.json, pushing only (the first request is a blob HEAD, not a GET)
mkdir -p "$SCRATCH/home/.docker"
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$APORT" "$(printf 'alice:wrong-pw' | base64)" > "$SCRATCH/home/.docker/config.json"
HOME=$SCRATCH/home BAKER_CACHE=$SCRATCH/cache-q "$BAKER" bake --json --cache-to "$AREF" -o out-q steps.yaml > q.json 2> q.err ||
  { cat q.err; fail "push with refused credentials"; }
[ "$(statuses q.json)" = "1:done 2:done 3:done 4:done" ] || fail "refused credentials (push): $(statuses q.json)"
one_refusal q.err q.json
[ "$(digest_of out-q)" = "$(digest_of out-p)" ] || fail "the bakes with refused credentials differ"
curl -sf -u alice:right-pw "http://127.0.0.1:$APORT/v2/baker/cache/tags/list" | jq -e '.tags | length == 0' >/dev/null 2>&1 ||
  curl -s -u alice:right-pw -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/v2/baker/cache/tags/list" | grep -q 404 ||
  fail "something reached the registry with refused credentials"
pass "a cache registry refusing the credentials (environment, docker config): one warning naming it, no secret, local bake"
