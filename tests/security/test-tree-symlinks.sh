#!/bin/bash
# Issue 13 item 13: symlinks and special files on the way into the tree.
#  - a `path:` input that is a symlink to a directory was planned from the directory but copied as
#    a symlink to the host path: it is copied as the directory it names;
#  - a FIFO or socket in a folder input failed with "File descriptor in bad state": it is refused
#    with an error naming the file and what it is (exit 3, before anything is baked);
#  - merged-/usr images (/lib -> usr/lib): `file: /lib/...` failed and `copy:` replaced the symlink
#    with a directory. Symlinks are followed inside the image tree, never out of it: an absolute
#    target starts at the image's root and ".." stops there.
# No appliance: offline steps only; the image is read back with debugfs.
source "$(dirname "$0")/../integration/lib.sh"
command -v debugfs >/dev/null || skip "debugfs (e2fsprogs) not installed"
W=$SCRATCH/w
mkdir -p "$W"
cd "$W"

# A merged-/usr root: lib -> usr/lib, bin -> usr/bin, abs -> /etc, escape -> ../../../../../tmp.
mkdir -p root/usr/lib root/usr/bin root/etc root/tmp
ln -s usr/lib root/lib
ln -s usr/bin root/bin
ln -s /etc root/abs
ln -s ../../../../../tmp root/escape
tar --owner=0 --group=0 -C root -cf rootfs.tar .
mkdir -p extra && echo y > extra/y && tar -C extra -cf extra.tar y
mkdir -p real/sub overlay-root/lib/modules-load.d
echo a > real/sub/a
ln -s real linked
echo m > overlay-root/lib/modules-load.d/m.conf

cat > t.yaml <<'YAML'
baker: 1
name: links
version: "1"
epoch: 1700000000
inputs:
  rootfs: { file: rootfs.tar }
  extra: { file: extra.tar }
  linked: { path: linked }
  overlay: { path: overlay-root }
disk:
  size: 16MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - copy: { from: linked, to: /srv }
  - file: { path: /lib/foo.conf, content: "foo\n" }
  - copy: { from: overlay, to: / }
  - copy: { from: linked, to: /lib/extra }
  - unpack: extra
    to: /bin
  - file: { path: /abs/x.conf, content: "x\n" }
  - file: { path: /escape/evil, content: "inside\n" }
outputs:
  - { format: raw }
YAML
expect_exit 0 "$BAKER" bake t.yaml -o out
IMG="out/links.raw?offset=1048576"
kind() { # PATH: "dir", "link" or "file" in the image, "none" when missing
  debugfs -R "stat $1" "$IMG" 2>/dev/null | sed -n 's/.*Type: \([a-z]*\).*/\1/p' | head -1 |
    sed 's/^directory$/dir/; s/^symlink$/link/; s/^regular$/file/; s/^$/none/'
}
want() { # PATH KIND WHAT
  local got; got=$(kind "$1"); got=${got:-none}
  [ "$got" = "$2" ] || fail "$3: '$1' is '$got', expected '$2'"
}
want /srv dir "a path: input through a symlink"
want /srv/sub/a file "a path: input through a symlink"
pass "a path: input that is a symlink to a directory is copied as that directory"

want /lib link "merged /usr"
want /bin link "merged /usr"
want /usr/lib/foo.conf file "file: /lib/foo.conf"
want /usr/lib/modules-load.d/m.conf file "copy: of an overlay with lib/ onto /"
want /usr/lib/extra/sub/a file "copy: to /lib/extra"
want /usr/bin/y file "unpack: to /bin"
pass "file:, copy: and unpack: follow /lib -> usr/lib and /bin -> usr/bin, which stay symlinks"

want /etc/x.conf file "an absolute symlink"
want /tmp/evil file "a symlink climbing out with .."
[ ! -e /tmp/evil ] || [ "$(cat /tmp/evil 2>/dev/null)" != inside ] || fail "a file was written on the host"
pass "symlinks resolve inside the image: an absolute target from its root, '..' stops there"

# FIFO and socket in a folder input.
for what in FIFO socket; do
  rm -rf special && mkdir -p special && echo ok > special/ok
  if [ $what = FIFO ]; then mkfifo special/thing
  else python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' special/thing; fi
  cat > s.yaml <<'YAML'
baker: 1
name: special
version: "1"
inputs:
  overlay: { path: special }
disk:
  size: 16MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - copy: { from: overlay, to: /srv }
outputs:
  - { format: raw }
YAML
  expect_exit 3 "$BAKER" bake s.yaml -o out-special
  grep -q "special/thing' is a $what; a folder input holds only regular files, directories and symlinks" "$SCRATCH/out" ||
    { cat "$SCRATCH/out" >&2; fail "$what: the error does not name the file and what it is"; }
  grep -q "s.yaml:5:.*cannot digest input 'overlay'" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "$what: no position"; }
  ! grep -q "File descriptor in bad state" "$SCRATCH/out" || fail "$what: the bare errno is still printed"
  pass "a $what in a folder input is refused, named"
done
