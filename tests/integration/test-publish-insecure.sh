#!/bin/bash
# A template's `publish: [{oci: REF, insecure: true}]` skips TLS verification for that registry's
# host (and only for it): a registry serving https with a self-signed certificate is published to
# with `insecure: true`, and refused (exit 6, a TLS error) without it. Regression: the flag used to
# register the whole target "host:port/repo" as the host, which matches no host, so `insecure: true`
# had no effect. Loopback names get plain http, so the registry listens on this machine's first
# non-loopback IPv4 address (for the few seconds of the test); without one the test is skipped.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"
command -v openssl >/dev/null || skip "openssl not installed"
cd "$SCRATCH"

IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
[ -n "$IP" ] || skip "no non-loopback IPv4 address to serve https on"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj "/CN=$IP" \
  -addext "subjectAltName=IP:$IP" >/dev/null 2>&1 || fail "openssl could not make a certificate"
PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT" "  tls:
    certificate: $SCRATCH/cert.pem
    key: $SCRATCH/key.pem"
sed -i "s/addr: 127.0.0.1:/addr: $IP:/" "$SCRATCH/reg/config.yml"
docker-registry serve "$SCRATCH/reg/config.yml" >>"$SCRATCH/reg/log" 2>&1 &
track_pid $!
for _ in $(seq 100); do curl -sk -o /dev/null "https://$IP:$PORT/v2/" && break; sleep 0.1; done
curl -sk -o /dev/null "https://$IP:$PORT/v2/" || { cat "$SCRATCH/reg/log" >&2; fail "the registry does not answer https"; }

# template NAME INSECURE: a disk from one file step, published to the https registry.
template() {
  cat > "$1.yaml" <<YAML
baker: 1
name: $1
version: "1.0"
disk:
  size: 16MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - file: { path: /etc/motd, content: "$1\n" }
outputs:
  - { format: raw }
publish:
  - { oci: "$IP:$PORT/test/$1", insecure: $2 }
YAML
}

template verified false
expect_exit 6 "$BAKER" bake -o out-verified verified.yaml
grep -qi "certificate\|ssl\|tls" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "no TLS error named"; }
pass "without insecure: the self-signed certificate is refused (exit 6)"

template skipped true
rc=0
"$BAKER" bake --json -o out-skipped skipped.yaml > skipped.json 2> skipped.err || rc=$?
[ "$rc" = 0 ] || { cat skipped.err >&2; fail "bake with insecure: true exited $rc"; }
D=$(jq -r 'select(.event == "publish") | .digest' skipped.json)
[ -n "$D" ] && [ "$D" != null ] || fail "no publish event"
[ "$(skopeo inspect --raw --tls-verify=false "docker://$IP:$PORT/test/skipped:1.0" | sha256sum | cut -d' ' -f1)" = "${D#sha256:}" ] ||
  fail "the registry does not hold what the bake published"
pass "insecure: true publishes to the self-signed registry"

# The flag is the template's: a later bake without it in the same registry is refused again.
expect_exit 6 "$BAKER" bake --rebuild -o out-verified verified.yaml
pass "insecure covers only the publish entry that says so"
