#!/bin/bash
# Secrets and the step cache (README, "Secrets and the cache"): a step whose definition uses a
# sensitive variable is never stored in the cache nor taken from it, and neither is any step after
# it, and such a bake is never "unchanged" (a secret is not part of any key, so a key cannot tell
# an old secret from a new one). Checked: a rotated secret reaches the image on the next bake; no
# file in the cache holds the secret; the cache is private (files 0600, directories 0700).
# Offline steps only: no appliance launch.
source "$(dirname "$0")/../integration/lib.sh"

W=$SCRATCH/w
mkdir -p "$W/root/etc" "$W/out"
echo "base" > "$W/root/etc/base"
tar --owner=0 --group=0 --numeric-owner -C "$W/root" -cf "$W/root.tar" etc
cat > "$W/s.yaml" <<'Y'
baker: 1
name: sec
version: "1"
epoch: 1700000000
variables:
  token: { sensitive: true, required: true }
  motd: { default: "hello" }
inputs:
  rootfs: { file: root.tar }
disk:
  size: 64MiB
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - file: { path: /etc/motd, content: "${var.motd}\n" }
  - file: { path: /etc/token, content: "token=${var.token}\n", mode: "0600" }
  - file: { path: /etc/after, content: "after the secret\n" }
outputs:
  - { format: raw }
Y

bake() { # bake SECRET: bakes into $W/out with --json events in $W/events.json
  "$BAKER" bake --json --var "token=$1" -o "$W/out" "$W/s.yaml" > "$W/events.json" 2> "$W/err" ||
    { cat "$W/err" "$W/events.json" >&2; fail "bake with secret $1 failed"; }
}
status() { jq -r 'select(.event == "bake-end") | .status' "$W/events.json"; }
step_status() { jq -r "select(.event == \"step\" and .index == $1) | .status" "$W/events.json"; }
in_image() { grep -qa -- "$1" "$W/out/sec.raw"; }
no_secret_in_cache() {
  if grep -rqa -- "$1" "$BAKER_CACHE"; then
    grep -rla -- "$1" "$BAKER_CACHE" >&2
    fail "the secret '$1' is in the cache"
  fi
}

S1=first-SECRET-a1b2c3
S2=second-SECRET-d4e5f6
bake "$S1"
[ "$(status)" = built ] || fail "first bake: status $(status)"
in_image "token=$S1" || fail "first bake: the secret is not in the image"
no_secret_in_cache "$S1"
pass "first bake: the secret is in the image and nowhere in the cache"

# The secret rotates: the bake is not "unchanged", the secret's step and the ones after it run
# again, the steps before it come from the cache, and the image holds the new secret.
bake "$S2"
[ "$(status)" = built ] || fail "rotated secret: status $(status), expected built"
[ "$(step_status 1)" = cached ] && [ "$(step_status 2)" = cached ] || fail "rotated secret: steps before it were not cached"
[ "$(step_status 3)" = done ] && [ "$(step_status 4)" = done ] || fail "rotated secret: its step or a later one was taken from the cache"
in_image "token=$S2" || fail "rotated secret: the new secret is not in the image"
! in_image "token=$S1" || fail "rotated secret: the old secret is still in the image"
no_secret_in_cache "$S1"
no_secret_in_cache "$S2"
pass "rotated secret: rebaked from its step on, the new secret is in the image, none in the cache"

# The same secret again: still never "unchanged" (the cache cannot know it is the same).
bake "$S2"
[ "$(status)" = built ] || fail "same secret: status $(status), expected built"
! grep -qa -- "$S2" "$W/events.json" "$W/err" "$W/out/manifest.json" || fail "the secret reached the events or the manifest"
pass "a bake that uses a secret is never unchanged; the secret is in no event nor the manifest"

# The cache is private to its owner.
bad=$(find "$BAKER_CACHE" \( -type f -perm /077 \) -o \( -type d -perm /077 \) | head -5)
[ -z "$bad" ] || { ls -ld $bad >&2; fail "cache files or directories open to others"; }
[ -n "$(find "$BAKER_CACHE/steps" -type f -name tree.tar)" ] || fail "no step state was cached at all"
[ "$(stat -c %a "$BAKER_CACHE")" = 700 ] || fail "cache root is $(stat -c %a "$BAKER_CACHE")"
pass "cache files are 0600 (blobs 0400), directories 0700"
