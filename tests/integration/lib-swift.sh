# Sourced by the S3 tests (after lib.sh): a real OpenStack Swift (Debian) with its s3api middleware
# and tempauth on 127.0.0.1, everything (rings, one device, configs) in the scratch directory; it
# checks SigV4 signatures, Content-MD5 and the 5 MiB minimum part size as AWS does, and enforces a
# container's X-Container-Meta-Quota-Bytes (container_quotas middleware). User
# test:tester, key "testing": S3 access key id "test:tester", secret "testing".
for c in swift-proxy-server swift-object-server swift-container-server swift-account-server \
         swift-ring-builder memcached curl; do
  command -v "$c" >/dev/null || skip "$c not installed (scripts/setup installs swift)"
done

SWIFT_ACCESS_KEY=test:tester
SWIFT_SECRET=testing

_swift_server_conf() { # NAME PORT DIR
  cat <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
devices = $3/srv
mount_check = false
swift_dir = $3
user = $(id -un)
workers = ${SWIFT_WORKERS:-0}
log_name = $1
log_level = WARNING
[pipeline:main]
pipeline = $1-server
[app:$1-server]
use = egg:swift#$1
CONF
}

# start_swift DIR: (SWIFT_WORKERS: processes per server, default 0 = one, no fork) writes the configs, builds the rings, starts memcached and the four servers and
# waits until the proxy answers. Sets SWIFT_PORT (the S3 endpoint is http://127.0.0.1:$SWIFT_PORT).
start_swift() {
  local dir=$1 mc_port obj_port cont_port acc_port t
  mkdir -p "$dir/srv/d1"
  mc_port=$(free_port); obj_port=$(free_port); cont_port=$(free_port); acc_port=$(free_port)
  SWIFT_PORT=$(free_port)
  printf '[swift-hash]\nswift_hash_path_suffix = baker-test\nswift_hash_path_prefix = baker\n' >"$dir/swift.conf"
  for t in object:$obj_port container:$cont_port account:$acc_port; do
    swift-ring-builder "$dir/${t%%:*}.builder" create 4 1 1 >/dev/null
    swift-ring-builder "$dir/${t%%:*}.builder" add "r1z1-127.0.0.1:${t##*:}/d1" 1 >/dev/null
    swift-ring-builder "$dir/${t%%:*}.builder" rebalance >/dev/null
    _swift_server_conf "${t%%:*}" "${t##*:}" "$dir" >"$dir/${t%%:*}-server.conf"
  done
  cat >"$dir/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $SWIFT_PORT
swift_dir = $dir
user = $(id -un)
workers = ${SWIFT_WORKERS:-0}
log_name = proxy
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth container_quotas copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $SWIFT_SECRET .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$mc_port
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:container_quotas]
use = egg:swift#container_quotas
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF
  memcached -u "$(id -un)" -l 127.0.0.1 -p "$mc_port" -U 0 -m 32 >>"$dir/log" 2>&1 &
  track_pid $!
  for t in object container account proxy; do
    "swift-$t-server" "$dir/$t-server.conf" >>"$dir/log" 2>&1 &
    track_pid $!
  done
  if ! poll 60 curl -sf "http://127.0.0.1:$SWIFT_PORT/healthcheck"; then
    cat "$dir/log" >&2
    fail "swift on port $SWIFT_PORT did not answer within 60 s"
  fi
  # The proxy's healthcheck is its own: the storage servers may still be starting (a loaded
  # machine), and a first request then fails with 503.
  for t in $obj_port $cont_port $acc_port; do
    if ! poll 60 curl -s -o /dev/null "http://127.0.0.1:$t/healthcheck"; then
      cat "$dir/log" >&2
      fail "a swift storage server on port $t did not answer within 60 s"
    fi
  done
}

# s3_curl METHOD PATH [CURL-ARGS...]: an independent S3 client (curl 7.88's --aws-sigv4, fine for
# plain object GET/PUT/HEAD with a simple path) against the test's Swift.
s3_curl() {
  local method=$1 path=$2; shift 2
  curl -sS -X "$method" --aws-sigv4 "aws:amz:us-east-1:s3" --user "$SWIFT_ACCESS_KEY:$SWIFT_SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" "http://127.0.0.1:$SWIFT_PORT$path"
}

# swift_native METHOD PATH [CURL-ARGS...]: Swift's own API (tempauth token), an independent way in:
# PATH is /CONTAINER[/OBJECT]; an S3 bucket is a container.
swift_native() {
  local method=$1 path=$2 token url; shift 2
  read -r token url < <(curl -sS -D - -o /dev/null -H "X-Auth-User: $SWIFT_ACCESS_KEY" -H "X-Auth-Key: $SWIFT_SECRET" \
    "http://127.0.0.1:$SWIFT_PORT/auth/v1.0" | tr -d '\r' | awk -F': ' '
      tolower($1)=="x-auth-token" { t=$2 } tolower($1)=="x-storage-url" { u=$2 } END { print t, u }')
  curl -sS -X "$method" -H "X-Auth-Token: $token" "$@" "$url$path"
}
