# Sourced by every tests/integration/test-*.sh. Gives each test its own scratch directory, kills
# the processes it started (by PID) and removes the directory on exit.
set -euo pipefail

: "${BAKER_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BAKER_BUILD_DIR:=$BAKER_SOURCE_DIR/build}"
: "${BAKER:=$BAKER_BUILD_DIR/baker}"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/baker-test.XXXXXX")
export BAKER_CACHE=$SCRATCH/cache
_pids=()

_cleanup() {
  local rc=$?
  for p in "${_pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP_SCRATCH:-}" ]; then echo "scratch kept: $SCRATCH" >&2; else rm -rf "$SCRATCH"; fi
  exit $rc
}
trap _cleanup EXIT

# Remember a background process so it is killed at exit.
track_pid() { _pids+=("$1"); }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
pass() { echo "ok: $*"; }

# expect_exit CODE CMD...: runs CMD, fails unless it exits with CODE. Output goes to $SCRATCH/out.
expect_exit() {
  local want=$1; shift
  set +e
  "$@" >"$SCRATCH/out" 2>&1
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    cat "$SCRATCH/out" >&2
    fail "'$*' exited $got, expected $want"
  fi
}

# poll SECONDS CMD [ARG...]: runs CMD (its standard output discarded; keep it quiet on stderr)
# every 0.1 s until it succeeds, for at most SECONDS (a whole number); returns 1 when it never did.
# CMD runs in this shell, so it may call fail. Polling instead of sleeping a fixed time: quick when
# the machine is, and still right when it is slow.
poll() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
  shift
  until "$@" >/dev/null; do
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# wait_for SECONDS WHAT CMD [ARG...]: poll, and fail the test with "timed out after SECONDS s
# waiting for WHAT" when CMD never succeeded.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  poll "$seconds" "$@" || fail "timed out after $seconds s waiting for $what"
}

# gone PID: whether process PID has exited (and is not a zombie).
gone() {
  [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# unpack_template FILE NAME INPUT [SIZE]: the smallest bake, one ext4 root on GPT (SIZE, default
# 64MiB) into which input `rootfs` (INPUT, a YAML value: "{ file: root.tar }") is unpacked, and a
# raw output. Without run steps it assembles offline: no appliance.
unpack_template() {
  cat > "$1" <<YAML
baker: 1
name: $2
version: "1"
epoch: 1700000000
inputs:
  rootfs: $3
disk:
  size: ${4:-64MiB}
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
outputs:
  - { format: raw }
YAML
}

# interrupt PID OUT: Ctrl-C to the command running in the background as PID (its output in OUT):
# it must exit with 130 within 3 s. INTERRUPT_MS: how long it took.
interrupt() {
  local t0 rc
  t0=$(date +%s%N)
  kill -INT "$1"
  set +e; wait "$1"; rc=$?; set -e
  INTERRUPT_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$rc" = 130 ] || { cat "$2"; fail "interrupted command exited $rc, expected 130"; }
  [ "$INTERRUPT_MS" -lt 3000 ] || fail "the command took $INTERRUPT_MS ms to stop"
}
