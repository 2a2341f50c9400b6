#!/bin/bash
# `bake --refresh` for what a key cannot pin (issue 10): an unpinned URL input is keyed by the
# content it served (a plain bake keeps using it; a refresh fetches again and bakes only when the
# bytes changed), and a `run` step with `network: true` runs again on refresh, its RESULT deciding
# what follows (early cut-off): a step that writes constant content leaves the later steps cached
# and the bake `unchanged`; one that writes `date` bakes a new image, which a plain bake then keeps.
# Published to docker-registry with channel nightly and refreshed into an empty output folder (a CI
# runner): the constant step's re-run leaves version 1 standing (no tag 2), the dated one publishes 2.
source "$(dirname "$0")/lib.sh"
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
I=$BAKER_SOURCE_DIR/tests/integration
W=$SCRATCH/w
mkdir -p "$W/srv"
SOURCE_DATE_EPOCH=1700000000 "$BAKER_SOURCE_DIR/scripts/make-tiny-rootfs" --no-kernel "$W/rootfs.tar"

# field JSONFILE EVENT KEY: KEY of the last EVENT in a --json log
field() { python3 -c '
import json, sys
v = [e.get(sys.argv[3]) for e in map(json.loads, open(sys.argv[1])) if e["event"] == sys.argv[2]]
print(v[-1] if v else "")' "$@"; }
# statuses JSONFILE: "1:cached 2:done …" from the step events
statuses() { python3 -c '
import json, sys
print(" ".join("%d:%s" % (e["index"], e["status"]) for e in map(json.loads, open(sys.argv[1])) if e["event"] == "step"))' "$1"; }
input_digest() { python3 -c '
import json, sys
print([i["digest"] for i in json.load(open(sys.argv[1]))["inputs"] if i["name"] == sys.argv[2]][0])' "$1" "$2"; }
# bake NAME ARGS...: baker bake --json into $W/NAME.json, exit 0 required
bake() { local n=$1; shift; "$BAKER" bake --json "$@" > "$W/$n.json" 2> "$W/$n.log" || { cat "$W/$n.log" >&2; fail "bake $n failed"; }; }

# ---- an unpinned URL ----------------------------------------------------------------------------
python3 "$I/http-server.py" --root "$W/srv" --port 0 --port-file "$W/port" --log "$W/http.log" &
track_pid $!
wait_for 10 "the HTTP server's port file" test -s "$W/port"
PORT=$(cat "$W/port")
echo "one" > "$W/srv/note"
cat > "$W/url.yaml" <<EOF
baker: 1
name: url
version: "1"
epoch: 1700000000
inputs:
  rootfs: { file: rootfs.tar }
  note: { url: "http://127.0.0.1:$PORT/files/note" }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - copy: { from: note, to: /etc }
  - file: { path: /etc/after, content: "after\n" }
outputs:
  - { format: raw }
EOF
U=(--allow-unpinned -o "$W/out-url" "$W/url.yaml")
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
one=$(sha "$W/srv/note")
bake u1 "${U[@]}"
[ "$(field "$W/u1.json" bake-end status)" = built ] || fail "first url bake: not built"
[ "$(input_digest "$W/out-url/manifest.json" note)" = "$one" ] || fail "the unpinned input is not keyed by its content"
echo "two" > "$W/srv/note"
two=$(sha "$W/srv/note")
gets=$(grep -c "GET /files/note" "$W/http.log")
bake u2 "${U[@]}"
[ "$(field "$W/u2.json" bake-end status)" = unchanged ] || fail "a plain bake re-keyed the unpinned input"
[ "$(grep -c "GET /files/note" "$W/http.log")" = "$gets" ] || fail "a plain bake downloaded the unpinned input again"
pass "unpinned url: keyed by its content; a plain bake uses the content it had"
bake u3 --refresh "${U[@]}"
[ "$(field "$W/u3.json" bake-end status)" = built ] || fail "refresh of a changed url: not built"
[ "$(input_digest "$W/out-url/manifest.json" note)" = "$two" ] || fail "refresh did not key the input by its new content"
[ "$(statuses "$W/u3.json")" = "1:cached 2:done 3:done" ] || fail "refresh statuses: $(statuses "$W/u3.json")"
grep -q "serves new content" "$W/u3.log" || fail "refresh does not say the url changed"
bake u4 --refresh "${U[@]}"
[ "$(field "$W/u4.json" bake-end status)" = unchanged ] || fail "refresh of an unchanged url: not unchanged"
bake u5 "${U[@]}"
[ "$(field "$W/u5.json" bake-end status)" = unchanged ] || fail "a plain bake after the refresh: not unchanged"
pass "unpinned url: refresh bakes the new content once, then unchanged"

# ---- a run step with the network --------------------------------------------------------------
net_template() {
  cat > "$W/$1.yaml" <<EOF
baker: 1
name: $1
version: "1"
epoch: 1700000000
inputs:
  rootfs: { file: rootfs.tar }
disk:
  size: 48MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: rootfs
  - name: fetch
    run: "$2 > /etc/fetched"
    network: true
  - file: { path: /etc/after, content: "after\n" }
outputs:
  - { format: raw }
EOF
}
net_template constant "echo constant"
net_template dated "date; cat /proc/sys/kernel/random/uuid"
for t in constant dated; do
  bake "$t-1" -o "$W/out-$t" "$W/$t.yaml"
  [ "$(field "$W/$t-1.json" bake-end status)" = built ] || fail "$t: first bake not built"
done
bake constant-2 --refresh -o "$W/out-constant" "$W/constant.yaml"
[ "$(statuses "$W/constant-2.json")" = "1:cached 2:done 3:cached" ] ||
  fail "constant refresh statuses: $(statuses "$W/constant-2.json")"
[ "$(field "$W/constant-2.json" step-result changed)" = False ] || fail "constant refresh: the result changed?"
[ "$(field "$W/constant-2.json" bake-end status)" = unchanged ] || fail "constant refresh: not unchanged"
[ "$(field "$W/constant-2.json" bake-end image_digest)" = "$(field "$W/constant-1.json" bake-end image_digest)" ] ||
  fail "constant refresh: another image"
pass "network step with constant output: re-run on refresh, later steps cached, unchanged"

d1=$(field "$W/dated-1.json" bake-end image_digest)
bake dated-2 --refresh -o "$W/out-dated" "$W/dated.yaml"
[ "$(statuses "$W/dated-2.json")" = "1:cached 2:done 3:done" ] || fail "dated refresh statuses: $(statuses "$W/dated-2.json")"
[ "$(field "$W/dated-2.json" step-result changed)" = True ] || fail "dated refresh: the result did not change?"
[ "$(field "$W/dated-2.json" bake-end status)" = built ] || fail "dated refresh: not built"
d2=$(field "$W/dated-2.json" bake-end image_digest)
[ "$d1" != "$d2" ] || fail "dated refresh: the same image"
bake dated-3 -o "$W/out-dated" "$W/dated.yaml"
[ "$(field "$W/dated-3.json" bake-end status)" = unchanged ] || fail "a plain bake after the refresh: not unchanged"
[ "$(field "$W/dated-3.json" bake-end image_digest)" = "$d2" ] || fail "a plain bake after the refresh went back"
pass "network step writing the date: refresh bakes a new image, which a plain bake keeps"

# ---- a network step, published, and a CI runner's empty output folder ---------------------------
# With no last bake in the output folder, the refresh re-runs the network step and then asks the
# channel: the same result is the image the channel names (unchanged, nothing published), a new
# result bakes and publishes the new version.
source "$I/lib-registry.sh"
RPORT=$(free_port)
write_registry_config "$W/reg" "$RPORT"
start_registry "$W/reg" "$RPORT"
pub_template() { # NAME COMMAND
  net_template "$1" "$2"
  sed -i 's/^version: "1"$/version: "${var.build}"\nvariables:\n  build: { default: "1" }/' "$W/$1.yaml"
  printf 'publish: [ { oci: "127.0.0.1:%s/images/%s" } ]\nchannels: [nightly]\n' "$RPORT" "$1" >> "$W/$1.yaml"
}
tag() { "$BAKER" resolve "127.0.0.1:$RPORT/images/$1:$2" 2>/dev/null | head -1; }
pub_template pconst "echo constant"
pub_template pdated "date; cat /proc/sys/kernel/random/uuid"
for t in pconst pdated; do
  bake "$t-1" -o "$W/out-$t-1" "$W/$t.yaml"
  [ -n "$(tag "$t" 1)" ] && [ "$(tag "$t" nightly)" = "$(tag "$t" 1)" ] || fail "$t: version 1 not published to nightly"
done
bake pconst-2 --refresh --var build=2 -o "$W/out-pconst-2" "$W/pconst.yaml"
[ "$(statuses "$W/pconst-2.json")" = "1:cached 2:done 3:cached" ] ||
  fail "pconst refresh statuses: $(statuses "$W/pconst-2.json")"
[ "$(field "$W/pconst-2.json" bake-end status)" = unchanged ] && [ "$(field "$W/pconst-2.json" bake-unchanged version)" = 1 ] ||
  { cat "$W/pconst-2.log"; fail "a network step with the same result into an empty folder was not unchanged as version 1"; }
[ -z "$(tag pconst 2)" ] && [ "$(tag pconst nightly)" = "$(tag pconst 1)" ] ||
  fail "a no-change refresh into an empty folder published version 2 or moved nightly"
pass "network step, same result, empty output folder: re-run, then the channel's version 1 stands (no tag 2)"
bake pdated-2 --refresh --var build=2 -o "$W/out-pdated-2" "$W/pdated.yaml"
[ "$(field "$W/pdated-2.json" bake-end status)" = built ] || fail "pdated refresh into an empty folder: not built"
[ -n "$(tag pdated 2)" ] && [ "$(tag pdated nightly)" = "$(tag pdated 2)" ] && [ "$(tag pdated 2)" != "$(tag pdated 1)" ] ||
  fail "a refresh with a new network result did not publish version 2 and move nightly"
pass "network step, new result, empty output folder: version 2 baked, published, nightly moved"
