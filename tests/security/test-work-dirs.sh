#!/bin/bash
# Issue 13 item 2: a bake removes abandoned baker-work-* directories from the shared temp directory.
# It removed them whoever owned them, so an unprivileged user could plant one (with a symlink into
# a directory of root's inside) and have a root bake delete it. Only the current user's abandoned
# directories go; another user's stay whole, symlink and all, and what it points to is untouched.
# (The symlink swap in the middle of the walk is tests/security/test-rm-rf.c.)
source "$(dirname "$0")/../integration/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to act as another user"
command -v setpriv >/dev/null || skip "setpriv is missing"
id nobody >/dev/null 2>&1 || skip "no user 'nobody'"
W=$SCRATCH/w
chmod 755 "$SCRATCH"
mkdir -p "$W/tmp" "$W/precious"
chmod 1777 "$W/tmp"
echo keep > "$W/precious/file"
as_nobody() { setpriv --reuid nobody --regid "$(id -g nobody)" --clear-groups "$@"; }

# Another user's "abandoned work directory", old enough to look like debris.
as_nobody mkdir "$W/tmp/baker-work-evil1"
as_nobody mkdir "$W/tmp/baker-work-evil1/sub"
as_nobody sh -c "echo theirs > '$W/tmp/baker-work-evil1/sub/data'"
as_nobody ln -s "$W/precious" "$W/tmp/baker-work-evil1/link"
as_nobody touch -h -d '2 hours ago' "$W/tmp/baker-work-evil1/link" "$W/tmp/baker-work-evil1/sub" "$W/tmp/baker-work-evil1"
# Ours, abandoned (nobody holds its lock): removed.
mkdir "$W/tmp/baker-work-mine1" && echo x > "$W/tmp/baker-work-mine1/disk" && touch -d '2 hours ago' "$W/tmp/baker-work-mine1"

python3 - "$W/root.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as tf:
    ti = tarfile.TarInfo("etc/hostname"); ti.size = 3
    tf.addfile(ti, io.BytesIO(b"wd\n"))
PY
unpack_template "$W/t.yaml" wd '{ file: root.tar }'
TMPDIR=$W/tmp expect_exit 0 "$BAKER" bake "$W/t.yaml" -o "$W/out"

[ -e "$W/tmp/baker-work-mine1" ] && fail "our abandoned work directory was not removed"
pass "our abandoned work directory was removed"
[ -f "$W/tmp/baker-work-evil1/sub/data" ] && [ -L "$W/tmp/baker-work-evil1/link" ] ||
  { ls -laR "$W/tmp" >&2; fail "another user's directory was removed"; }
[ "$(cat "$W/precious/file")" = keep ] || fail "the symlink's target was touched"
pass "another user's directory and what it points to were left alone"
[ -z "$(ls -d "$W"/tmp/baker-work-* 2>/dev/null | grep -v evil1)" ] || { ls -la "$W/tmp" >&2; fail "a work directory was left behind"; }
pass "the bake's own work directory is gone"
