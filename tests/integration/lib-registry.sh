# Sourced by the registry tests (after lib.sh): a real OCI Distribution server, Debian's
# docker-registry, on 127.0.0.1 with its storage in the scratch directory.
command -v docker-registry >/dev/null || skip "docker-registry not installed"
command -v skopeo >/dev/null || skip "skopeo not installed"
command -v jq >/dev/null || skip "jq not installed"

# write_registry_config DIR PORT [EXTRA-YAML]: deletes enabled, a fixed secret so upload sessions
# survive a restart.
write_registry_config() {
  local dir=$1 port=$2 extra=${3:-}
  mkdir -p "$dir"
  cat > "$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: baker-test-secret
$extra
YAML
}

# start_registry DIR PORT: starts it in the background and waits until it answers. Sets REG_PID.
start_registry() {
  local dir=$1 port=$2
  docker-registry serve "$dir/config.yml" >>"$dir/log" 2>&1 &
  REG_PID=$!
  track_pid "$REG_PID"
  if ! poll 10 curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
    cat "$dir/log" >&2
    fail "the registry on port $port did not answer within 10 s"
  fi
}

# make_image FILE SIZE-MIB SEED: a sparse raw file with a few bytes of content.
make_image() {
  truncate -s "$2M" "$1"
  printf 'baker %s' "$3" | dd of="$1" bs=1 seek=1000000 conv=notrunc status=none
  touch -d 2024-01-01T00:00:00Z "$1"
}
