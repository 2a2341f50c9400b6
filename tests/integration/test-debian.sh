#!/usr/bin/env bash
# The Debian 12 reference template (templates/debian12.yaml), baked and booted: its input is made
# by scripts/make-debian-rootfs (debootstrap; cached in build/rootfs/ keyed by the script's hash),
# bake's own test boots it under OVMF to a login prompt, logs in on the serial console as root and
# checks the stamped IMAGE_ID, the machine-id regenerated from the emptied one, and sshd running
# with host keys made at first boot; then `baker test` boots the same output under SeaBIOS.
source "$(dirname "$0")/lib.sh"

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (qemu-system-x86)"
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || skip "OVMF missing (ovmf)"

rootfs_dir=$BAKER_SOURCE_DIR/build/rootfs
rootfs=$rootfs_dir/debian12-boot.tar.zst
stamp="$(sha256sum "$BAKER_SOURCE_DIR/scripts/make-debian-rootfs" | cut -d' ' -f1) boot"
if [ ! -s "$rootfs" ] || [ "$(cat "$rootfs.script-sha256" 2>/dev/null)" != "$stamp" ]; then
  [ "$(id -u)" = 0 ] || skip "making the Debian root filesystem needs root (debootstrap)"
  command -v debootstrap >/dev/null || skip "debootstrap missing"
  mkdir -p "$rootfs_dir"
  start=$(date +%s)
  "$BAKER_SOURCE_DIR/scripts/make-debian-rootfs" boot "$rootfs" || fail "make-debian-rootfs failed"
  pass "made $rootfs in $(( $(date +%s) - start )) s"
fi

start=$(date +%s.%N)
expect_exit 0 "$BAKER" bake -o "$SCRATCH/img" "$BAKER_SOURCE_DIR/templates/debian12.yaml"
end=$(date +%s.%N)
grep -q "boot test passed" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "no passed boot test"; }
log=$SCRATCH/img/debian12.console.log
grep -q 'IMAGE_ID="debian12"' "$log" || fail "the console does not show the stamped IMAGE_ID"
grep -q "debian12 login:" "$log" || fail "no login prompt with the template's hostname"
python3 - "$SCRATCH/img/manifest.json" <<'PY' || fail "manifest does not record the passed UEFI test"
import json, sys
t = json.load(open(sys.argv[1]))["test"]
assert t["passed"] is True and t["firmware"] == "uefi", t
print("ok: uefi boot to login + commands in %.1f s (%s)" % (t["seconds"], t["accel"]))
PY
pass "debian12 baked and tested (UEFI, login + commands) in $(echo "$end - $start" | bc) s"

# The same image under SeaBIOS (syslinux from the same ESP), to the login prompt.
start=$(date +%s.%N)
expect_exit 0 "$BAKER" test --firmware bios --expect "debian12 login:" --timeout 600s --log "$SCRATCH/bios.log" \
  "$SCRATCH/img/debian12.qcow2"
pass "debian12 BIOS boot to login in $(echo "$(date +%s.%N) - $start" | bc) s"
grep -q "SYSLINUX" "$SCRATCH/bios.log" || fail "bios: syslinux did not boot it"
