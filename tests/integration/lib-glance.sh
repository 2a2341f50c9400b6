# Sourced by the Glance tests (after lib.sh): a real OpenStack image service, Debian's glance-api
# (OpenStack Zed), on 127.0.0.1 with a sqlite database and the file store in the scratch directory.
# Without a paste `flavor` every request is an admin (what `auth_type: none` clients send).
command -v glance-api >/dev/null || skip "glance-api not installed (scripts/setup installs it)"
command -v glance-manage >/dev/null || skip "glance-manage not installed"
command -v jq >/dev/null || skip "jq not installed"

# write_glance_config DIR PORT [EXTRA-INI]: EXTRA-INI is appended ([paste_deploy] flavor etc.).
write_glance_config() {
  local dir=$1 port=$2 extra=${3:-}
  mkdir -p "$dir/images" "$dir/staging" "$dir/tasks"
  cat > "$dir/glance-api.conf" <<INI
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
enabled_backends = fs:file
workers = 1
log_file = $dir/glance-api.log
[database]
connection = sqlite:///$dir/glance.sqlite
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $dir/images/
[os_glance_staging_store]
filesystem_store_datadir = $dir/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $dir/tasks/
[paste_deploy]
config_file = /etc/glance/glance-api-paste.ini
$extra
INI
}

# start_glance DIR PORT: the database, then glance-api in the background until /healthcheck
# answers. Sets GLANCE_PID.
start_glance() {
  local dir=$1 port=$2
  glance-manage --config-file "$dir/glance-api.conf" db_sync >>"$dir/manage.log" 2>&1 \
    || { tail -n 20 "$dir/manage.log" >&2; fail "glance-manage db_sync failed"; }
  glance-api --config-file "$dir/glance-api.conf" >>"$dir/stderr.log" 2>&1 &
  GLANCE_PID=$!
  track_pid "$GLANCE_PID"
  if ! poll 180 curl -sf -o /dev/null "http://127.0.0.1:$port/healthcheck"; then
    tail -n 30 "$dir/stderr.log" "$dir/glance-api.log" >&2 || true
    fail "glance-api on port $port did not answer within 180 s"
  fi
}

# start_glance_local: glance-api without auth in $SCRATCH/glance and a clouds.yaml naming it
# "local" (OS_CLIENT_CONFIG_FILE). Sets API and GLANCE_PID; BAKER_HTTP_ATTEMPTS=1.
start_glance_local() {
  local port; port=$(free_port)
  write_glance_config "$SCRATCH/glance" "$port"
  start_glance "$SCRATCH/glance" "$port"
  API=http://127.0.0.1:$port
  printf 'clouds:\n  local: { auth_type: none, auth: { endpoint: %s } }\n' "$API" > "$SCRATCH/clouds.yaml"
  export OS_CLIENT_CONFIG_FILE=$SCRATCH/clouds.yaml BAKER_HTTP_ATTEMPTS=1
}

# start_keystone DIR PORT ADMIN-PASSWORD: Debian's keystone with sqlite and fernet tokens, the admin
# user and project made by `keystone-manage bootstrap`, served by keystone-wsgi-public on
# 127.0.0.1:PORT until /v3 answers. Sets KEYSTONE_PID.
start_keystone() {
  local dir=$1 port=$2 pw=$3
  command -v keystone-manage >/dev/null || skip "keystone not installed (scripts/setup installs it)"
  mkdir -p "$dir/fernet" "$dir/credential"
  cat > "$dir/keystone.conf" <<INI
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone.sqlite
[token]
provider = fernet
[fernet_tokens]
key_repository = $dir/fernet
[fernet_receipts]
key_repository = $dir/fernet
[credential]
key_repository = $dir/credential
INI
  local km=(keystone-manage --config-file "$dir/keystone.conf")
  { "${km[@]}" db_sync && "${km[@]}" fernet_setup --keystone-user root --keystone-group root &&
    "${km[@]}" credential_setup --keystone-user root --keystone-group root &&
    "${km[@]}" bootstrap --bootstrap-password "$pw" --bootstrap-region-id RegionOne \
      --bootstrap-public-url "http://127.0.0.1:$port/v3/"; } >>"$dir/manage.log" 2>&1 \
    || { tail -n 20 "$dir/manage.log" >&2; fail "keystone-manage failed"; }
  OS_KEYSTONE_CONFIG_FILES=$dir/keystone.conf keystone-wsgi-public --host 127.0.0.1 --port "$port" \
    >>"$dir/server.log" 2>&1 &
  KEYSTONE_PID=$!
  track_pid "$KEYSTONE_PID"
  if ! poll 180 curl -sf -o /dev/null "http://127.0.0.1:$port/v3"; then
    tail -n 30 "$dir/server.log" "$dir/keystone.log" >&2 || true
    fail "keystone on port $port did not answer within 180 s"
  fi
}
