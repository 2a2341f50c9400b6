#!/usr/bin/env bash
# A `debian` input locked and baked by an ordinary user (mmdebstrap in a user namespace), from
# another suite than the host's (trixie, from the same mirror, with the same keyring): the image's
# os-release is Debian 13, its dpkg status holds exactly the locked packages, and its files belong
# to root, not to the user's subordinate ids. Run as root, the test makes that user. No appliance
# (the template has no run step).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-apt.sh"
command -v mmdebstrap >/dev/null || skip "mmdebstrap missing"
command -v newuidmap >/dev/null || skip "newuidmap missing (uidmap)"
command -v debugfs >/dev/null || skip "debugfs missing (e2fsprogs)"
need_debian_mirror

w=$SCRATCH/user
mkdir -p "$w"
if [ "$(id -u)" = 0 ]; then
  user=baker-test
  id -u "$user" >/dev/null 2>&1 || useradd --create-home "$user"
  grep -q "^$user:" /etc/subuid || usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$user"
  home=$(getent passwd "$user" | cut -d: -f6)
  as_user() { runuser -u "$user" -- env HOME="$home" LIBGUESTFS_BACKEND=direct BAKER_CACHE="$w/cache" "$@"; }
  chmod 755 "$SCRATCH"
  chown "$user" "$w"
  # The build tree may sit where the user cannot reach (/root): a copy of the program.
  cp "$BAKER" "$w/baker" && chmod 755 "$w/baker"
  baker=$w/baker
else
  as_user() { env BAKER_CACHE="$w/cache" "$@"; }
  baker=$BAKER
fi
as_user unshare --user --map-root-user true 2>/dev/null || skip "user namespaces are not allowed here"

cat > "$w/t.yaml" <<'YAML'
baker: 1
name: t
version: "1"
epoch: 1700000000
inputs:
  base:
    debian:
      suite: trixie
      variant: minbase
      packages: [busybox]
disk:
  size: 1GiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: base
outputs:
  - { format: raw }
YAML
[ "$(id -u)" = 0 ] && chown "$user" "$w/t.yaml"

start=$(date +%s)
expect_exit 0 as_user "$baker" lock "$w/t.yaml"
grep -q '"suite":"trixie"' "$w/t.lock" || fail "the lock's request is not trixie"
grep -q '"name": "busybox"' "$w/t.lock" || fail "the lock has no busybox"
expect_exit 0 as_user "$baker" bake -o "$w/out" "$w/t.yaml"
pass "an ordinary user locked and baked trixie in $(( $(date +%s) - start )) s"

m=$w/out/manifest.json
[ "$(jq '.packages.count' "$m")" = "$(grep -c '"sha256"' "$w/t.lock")" ] ||
  fail "the image's dpkg status counts $(jq '.packages.count' "$m") packages, the lock $(grep -c '"sha256"' "$w/t.lock")"
off=$(jq '.layout.partitions[0].offset' "$m")
img="$w/out/t.raw?offset=$off"
debugfs -R "cat /usr/lib/os-release" "$img" 2>/dev/null | grep -q '^VERSION_ID="13"' ||
  fail "the image's os-release is not Debian 13"
for f in /usr/bin/busybox /etc/passwd /root; do
  debugfs -R "stat $f" "$img" 2>/dev/null | grep -Eq "User: +0 +Group: +0" ||
    { debugfs -R "stat $f" "$img" 2>&1 | head -3; fail "$f in the image does not belong to root"; }
done
pass "the image is Debian 13, holds exactly the locked packages, and its files belong to root"
