#!/bin/bash
# Issue 13 item 9: sparse tar members. A few KB of GNU tar holding a 1 TiB sparse member was written
# densely into the step state until the disk was full. Now a member bigger than the whole disk is
# refused at unpack, before a byte of it is written (exit 4, naming the member), and a sparse member
# that fits keeps its holes: in the step state (a tar whose data regions skip the holes: the same
# bytes, the room of the data only) and in the ext4 image (holes, no blocks). Both GNU sparse forms
# (old GNU 'S' headers, and pax GNU.sparse 1.0). No appliance: unpack-only bakes assemble offline.
source "$(dirname "$0")/../integration/lib.sh"
command -v tar >/dev/null || skip "GNU tar not installed"
command -v debugfs >/dev/null || skip "debugfs (e2fsprogs) not installed"
W=$SCRATCH/w
mkdir -p "$W/huge" "$W/fits"
cd "$W"

# A 1 TiB file with 6 bytes of data, and a 40 MiB one with 6 bytes in the middle.
truncate -s 1T huge/big
printf 'hello\n' | dd of=huge/big bs=1 seek=$((1 << 39)) conv=notrunc status=none
truncate -s 40M fits/big
printf 'hello\n' | dd of=fits/big bs=1 seek=20000000 conv=notrunc status=none
for fmt in gnu pax; do
  tar --sparse --format=$fmt -b1 -C huge -cf huge-$fmt.tar big
  tar --sparse --format=$fmt -b1 -C fits -cf fits-$fmt.tar big
done
size=$(stat -c %s huge-gnu.tar)
[ "$size" -lt 16384 ] || fail "the 1 TiB sparse tarball is $size bytes, expected a few KB"

tmpl() { # NAME TAR
  unpack_template "$1.yaml" sp "{ file: $2 }"
}

# bake NAME TAR CODE: no process of the bake may write a file over 2 GiB (ulimit -f, in 512-byte
# blocks): writing the member densely dies of SIGXFSZ at once instead of filling the disk.
bake() {
  tmpl "$1" "$2"
  expect_exit "$3" bash -c "ulimit -f 4194304; exec timeout 300 \"\$0\" bake \"\$1\" -o \"\$2\"" "$BAKER" "$1.yaml" "out-$1"
}

for fmt in gnu pax; do
  start=$(date +%s)
  bake huge-$fmt huge-$fmt.tar 4
  grep -q "refusing entry 'big': its size (1TiB) is more than the whole disk holds (64MiB)" "$SCRATCH/out" ||
    { cat "$SCRATCH/out" >&2; fail "$fmt: the refusal does not name the member and the sizes"; }
  [ $(( $(date +%s) - start )) -lt 60 ] || fail "$fmt: refusing took over a minute"
  used=$(du -sk "$SCRATCH" | cut -f1)
  [ "$used" -lt 65536 ] || fail "$fmt: the scratch directory grew to $used KiB"
  if [ -d "out-huge-$fmt" ] && [ -n "$(ls -A "out-huge-$fmt")" ]; then fail "$fmt: files left in OUTPUT"; fi
  pass "$fmt: a 1 TiB sparse member is refused before it is written (${used} KiB used)"

  rm -rf "$BAKER_CACHE"
  bake fits-$fmt fits-$fmt.tar 0
  state=$(find "$BAKER_CACHE/steps" -name tree.tar)
  [ -n "$state" ] || fail "$fmt: no step state in the cache"
  apparent=$(stat -c %s "$state") allocated=$(( $(stat -c %b "$state") * $(stat -c %B "$state") ))
  [ "$apparent" -gt $((40 << 20)) ] || fail "$fmt: the step state is $apparent bytes, less than the member"
  [ "$allocated" -lt $((1 << 20)) ] || fail "$fmt: the step state takes $allocated bytes on disk: holes were written"
  pass "$fmt: the step state keeps the holes ($apparent bytes, $allocated allocated)"

  img="out-fits-$fmt/sp.raw?offset=1048576"
  debugfs -R "dump /big $W/big-$fmt.out" "$img" 2>/dev/null
  cmp "$W/big-$fmt.out" fits/big || fail "$fmt: the file in the image differs from the one tarred"
  blocks=$(debugfs -R "stat /big" "$img" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')
  [ -n "$blocks" ] && [ "$blocks" -le 8 ] || fail "$fmt: the file takes $blocks sectors in the image, expected one block"
  pass "$fmt: the image holds the file with one data block"
done
