#!/bin/bash
# Issue 13 item 4: a sensitive value must not leak in any spelling. It holds '"', '\', a single
# quote, '$' and '`' and spans three lines (like a PEM key); a run step prints it whole, line by
# line, as "token=…" and inside a JSON document it builds itself. Checked under --json (masking ran
# after JSON escaping, so '"' and '\' let it through) and -vv (output is masked per line, so each
# line of a multi-line value went out in plaintext), in the manifest and the cache. A sensitive
# variable's default quoted in a validation error's source excerpt is masked too, even when --var
# overrides it.
source "$(dirname "$0")/../integration/lib.sh"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
W=$SCRATCH/w
mkdir -p "$W"
cd "$W"
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel rootfs.tar >/dev/null 2>&1 ||
  fail "make-tiny-rootfs"

# Each line carries a marker that must appear nowhere.
export BAKER_VAR_token=$'k3y-"quo\\ted"-$HOME-`x`-it\'s-0a1b2c\n-----MIDDLE-9f8e7d-----\nlast-line-77aa55'
MARKERS="0a1b2c 9f8e7d 77aa55 d3f4u1t"

cat > t.yaml <<'EOF2'
baker: 1
name: secrets
version: "1.0"
variables:
  token: { default: "d3f4u1t-x", sensitive: true }
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - name: prints the token
    run: |
      printf '%s\n' "$TOKEN"
      echo "token=$TOKEN"
      esc=$(printf '%s' "$TOKEN" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/\\n/g')
      printf '{"token": "%s"}\n' "$esc"
      echo "printed the token"
    env: { TOKEN: "${var.token}" }
outputs:
  - { format: raw }
EOF2

check() { # FILE...: no marker in any of them
  local f m
  for f in "$@"; do
    for m in $MARKERS; do
      if grep -q -- "$m" "$f"; then grep -n -- "$m" "$f" >&2; fail "a spelling of the secret leaked into $f"; fi
    done
  done
}

rc=0
"$BAKER" bake --json -o out-json t.yaml > json.out 2> json.err || rc=$?
[ "$rc" = 0 ] || { cat json.err >&2; fail "bake --json exited $rc"; }
grep -q 'printed the token' json.out || fail "the run step's output is not in the events"
grep -q 'token=\*\*\*' json.out || { grep token json.out >&2; fail "token= line not masked as ***"; }
check json.out json.err out-json/manifest.json
pass "--json: every spelling masked"

rc=0
"$BAKER" -vv bake --rebuild --cache "$SCRATCH/cache2" -o out-vv t.yaml > vv.out 2> vv.err || rc=$?
[ "$rc" = 0 ] || { cat vv.err >&2; fail "bake -vv exited $rc"; }
grep -q 'printed the token' vv.err || fail "the run step's output is not in the -vv log"
check vv.out vv.err out-vv/manifest.json
grep -rlq -- 9f8e7d "$BAKER_CACHE/bakes" "$SCRATCH/cache2/bakes" 2>/dev/null && fail "the secret is in a cached manifest"
pass "-vv: every line of the multi-line value masked"

# The default of a sensitive variable, quoted in an error's source excerpt, with --var overriding it.
sed -i 's/sensitive: true }/sensitive: true, bogus: 1 }/' t.yaml
expect_exit 2 "$BAKER" validate --var token=other-value t.yaml
grep -q "unknown key 'bogus'" "$SCRATCH/out" || fail "no validation error"
check "$SCRATCH/out"
expect_exit 2 "$BAKER" validate --json --var token=other-value t.yaml
check "$SCRATCH/out"
pass "validation errors mask a sensitive default"
