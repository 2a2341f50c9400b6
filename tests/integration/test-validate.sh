#!/usr/bin/env bash
# baker validate / plan: golden error output for every broken template under tests/templates/bad
# (regenerate with UPDATE_GOLDEN=1), the example template, and bad input that must end in a clean
# error: a 50 MB file, random bytes, a missing --var-file, a variable holding "${...}", secrets.
source "$(dirname "$0")/lib.sh"

bad=$BAKER_SOURCE_DIR/tests/templates/bad
n=0
for yaml in "$bad"/*.yaml; do
  name=$(basename "$yaml")
  expected=${yaml%.yaml}.expected
  # optional first line "# baker-args: ..." gives extra options
  args=$(sed -n '1s/^# baker-args: //p' "$yaml")
  set +e
  (cd "$bad" && NO_COLOR=1 "$BAKER" validate $args "$name") >"$SCRATCH/stdout" 2>"$SCRATCH/actual"
  rc=$?
  set -e
  [ "$rc" = 2 ] || { cat "$SCRATCH/actual" >&2; fail "$name: exit $rc, expected 2"; }
  [ ! -s "$SCRATCH/stdout" ] || fail "$name: unexpected stdout"
  if [ -n "${UPDATE_GOLDEN:-}" ]; then
    cp "$SCRATCH/actual" "$expected"
  elif ! diff -u "$expected" "$SCRATCH/actual"; then
    fail "$name: output differs from $(basename "$expected") (UPDATE_GOLDEN=1 regenerates)"
  fi
  # the same errors as JSON on stdout, nothing on stderr
  set +e
  (cd "$bad" && "$BAKER" validate --json $args "$name") >"$SCRATCH/json" 2>"$SCRATCH/stderr"
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "$name --json: exit $rc"
  python3 - "$SCRATCH/json" <<'PY' || fail "$name: bad JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is False and d["errors"], d
for e in d["errors"]:
    assert set(e) == {"file", "line", "column", "message"}, e
PY
  n=$((n + 1))
done
! grep -rq hunter2 "$bad"/*.expected || fail "a secret reached the golden output"
pass "$n broken templates give their golden errors"

# The example template, with a stand-in for the rootfs tarball the README's command builds.
mkdir -p "$SCRATCH/p/templates" "$SCRATCH/p/build/rootfs"
cp -r "$BAKER_SOURCE_DIR/templates/." "$SCRATCH/p/templates/"
cp -r "$BAKER_SOURCE_DIR/provisioners" "$SCRATCH/p/provisioners"
echo "stand-in" >"$SCRATCH/p/build/rootfs/tiny-rootfs.tar"
ex=$SCRATCH/p/templates/example.yaml
expect_exit 0 "$BAKER" validate "$ex"
expect_exit 0 "$BAKER" validate --json "$ex"
grep -q '"valid": true' "$SCRATCH/out" || fail "validate --json: not valid"
expect_exit 0 "$BAKER" plan "$ex"
grep -q 'run provisioners/hello.sh' "$SCRATCH/out" || fail "plan: missing step"
grep -q '^bake key: sha256:' "$SCRATCH/out" || fail "plan: no bake key"
"$BAKER" plan --json "$ex" >"$SCRATCH/plan1.json"
# the plan is stable, and changing a script changes its key and the later ones only
echo "# changed" >>"$SCRATCH/p/provisioners/hello.sh"
"$BAKER" plan --json "$ex" >"$SCRATCH/plan2.json"
python3 - "$SCRATCH/plan1.json" "$SCRATCH/plan2.json" <<'PY' || fail "plan keys"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
ka = [s["key"] for s in a["steps"]]; kb = [s["key"] for s in b["steps"]]
i = [s["name"] for s in a["steps"]].index("run provisioners/hello.sh")
assert ka[:i] == kb[:i] and all(x != y for x, y in zip(ka[i:], kb[i:])), (ka, kb)
assert a["bake_key"] != b["bake_key"] and a["bake_key"].startswith("sha256:")
PY
pass "example validates and plans; a script change moves only its key and the later ones"

# A variable whose value holds "${...}" is inserted literally (single-pass substitution).
"$BAKER" plan --json --var 'motd=${var.hostname} $(reboot)' "$ex" >"$SCRATCH/plan3.json"
python3 - "$SCRATCH/plan3.json" <<'PY' || fail "variable value was re-expanded"
import json, sys
d = json.load(open(sys.argv[1]))
c = [s["definition"]["content"] for s in d["steps"] if s["name"] == "file /etc/motd"][0]
assert c == "${var.hostname} $(reboot)\n", c
PY
pass "a variable's \${...} value is not expanded again"

# Sensitive values: never printed, never in keys.
cat >"$SCRATCH/p/templates/secret.yaml" <<'Y'
baker: 1
name: secret
variables:
  token: { sensitive: true }
disk:
  size: 1GiB
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - file: { path: /etc/token, content: "${var.token}", mode: "0600" }
  - run: echo "${var.token}" > /dev/null
Y
expect_exit 0 "$BAKER" validate "$SCRATCH/p/templates/secret.yaml"
BAKER_VAR_token=s3cr3t-one "$BAKER" plan --json "$SCRATCH/p/templates/secret.yaml" >"$SCRATCH/s1" 2>&1
grep -q '"content": "${var.token}"' "$SCRATCH/s1" || fail "secret reference not kept in the definition"
"$BAKER" plan --json --var token=s3cr3t-two "$SCRATCH/p/templates/secret.yaml" >"$SCRATCH/s2" 2>&1
! grep -q s3cr3t "$SCRATCH/s1" "$SCRATCH/s2" || fail "a secret was printed"
cmp -s <(grep '"key"' "$SCRATCH/s1") <(grep '"key"' "$SCRATCH/s2") || fail "a secret changed a key"
pass "sensitive values are masked and stay out of keys"

# Bad input: clean errors, no crash.
head -c $((50 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$SCRATCH/big.yaml"
start=$(date +%s%N)
expect_exit 2 "$BAKER" validate "$SCRATCH/big.yaml"
grep -q "template is too large" "$SCRATCH/out" || fail "50 MB template"
echo "50 MB template refused in $(( ($(date +%s%N) - start) / 1000000 )) ms"
for i in 1 2 3 4 5; do
  head -c 4096 /dev/urandom >"$SCRATCH/random.yaml"
  expect_exit 2 "$BAKER" validate "$SCRATCH/random.yaml"
  grep -q "error:" "$SCRATCH/out" || fail "random bytes: no error"
done
expect_exit 2 "$BAKER" validate "$SCRATCH/does-not-exist.yaml"
grep -q "cannot read template: No such file or directory" "$SCRATCH/out" || fail "missing template"
expect_exit 2 "$BAKER" validate --var-file "$SCRATCH/nope.vars" "$ex"
grep -q "cannot read variable file" "$SCRATCH/out" || fail "missing var file"
expect_exit 2 "$BAKER" validate
expect_exit 2 "$BAKER" validate --bogus "$ex"
expect_exit 0 "$BAKER" help validate
expect_exit 0 "$BAKER" help plan
pass "bad input ends in clean errors"
