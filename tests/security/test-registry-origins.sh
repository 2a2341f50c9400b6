#!/bin/bash
# Issue 13 item 7: credentials go only to the origin they were given for. The registry client sent
# Authorization to an upload Location and a tags-list Link rel="next" on another origin (here:
# 127.0.0.1, another port), and Basic credentials to a bearer realm on another host over plain http
# (here: 127.0.0.2). And plain http was chosen by name prefix, so "localhost.attacker.example"
# was talked to without TLS (tests/security/test-origins.c checks the names).
source "$(dirname "$0")/../integration/lib.sh"
command -v jq >/dev/null || skip "jq not installed"
cd "$SCRATCH"
has() { jq -s -e "any(.[]; $1)" log >/dev/null; } # has JQ-CONDITION: some request in the log matches
timeout 600 python3 "$BAKER_SOURCE_DIR/tests/security/origin-servers.py" ports log alice 'pw-s3cret' >server.log 2>&1 &
track_pid $!
for _ in $(seq 100); do [ -e ports ] && break; sleep 0.1; done
[ -e ports ] || fail "servers did not start"
read -r P1 P2 P3 < ports
export BAKER_REGISTRY_USER=alice BAKER_REGISTRY_PASSWORD='pw-s3cret' BAKER_HTTP_ATTEMPTS=1
truncate -s 64K web.raw
printf 'origin test' | dd of=web.raw bs=1 seek=100 conv=notrunc status=none

# 1. Upload Location on another origin: the registry itself got the credentials, the Location none.
: > log
set +e; "$BAKER" push web.raw "127.0.0.1:$P1/images/web:1.0" > push.out 2>&1; set -e
has '.server == "registry" and .method == "POST" and .basic' >/dev/null ||
  { cat push.out log >&2; fail "the registry itself never got the credentials"; }
has '.server == "other"' >/dev/null || { cat push.out log >&2; fail "the upload Location was not used"; }
if has '.server == "other" and .auth' >/dev/null; then
  cat log >&2; fail "Authorization sent to the upload Location on another origin"
fi
pass "no credentials to an upload Location on another origin"

# 2. Tags list with Link rel="next" on another origin.
: > log
set +e; "$BAKER" history --json "127.0.0.1:$P1/images/web" > hist.out 2>&1; set -e
has '.server == "other" and (.path | contains("tags/list"))' >/dev/null ||
  { cat hist.out log >&2; fail "the Link rel=next page was not asked for"; }
if has '.server == "other" and .auth' >/dev/null; then
  cat log >&2; fail "Authorization sent to a Link rel=next on another origin"
fi
pass "no credentials to a tags-list Link on another origin"

# 3. A bearer realm on another host over plain http gets no Basic credentials.
: > log
set +e; "$BAKER" pull "127.0.0.1:$P1/bearer/x:1.0" pulled > pull.out 2>&1; set -e
has '.server == "realm"' >/dev/null || { cat pull.out log >&2; fail "the realm was not asked for a token"; }
if has '.server == "realm" and .auth' >/dev/null; then
  cat log >&2; fail "Basic credentials sent to a plain-http realm on another host"
fi
has '.server == "registry" and (.path | startswith("/v2/bearer/")) and .auth' >/dev/null ||
  { cat pull.out log >&2; fail "the realm's token was not used on the registry"; }
pass "no credentials to a plain-http realm on another host (its token still used)"

# 4. A bearer realm on the registry's own host but another port (another origin, plain http) gets
# none either: only the exact origin (scheme, host and port) does.
: > log
set +e; "$BAKER" pull "127.0.0.1:$P1/bearer-port/x:1.0" pulled-port > pull-port.out 2>&1; set -e
has '.server == "other" and (.path | startswith("/token"))' >/dev/null ||
  { cat pull-port.out log >&2; fail "the realm on another port was not asked for a token"; }
if has '.server == "other" and .auth' >/dev/null; then
  cat log >&2; fail "Basic credentials sent to a plain-http realm on the same host, another port"
fi
grep -q "without the credentials for '127.0.0.1:$P1': credentials go only to the origin they were given for" pull-port.out ||
  { cat pull-port.out >&2; fail "no warning that the realm is asked without credentials"; }
pass "no credentials to a realm on the registry's host but another port"

# 5. A realm on the registry's exact origin gets them.
: > log
set +e; "$BAKER" pull "127.0.0.1:$P1/bearer-same/x:1.0" pulled-same > pull-same.out 2>&1; set -e
has '.server == "registry" and (.path | startswith("/token")) and .basic' >/dev/null ||
  { cat pull-same.out log >&2; fail "the realm on the registry's own origin did not get the credentials"; }
pass "credentials to a realm on the registry's exact origin"
! grep -q 'pw-s3cret' push.out hist.out pull.out pull-port.out pull-same.out || fail "the password appears in output"
