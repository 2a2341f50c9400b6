#!/usr/bin/env bash
# The whole offline disk path, booted: a tiny root filesystem (busybox init printing a marker) in an
# ext4 root partition, a FAT ESP with syslinux + systemd-boot (hybrid), a GPT with derived GUIDs;
# `baker test` boots it under SeaBIOS and under OVMF (TCG here), and must see the marker printed by
# the real root's /sbin/init. Negative cases: a kernel that panics, no kernel, qemu missing.
source "$(dirname "$0")/lib.sh"

ASSEMBLE=$BAKER_BUILD_DIR/tests/disk-assemble
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (qemu-system-x86)"
command -v mke2fs >/dev/null || skip "mke2fs missing"
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no host kernel in /boot (linux-image-amd64)"
[ -x "$ASSEMBLE" ] || fail "$ASSEMBLE not built"

cd "$SCRATCH"
"$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" tiny.tar
"$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" tiny2.tar
cmp -s tiny.tar tiny2.tar || fail "make-tiny-rootfs is not deterministic"
mkdir root && tar -xf tiny.tar -C root

"$ASSEMBLE" disk.img root --size 256 --cmdline "console=ttyS0" >layout.txt || fail "disk-assemble failed"
partuuid=$(awk '$1 == "root-partuuid" { print $2 }' layout.txt)
if command -v sgdisk >/dev/null; then
  sgdisk -v disk.img | grep -q "No problems found" || fail "sgdisk -v does not like the table"
fi
before=$(sha256sum <disk.img)

for fw in bios uefi; do
  start=$(date +%s.%N)
  expect_exit 0 "$BAKER" test disk.img --firmware "$fw" --expect 'BAKER-TINY-BOOT-OK root: /dev/vda2 ext4' \
    --timeout 300s --log "$fw.log" --json
  end=$(date +%s.%N)
  grep -q '"status": "passed"' "$SCRATCH/out" || fail "$fw: no passed status in --json output"
  grep -q "root=PARTUUID=$partuuid" "$fw.log" || fail "$fw: the kernel did not get root=PARTUUID=$partuuid"
  pass "$fw boot reached the real root's init in $(echo "$end - $start" | bc) s"
done
[ "$(sha256sum <disk.img)" = "$before" ] || fail "the boot test modified the image"

# A kernel without its initrd cannot mount the ext4 root (a module): it panics, and the test
# fails with the panic in the printed console lines.
"$ASSEMBLE" panic.img root --size 256 --cmdline "console=ttyS0" --no-initrd >/dev/null
expect_exit 5 "$BAKER" test panic.img --firmware bios --expect BAKER-TINY-BOOT-OK --timeout 300s
grep -q "kernel panic" "$SCRATCH/out" || fail "panic: failure reason missing"
grep -q "Kernel panic - not syncing" "$SCRATCH/out" || fail "panic: console lines missing"
grep -q "last console lines" "$SCRATCH/out" || fail "panic: no console tail printed"
pass "a panicking kernel fails the test with the panic shown"

# No kernel in the image: a clear error at the bootloader step.
mkdir nokernel && tar -xf tiny.tar -C nokernel --exclude './boot/*' --exclude 'boot/*'
expect_exit 1 "$ASSEMBLE" nokernel.img nokernel
grep -q "has no kernel" "$SCRATCH/out" || fail "no-kernel error unclear: $(cat "$SCRATCH/out")"
pass "an image without a kernel is refused by the bootloader step"

# qemu missing: the error names the package.
expect_exit 5 env PATH=/nonexistent "$BAKER" test disk.img
grep -q "qemu-system-x86" "$SCRATCH/out" || fail "missing qemu: package not named"
# A bad regular expression is a usage error, before anything boots.
expect_exit 2 "$BAKER" test disk.img --expect '(' 
pass "missing qemu and bad regex give clear errors"

# Ctrl-C in the middle of a boot: exit 130, qemu stopped, no temporary overlay left behind.
"$BAKER" test disk.img --expect NEVER-SEEN --timeout 300s >"$SCRATCH/int.out" 2>&1 &
bpid=$!
track_pid "$bpid"
wait_for 120 "baker test to start qemu" pgrep -P "$bpid" -f qemu-system-x86_64
qpid=$(pgrep -P "$bpid" -f qemu-system-x86_64)
kill -INT "$bpid"
set +e; wait "$bpid"; rc=$?; set -e
[ "$rc" = 130 ] || fail "interrupted test exited $rc, expected 130"
wait_for 10 "qemu to stop after SIGINT" gone "$qpid"
pass "SIGINT stops qemu and exits 130"
