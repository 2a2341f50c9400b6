#!/usr/bin/env bash
# A refresh whose archive has not moved skips `apt-get update` and apt's solver (apt-lists.h), and
# only then: `baker lock --update` against a small signed repository the test serves (lib-apt.sh)
# on top of the machine's Debian mirror. Unchanged InRelease files: "indexes are unchanged", the
# same lock. Another keyring under the same file name: verified again, exit 3 naming the release
# file. A Valid-Until that passes while the InRelease bytes stay the same: apt runs again and
# refuses it. A re-signed repository with a new version: resolved again, the lock moves. No
# appliance.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-apt.sh"
need_debian_mirror

repo=$SCRATCH/repo
apt_hello_repo "$repo"

cat > "$SCRATCH/t.yaml" <<YAML
baker: 1
name: t
version: "1"
epoch: 1700000000
inputs:
  base:
    debian:
      suite: bookworm
      variant: minbase
      packages: [baker-hello]
      sources:
        - { uri: "$APT_REPO_URL", suite: testing, components: [main], key: ./repo-key.gpg }
disk:
  size: 1GiB
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: base
outputs:
  - { format: raw }
YAML
lock=$SCRATCH/t.lock
relock() { # EXIT: baker -v lock --update, timed
  local t0=$EPOCHREALTIME
  expect_exit "$1" "$BAKER" -v lock --update "$SCRATCH/t.yaml"
  took=$(echo "$EPOCHREALTIME - $t0" | bc)
}
unchanged_said() { grep -q "the archive's indexes are unchanged" "$SCRATCH/out"; }

relock 0
unchanged_said && fail "a cold lock said the indexes were unchanged"
grep -q '"name": "baker-hello", "version": "1.0"' "$lock" || fail "the lock has no baker-hello 1.0"
cp "$lock" "$SCRATCH/lock.1"
cold=$took
relock 0
unchanged_said || { cat "$SCRATCH/out"; fail "a second lock did not see the unchanged indexes"; }
cmp -s "$lock" "$SCRATCH/lock.1" || fail "the lock changed though the archive did not"
pass "unchanged archive: lock --update in $took s (the first, with apt: $cold s)"

# The same InRelease bytes, but the keyring file now holds a key that did not sign them.
cp "$repo/other.gpg" "$SCRATCH/repo-key.gpg"
relock 3
grep -q "InRelease" "$SCRATCH/out" && grep -qi "signature" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "another keyring: no signature error naming the release file"; }
cmp -s "$lock" "$SCRATCH/lock.1" || fail "a failed signature check changed the lock"
cp "$repo/key.gpg" "$SCRATCH/repo-key.gpg"
relock 0
unchanged_said && fail "after a failed update the lists were trusted without one"
pass "another keyring under the same name: verified again (exit 3), then trusted again only after an update"

# Valid-Until a few seconds ahead: trusted while valid, verified again once it has passed.
until_epoch=$(( $(date +%s) + 40 ))
apt_repo_publish "$repo" testing ValidTime=40
grep -q "^Valid-Until: " "$repo/dists/testing/InRelease" || fail "apt-ftparchive wrote no Valid-Until"
relock 0
unchanged_said && fail "a re-signed InRelease was taken as unchanged"
relock 0
unchanged_said || fail "a valid, unchanged InRelease was not trusted"
while [ "$(date +%s)" -le "$until_epoch" ]; do sleep 0.5; done
set +e; "$BAKER" lock --update "$SCRATCH/t.yaml" >"$SCRATCH/out" 2>&1; rc=$?; set -e
[ "$rc" -ne 0 ] || { cat "$SCRATCH/out"; fail "an expired InRelease was trusted"; }
grep -qi "expired" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "no 'expired' from apt (exit $rc)"; }
pass "a passed Valid-Until: apt ran again and refused the release file (exit $rc)"

# The archive moves on: resolved again, the lock names 1.1.
apt_repo_remove_debs "$repo" baker-hello
apt_repo_add_deb "$repo" baker-hello 1.1
apt_repo_publish "$repo" testing
relock 0
unchanged_said && fail "a moved archive was taken as unchanged"
grep -q '"name": "baker-hello", "version": "1.1"' "$lock" || fail "the lock did not move to baker-hello 1.1"
relock 0
unchanged_said || fail "the moved archive's lists were not trusted on the next run"
pass "a moved archive: resolved again (1.0 -> 1.1), then unchanged in $took s"
