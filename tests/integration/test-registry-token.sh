#!/bin/bash
# The bearer-token flow against docker-registry's `auth: token`: a token server in Python signs
# RS256 JWTs with a throw-away certificate the registry trusts. baker gets a 401 challenge, asks the
# realm for a token with its basic credentials and the scopes, retries, and caches tokens per scope.
# Credentials go to the realm only when it is the registry's exact origin: the token server fronts
# the registry (one origin, as behind one load balancer); addressed on its own port, the registry's
# realm is another origin and gets none.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"
command -v openssl >/dev/null || skip "openssl not installed"
python3 -c 'import cryptography' 2>/dev/null || skip "python3-cryptography not installed"
cd "$SCRATCH"

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=baker-token \
  >/dev/null 2>&1 || fail "openssl could not make a certificate"
TPORT=$(free_port)
PORT=$(free_port)
python3 "$BAKER_SOURCE_DIR/tests/integration/registry-token-server.py" "$TPORT" key.pem cert.pem baker-issuer \
  baker-registry alice 'tok-pw-123' "$SCRATCH/token.log" "127.0.0.1:$PORT" &
track_pid $!
write_registry_config "$SCRATCH/reg" "$PORT" "auth:
  token:
    realm: http://127.0.0.1:$TPORT/token
    service: baker-registry
    issuer: baker-issuer
    rootcertbundle: $SCRATCH/cert.pem"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$TPORT/images/web
make_image v1.raw 4 token
export HOME=$SCRATCH/home XDG_CONFIG_HOME=$SCRATCH/home/.config

# Anonymous: the token server grants pull only, so the push is refused.
expect_exit 6 "$BAKER" push v1.raw "$R:1.0"
grep -q "401\|denied\|UNAUTHORIZED" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "anonymous push not refused"; }
pass "anonymous push refused"

export BAKER_REGISTRY_USER=alice BAKER_REGISTRY_PASSWORD='tok-pw-123'
# The registry on its own port: its realm (the token server's port) is another origin, so the token
# is asked for without the credentials, and the push is refused.
: > token.log
expect_exit 6 "$BAKER" push v1.raw "127.0.0.1:$PORT/images/web:1.0"
grep -q '"authed": false' token.log || fail "the realm was not asked for a token"
! grep -q '"authed": true' token.log || fail "credentials sent to a realm on another origin"
grep -q "credentials go only to the origin they were given for" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "no warning"; }
pass "no credentials to a realm on another origin (same host, another port)"

: > token.log
"$BAKER" -vv push --json v1.raw "$R:1.0" > p1.json 2> p1.err || { cat p1.err; fail "push with bearer tokens"; }
D1=$(jq -r .digest p1.json)
! grep -q 'tok-pw-123' p1.err || fail "password in the log"
! grep -q 'eyJ' p1.err || fail "a token in the log"
grep -q '"authed": true' token.log || fail "token requested without credentials"
grep -q 'repository:images/web:pull,push' token.log || fail "no push scope requested"
# One token per scope set, not one per request.
n=$(wc -l < token.log)
[ "$n" -le 3 ] || fail "$n token requests for one push (cache not used)"
pass "push through the bearer flow ($n token requests)"

"$BAKER" push --json v1.raw "$R:1.0" > p2.json 2> p2.err || { cat p2.err; fail "re-push"; }
jq -e '.bytes_sent == 0' p2.json >/dev/null || { cat p2.json p2.err; fail "re-push sent bytes"; }
"$BAKER" pull "$R:1.0" pulled >/dev/null && cmp -s pulled/v1.raw v1.raw || fail "pull through the bearer flow"
"$BAKER" promote "$R@$D1" prod >/dev/null
[ "$("$BAKER" resolve "$R:prod" | head -1)" = "$D1" ] || fail "resolve through the bearer flow"
# Cross-repository mount asks for two scopes at once (push here, pull there).
: > token.log
"$BAKER" push --json --mount-from images/web v1.raw "127.0.0.1:$TPORT/images/copy:1.0" > m.json
[ "$(jq -r .blobs_mounted m.json)" -ge 1 ] || { cat m.json; fail "mount through the bearer flow"; }
grep -q 'repository:images/web:pull"' token.log || fail "mount did not request the source scope"
pass "pull, promote, resolve, mount with several scopes"

# skopeo with the same credentials sees the same digest.
[ "sha256:$(skopeo inspect --raw --tls-verify=false --creds 'alice:tok-pw-123' "docker://$R:1.0" | sha256sum | cut -d' ' -f1)" = "$D1" ] \
  || fail "skopeo sees another manifest"
pass "skopeo agrees"
