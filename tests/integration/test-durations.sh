#!/bin/bash
# One duration parser for everyone (basic/units.c): what a template's `timeout:` accepts, `baker
# test --timeout` accepts too (it refused "1h30m" while a template took it), and what one refuses
# the other refuses. No image is booted: the missing image fails after the options are read.
source "$(dirname "$0")/lib.sh"

for d in 1h30m 90s 10m 2min 1h5m30s 45; do
  expect_exit 3 "$BAKER" test --timeout "$d" "$SCRATCH/missing.img"
  ! grep -q "invalid duration" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "--timeout $d was refused"; }
done
pass "baker test --timeout takes 1h30m, 90s, 10m, 2min, 1h5m30s and 45"

for d in soon 1h30 "10 m" 0 ""; do
  expect_exit 2 "$BAKER" test --timeout "$d" "$SCRATCH/missing.img"
  grep -q "invalid duration" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "--timeout '$d': no message"; }
done
pass "baker test --timeout refuses soon, 1h30, '10 m', 0 and ''"

# the same forms in a template's boot test
mkdir -p "$SCRATCH/t"
for d in 1h30m 2min; do
  cat > "$SCRATCH/t/t.yaml" <<Y
baker: 1
name: t
disk:
  size: 64MiB
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
test:
  boot: { expect: "login:", timeout: $d }
Y
  expect_exit 0 "$BAKER" validate "$SCRATCH/t/t.yaml"
done
pass "a template's timeout takes the same forms"
