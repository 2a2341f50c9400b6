#!/bin/bash
# Issue 13 item 8: downloads are bounded. A registry blob declared as 4 bytes was read whole before
# verification; tag pagination grew without end; an endless url: input filled the cache's disk and
# its partial file stayed; a full disk during pull exited 6 without a word. Here a server on
# 127.0.0.1 sends without end, and small tmpfs mounts stand for full disks.
source "$(dirname "$0")/../integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
# Bounded and detached from the test's output, so a server that outlives the test cannot hold
# ctest's pipe open (seen: ctest waiting on an orphaned server after the test had exited).
timeout 600 python3 "$BAKER_SOURCE_DIR/tests/security/hostile-server.py" port log >server.log 2>&1 &
track_pid $!
for _ in $(seq 100); do [ -e port ] && break; sleep 0.1; done
P=$(cat port)
R=127.0.0.1:$P/x
export BAKER_HTTP_ATTEMPTS=1
mounts=()
cleanup_mounts() { for m in "${mounts[@]:-}"; do [ -z "$m" ] || umount "$m" 2>/dev/null || true; done; }
# set +e: under set -e, '(exit 1)' would end the trap before _cleanup kills the servers.
trap '_rc=$?; set +e; cleanup_mounts; (exit $_rc); _cleanup' EXIT
small_fs() { # DIR SIZE: a tmpfs of SIZE at DIR, or return 1
  mkdir -p "$1"
  [ "$(id -u)" = 0 ] && mount -t tmpfs -o "size=$2" tmpfs "$1" 2>/dev/null && mounts+=("$1")
}
failed_with() { # REGEX: the last command failed, saying REGEX
  grep -Eq "$1" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "no message matching '$1'"; }
}
expect_fail() { set +e; "$@" >"$SCRATCH/out" 2>&1; local rc=$?; set -e; [ "$rc" != 0 ] || { cat "$SCRATCH/out" >&2; fail "'$*' succeeded"; }; }
sent() { jq -s "[.[] | select(.path | $1) | .sent] | add // 0" log; }

# 1. A layer declared as 4 bytes, served endlessly: stopped at the declared size.
expect_fail "$BAKER" pull "$R:oversized" dest1
failed_with "more than the 4 bytes declared"
[ -z "$(ls -A dest1 2>/dev/null)" ] || { ls -la dest1 >&2; fail "files left in the destination"; }
sleep 0.5
n=$(sent 'startswith("/v2/x/blobs/")')
[ "$n" -lt $((64 << 20)) ] || fail "the client read $n bytes of a 4-byte blob"
pass "oversized blob stopped ($n bytes left the server before the client hung up)"

# 2. Tags paged forever: an error after a bounded number of requests, no GET per tag.
expect_fail "$BAKER" history "$R"
failed_with "refusing to read more"
pages=$(jq -s '[.[] | select(.path | startswith("/v2/x/tags/list"))] | length' log)
[ "$pages" -le 1000 ] || fail "$pages tag pages read"
[ "$(jq -s '[.[] | select(.path | startswith("/v2/x/manifests/t"))] | length' log)" = 0 ] || fail "a GET per tag"
pass "endless tag pagination stopped after $pages pages"

# 2b. A finite but large tag list: history and gc look tags up one by one, so past 10,000 tags they
# refuse before the first lookup instead of sending one request a tag.
for verb in history gc; do
  : > log
  expect_fail "$BAKER" $verb $([ $verb = gc ] && echo --keep 1) "127.0.0.1:$P/many"
  failed_with "has 10001 tags, more than the 10000 baker looks up one by one"
  [ "$(jq -s '[.[] | select(.path | startswith("/v2/many/manifests/t"))] | length' log)" = 0 ] ||
    fail "$verb: a request per tag"
  pass "$verb: 10,001 tags refused without a request per tag"
done

# 3. A full disk during pull says so.
if small_fs "$SCRATCH/small" 8m; then
  expect_fail "$BAKER" pull "$R:big" "$SCRATCH/small/dest"
  failed_with "disk is full|No space left"
  [ -z "$(ls -A "$SCRATCH/small/dest" 2>/dev/null)" ] || { ls -la "$SCRATCH/small/dest" >&2; fail "a partial blob left behind"; }
  pass "a full disk during pull is reported"
else
  echo "not root or no tmpfs: full-disk pull not checked"
fi

# 4. An endless url: input stops before the cache's disk is full, and keeps no partial file.
if small_fs "$SCRATCH/cache" 48m; then
  export BAKER_CACHE=$SCRATCH/cache
  for pin in "" ", sha256: \"$(printf 'ab%.0s' $(seq 32))\""; do
    flag=--allow-unpinned; [ -z "$pin" ] || flag=
    unpack_template t.yaml dl "{ url: \"http://127.0.0.1:$P/endless\"$pin }"
    expect_exit 3 "$BAKER" bake $flag t.yaml -o images
    cp "$SCRATCH/out" "endless${pin:+-pinned}.out"
    failed_with "kept in reserve"
    left=$(find "$BAKER_CACHE/tmp" "$BAKER_CACHE/partial" -type f 2>/dev/null | wc -l)
    [ "$left" = 0 ] || { find "$BAKER_CACHE" -type f -ls >&2; fail "partial download kept${pin:+ (pinned)}"; }
    avail=$(df -k --output=avail "$BAKER_CACHE" | tail -1)
    [ "$avail" -gt 1024 ] || fail "the cache's disk was filled (${avail} KiB free)"
    pass "endless url${pin:+ (pinned)} stopped with ${avail} KiB free, nothing kept"
  done
else
  echo "not root or no tmpfs: endless url not checked"
fi
