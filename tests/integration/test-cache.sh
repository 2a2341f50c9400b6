#!/bin/bash
# baker cache ls|gc on a cache laid out by hand: listing, LRU eviction order, --max-size parsing,
# a blob held locked by another process survives gc, abandoned temp files go.
source "$(dirname "$0")/lib.sh"

C=$BAKER_CACHE
mkdir -p "$C/blobs/sha256" "$C/steps" "$C/tmp"
blob() { # NAME-SEED SIZE-KiB AGE-DAYS -> prints the blob path
  local f=$SCRATCH/$1
  head -c "$(( $2 * 1024 ))" /dev/urandom > "$f"
  local h; h=$(sha256sum "$f" | cut -d' ' -f1)
  mv "$f" "$C/blobs/sha256/$h"
  touch -a -d "$3 days ago" "$C/blobs/sha256/$h"
  echo "$C/blobs/sha256/$h"
}
old=$(blob a 100 9)
mid=$(blob b 100 5)
new=$(blob c 100 1)
mkdir -p "$C/steps/00aa"
head -c 102400 /dev/urandom > "$C/steps/00aa/state"
touch -m -d "7 days ago" "$C/steps/00aa"
mkdir "$C/tmp/entry-steps-dead"; touch -d "1 hour ago" "$C/tmp/entry-steps-dead"

"$BAKER" cache ls --json > "$SCRATCH/ls.json"
python3 - "$SCRATCH/ls.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
order = [i["namespace"] for i in d["items"]]
assert order == ["blobs", "steps", "blobs", "blobs"], order
assert d["count"] == 4 and d["total_size"] >= 4 * 102400, d
PY
pass "cache ls --json lists 4 items oldest first"
"$BAKER" cache ls | grep -q "^4 items" || fail "human ls total"
[ ! -e "$C/tmp/entry-steps-dead" ] || fail "abandoned temp dir survived open"
pass "abandoned temp dir removed"

expect_exit 2 "$BAKER" cache gc --max-size 12XB
grep -q "invalid size '12XB'" "$SCRATCH/out" || fail "size error message"

# The oldest blob is in use by another process (shared flock, as a bake holds it).
( exec 9<"$old"; flock -s 9; exec sleep 60 ) &
holder=$!; track_pid $holder
wait_for 10 "the holder's lock on $old" eval '! flock -n -x "$old" true'
"$BAKER" cache gc --max-size 250K --json > "$SCRATCH/gc.json"
[ -e "$old" ] || fail "gc removed a locked blob"
[ ! -e "$C/steps/00aa" ] || fail "gc kept the LRU entry"
[ ! -e "$mid" ] || fail "gc kept the next LRU blob"
[ -e "$new" ] || fail "gc removed the newest blob"
pass "gc evicts least recently used first and skips locked items"

kill $holder; wait $holder 2>/dev/null || true
"$BAKER" cache gc --max-size 0 > "$SCRATCH/gc.txt"
grep -q "remain" "$SCRATCH/gc.txt" || fail "gc output"
[ -z "$(ls -A "$C/blobs/sha256")" ] || fail "gc --max-size 0 left blobs"
pass "gc --max-size 0 empties the cache"
