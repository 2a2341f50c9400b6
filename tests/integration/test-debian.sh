#!/usr/bin/env bash
# The Debian 12 reference template (templates/debian12.yaml), baked and booted: its root
# filesystem comes from Debian's packages (the `debian` input, pinned by debian12.lock), and
# bake's own test boots it under OVMF to a login prompt, logs in on the serial console as root and
# checks the stamped IMAGE_ID, the machine-id regenerated from the emptied one, and sshd running
# with host keys made at first boot; then `baker test` boots the same output under SeaBIOS.
source "$(dirname "$0")/lib.sh"

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (qemu-system-x86)"
[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || skip "OVMF missing (ovmf)"

command -v mmdebstrap >/dev/null || skip "mmdebstrap missing"
apt-get -q --print-uris download base-files >/dev/null 2>&1 || skip "no Debian mirror configured"

# A copy of the template and its lock: --refresh moves the lock on when the mirror has moved past
# the committed one (deb.debian.org serves only current versions), and must not edit the source
# tree.
mkdir -p "$SCRATCH/t/templates"
cp "$BAKER_SOURCE_DIR/templates/debian12.yaml" "$BAKER_SOURCE_DIR/templates/debian12.lock" "$SCRATCH/t/templates/"
cp -r "$BAKER_SOURCE_DIR/provisioners" "$SCRATCH/t/"
[ -d "$BAKER_SOURCE_DIR/templates/provisioners" ] && cp -r "$BAKER_SOURCE_DIR/templates/provisioners" "$SCRATCH/t/templates/"
template=$SCRATCH/t/templates/debian12.yaml

start=$(date +%s.%N)
expect_exit 0 "$BAKER" bake --refresh -o "$SCRATCH/img" "$template"
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
