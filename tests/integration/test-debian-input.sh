#!/usr/bin/env bash
# A `debian` input end to end, against a small signed apt repository the test builds and serves
# on 127.0.0.1 (lib-apt.sh) on top of the Debian archive the machine is configured with: `baker
# lock` pins the package set, a bake installs exactly the locked .debs (mmdebstrap), writes an
# SBOM that validates against CycloneDX 1.5; the repository moves baker-hello from 1.0 to 1.1:
# the locked bake stays unchanged, --refresh bakes and names "baker-hello 1.0 -> 1.1" (console,
# --json event, manifest, lock), a further --refresh is unchanged. Published to a real registry
# (docker-registry) as `version: "${var.build}"` with channel nightly: build 1, then the refresh
# publishes build 2 with its SBOM referrer and moves nightly; a version the registry holds with
# other content is refused (exit 6) and leaves the lock as it was; the no-change refresh with
# build 3 publishes nothing (no tag 3, nightly stays), nor does build 4 into an empty output folder
# (the channel's image is asked: no tag 4); build 5 with a second publish target added bakes and
# publishes to both (the new target has no channel yet). Bad input: a release file
# signed by another key (exit 3, naming the file), an unknown package (exit 3, did you mean), a
# lock that does not match the template (exit 2, naming the package), a lock edited into invalid
# JSON (exit 2, file:line:col), a locked version the mirror no longer serves and a corrupt .deb
# (exit 3, naming the package), a set apt cannot install, an unreachable mirror and an index that
# fails its hash (exit 3, no lock); two cold locked bakes on separate caches give the same bytes;
# Ctrl-C while mmdebstrap runs leaves no scratch directory. No
# appliance: the image has no run step.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-apt.sh"
source "$(dirname "$0")/lib-registry.sh"
command -v mmdebstrap >/dev/null || skip "mmdebstrap missing"
[ "$(id -u)" = 0 ] || unshare --user --map-root-user true 2>/dev/null || skip "neither root nor user namespaces"
need_debian_mirror

repo=$SCRATCH/repo
apt_hello_repo "$repo"
cp "$repo/other.gpg" "$SCRATCH/other-key.gpg"
PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$PORT/images/img
resolve() { "$BAKER" resolve "$R:$1" 2>/dev/null | head -1; }

write_template() { # NAME PACKAGES KEY [MORE-YAML]
  cat > "$SCRATCH/$1.yaml" <<YAML
baker: 1
name: $1
version: "\${var.build}"
epoch: 1700000000
variables:
  build: { default: "1" }
inputs:
  base:
    debian:
      suite: bookworm
      variant: minbase
      packages: [$2]
      sources:
        - { uri: "$APT_REPO_URL", suite: testing, components: [main], key: ./$3 }
disk:
  size: 1GiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: base
outputs:
  - { format: raw }
${4:-}
YAML
}

publish_img="publish: [ { oci: \"$R\" } ]
channels: [nightly]"
write_template img baker-hello repo-key.gpg "$publish_img"
start=$(date +%s)
expect_exit 0 "$BAKER" lock "$SCRATCH/img.yaml"
lock=$SCRATCH/img.lock
grep -q '"name": "baker-hello", "version": "1.0"' "$lock" || { cat "$SCRATCH/out"; fail "the lock has no baker-hello 1.0"; }
grep -q '"name": "base-files"' "$lock" || fail "the lock has no base-files (the minbase set)"
pass "baker lock: $(grep -c '"sha256"' "$lock") packages locked in $(( $(date +%s) - start )) s"

start=$(date +%s)
expect_exit 0 "$BAKER" bake -o "$SCRATCH/out1" "$SCRATCH/img.yaml"
pass "cold bake from packages in $(( $(date +%s) - start )) s"
sbom=$SCRATCH/out1/sbom.cdx.json
[ -s "$sbom" ] || fail "no SBOM beside the outputs"
jq -e '.components[] | select(.name == "baker-hello" and .version == "1.0")' "$sbom" >/dev/null ||
  fail "the SBOM does not list baker-hello 1.0"
jq -e '.components[] | select(.purl | startswith("pkg:deb/debian/base-files@"))' "$sbom" >/dev/null ||
  fail "the SBOM has no purl for base-files"
set +e; python3 "$BAKER_SOURCE_DIR/tests/integration/validate-cyclonedx.py" "$sbom"; rc=$?; set -e
case $rc in
  0) pass "the SBOM validates against the CycloneDX 1.5 schema (python3-jsonschema)" ;;
  77) echo "note: python3-jsonschema missing, schema check skipped" ;;
  *) fail "the SBOM does not validate against CycloneDX 1.5" ;;
esac
n_status=$(jq '.packages.count' "$SCRATCH/out1/manifest.json")
[ "$n_status" = "$(grep -c '"sha256"' "$lock")" ] || fail "manifest counts $n_status packages, the lock $(grep -c '"sha256"' "$lock")"
digest1=$(jq -r .image_digest "$SCRATCH/out1/manifest.json")
D1=$(resolve 1 || true)
[ -n "$D1" ] && [ "$(resolve nightly)" = "$D1" ] || fail "the first bake did not publish version 1 to channel nightly"
# The build's own dpkg setting (no fsync while building) does not stay in the image.
off=$(jq '.layout.partitions[0].offset' "$SCRATCH/out1/manifest.json")
debugfs -R "ls /etc/dpkg/dpkg.cfg.d" "$SCRATCH/out1/img.raw?offset=$off" > "$SCRATCH/dpkg-cfg" 2>&1 ||
  { cat "$SCRATCH/dpkg-cfg"; fail "debugfs cannot list /etc/dpkg/dpkg.cfg.d in the image"; }
! grep -q "baker-unsafe-io" "$SCRATCH/dpkg-cfg" || fail "the build's baker-unsafe-io dpkg setting stayed in the image"

# Two cold locked bakes on separate caches (every .deb downloaded again, mmdebstrap run again) give
# the same bytes.
start=$(date +%s)
BAKER_CACHE=$SCRATCH/cache2 expect_exit 0 "$BAKER" bake --no-publish -o "$SCRATCH/out-r" "$SCRATCH/img.yaml"
cmp -s "$SCRATCH/out1/img.raw" "$SCRATCH/out-r/img.raw" || fail "two cold locked bakes on separate caches differ"
pass "a second cold locked bake on a separate cache gives the same bytes ($(( $(date +%s) - start )) s)"

# The archive moves on: 1.1 replaces 1.0.
apt_repo_remove_debs "$repo" baker-hello
apt_repo_add_deb "$repo" baker-hello 1.1
apt_repo_publish "$repo" testing

start=$(date +%s.%N)
expect_exit 0 "$BAKER" bake -o "$SCRATCH/out1" "$SCRATCH/img.yaml"
grep -q "unchanged" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "the locked bake was not unchanged"; }
pass "locked re-bake unchanged in $(echo "$(date +%s.%N) - $start" | bc) s"

# A refresh that sees the bump but whose bake then fails (a run step right after the unpack exits
# 1: one appliance launch, the bake's only one) leaves the lock byte for byte as it was and
# nothing under a final name; the .debs and the root filesystem it built stay cached.
start=$(date +%s)
cp "$lock" "$SCRATCH/lock-1.0"
cp "$SCRATCH/img.yaml" "$SCRATCH/img.yaml.good"
sed -i 's/^  - unpack: base$/&\n  - run: "exit 1"/' "$SCRATCH/img.yaml"
expect_exit 4 "$BAKER" bake --refresh -o "$SCRATCH/out-fail" "$SCRATCH/img.yaml"
grep -q "input 'base': baker-hello 1.0 -> 1.1 since '$lock'" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "the failing refresh did not see baker-hello 1.0 -> 1.1"; }
cmp "$SCRATCH/lock-1.0" "$lock" || fail "a refresh whose bake failed changed the lock"
[ -z "$(ls -A "$SCRATCH/out-fail")" ] || fail "a failed refresh left $(ls -A "$SCRATCH/out-fail") in its output folder"
mv "$SCRATCH/img.yaml.good" "$SCRATCH/img.yaml"
pass "a refresh whose run step fails: exit 4, the lock unchanged, no output ($(( $(date +%s) - start )) s)"

# The same refresh under version 1, which the registry holds with the 1.0 image: the bake
# succeeds, its publish is refused, and the lock stays as it was.
expect_exit 6 "$BAKER" bake --refresh -o "$SCRATCH/out-v1" "$SCRATCH/img.yaml"
grep -q "version '1' is published already as $D1" "$SCRATCH/out" && grep -q "raise 'version'" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "a new image under a published version is not refused naming it"; }
cmp "$SCRATCH/lock-1.0" "$lock" || fail "a refresh whose publish failed changed the lock"
[ "$(resolve 1)" = "$D1" ] && [ "$(resolve nightly)" = "$D1" ] || fail "a refused publish moved version 1 or nightly"
pass "a refresh whose publish is refused (version 1 holds other content): exit 6, raise 'version', the lock unchanged"

start=$(date +%s)
expect_exit 0 "$BAKER" bake --refresh --var build=2 --json -o "$SCRATCH/out1" "$SCRATCH/img.yaml"
cp "$SCRATCH/out" "$SCRATCH/refresh.json"
grep -q '"event": *"bake-unchanged"' "$SCRATCH/refresh.json" && fail "--refresh after the bump said unchanged"
grep '"packages-changed"' "$SCRATCH/refresh.json" | grep -q '"new": *"1.1"' ||
  { cat "$SCRATCH/refresh.json" >&2; fail "no packages-changed event naming 1.1"; }
jq -e '.packages.changes[] | select(.name == "baker-hello" and .old == "1.0" and .new == "1.1")' \
  "$SCRATCH/out1/manifest.json" >/dev/null || fail "manifest.json does not record baker-hello 1.0 -> 1.1"
grep -q '"name": "baker-hello", "version": "1.1"' "$lock" || fail "--refresh did not move the lock on"
[ "$(jq -r .image_digest "$SCRATCH/out1/manifest.json")" != "$digest1" ] || fail "same image after the bump"
D2=$(grep '^{' "$SCRATCH/refresh.json" | jq -r 'select(.event == "publish") | .digest')
[ -n "$D2" ] && [ "$D2" != "$D1" ] || fail "the refresh published nothing new"
[ "$(resolve 2)" = "$D2" ] && [ "$(resolve nightly)" = "$D2" ] && [ "$(resolve 1)" = "$D1" ] ||
  fail "the refresh did not publish version 2 and move nightly to it (version 1 kept)"
# Tag 2 is this image (its config is the bake's manifest), and its SBOM referrer lists 1.1
# (docker-registry has no referrers API: the sha256-<hex> fallback index).
v2=http://127.0.0.1:$PORT/v2/images/img
config=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$v2/manifests/2" | jq -r .config.digest) ||
  fail "the registry does not serve tag 2"
[ "$(curl -sf "$v2/blobs/$config" | jq -r .image_digest)" = "$(jq -r .image_digest "$SCRATCH/out1/manifest.json")" ] ||
  fail "tag 2 in the registry is not the refreshed image"
sbom_ref=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "$v2/manifests/sha256-${D2#sha256:}" |
  jq -r '.manifests[] | select(.artifactType == "application/vnd.cyclonedx+json") | .digest') ||
  fail "no referrers fallback index for version 2"
sbom_blob=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$v2/manifests/$sbom_ref" |
  jq -r '.layers[0].digest') || fail "the registry does not serve the SBOM referrer $sbom_ref"
curl -sf "$v2/blobs/$sbom_blob" | jq -e '.components[] | select(.name == "baker-hello" and .version == "1.1")' >/dev/null ||
  fail "the published SBOM referrer of version 2 does not list baker-hello 1.1"
pass "--refresh baked the bump in $(( $(date +%s) - start )) s, published version 2 with its SBOM and moved nightly"

# The next night's build number: nothing changed, so nothing new is baked or published.
start=$(date +%s.%N)
expect_exit 0 "$BAKER" bake --refresh --var build=3 -o "$SCRATCH/out1" "$SCRATCH/img.yaml"
grep -q "unchanged: img is already baked as version '2'" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "a further --refresh was not unchanged"; }
secs=$(echo "$(date +%s.%N) - $start" | bc)
curl -sf "http://127.0.0.1:$PORT/v2/images/img/tags/list" | jq -e '.tags | index("3") == null' >/dev/null ||
  fail "a no-change refresh published version 3"
[ "$(resolve nightly)" = "$D2" ] || fail "a no-change refresh moved nightly"
[ "$(jq -r .version "$SCRATCH/out1/manifest.json")" = 2 ] || fail "a no-change refresh replaced the outputs"
pass "no-change --refresh --var build=3 unchanged in $secs s: no tag 3, nightly still version 2"

# A CI runner that starts with an empty output folder: the channel is asked what it holds.
start=$(date +%s.%N)
BAKER_EVENTS_FD=7 expect_exit 0 "$BAKER" bake --refresh --var build=4 -o "$SCRATCH/out-empty" "$SCRATCH/img.yaml" \
  7>"$SCRATCH/events-empty"
secs=$(echo "$(date +%s.%N) - $start" | bc)
grep -q "unchanged: img is already published as version '2' (channel nightly: $D2)" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "a refresh into an empty folder did not find version 2 in channel nightly"; }
jq -s -e 'any(.[]; .event == "bake-unchanged" and .version == "2" and (.bake_key | startswith("sha256:")))' \
  "$SCRATCH/events-empty" >/dev/null || { cat "$SCRATCH/events-empty"; fail "no bake-unchanged event with version 2"; }
! grep -q '"event": *"publish"' "$SCRATCH/events-empty" || fail "a refresh the channel vouched for published"
curl -sf "http://127.0.0.1:$PORT/v2/images/img/tags/list" | jq -e '.tags | index("4") == null' >/dev/null ||
  fail "a no-change refresh into an empty folder published version 4"
[ "$(resolve nightly)" = "$D2" ] || fail "a no-change refresh into an empty folder moved nightly"
pass "no-change --refresh --var build=4 into an empty folder unchanged in $secs s: no tag 4, nightly still version 2"

# A publish target added to the template since: its channel does not exist, so the refresh into an
# empty folder bakes and publishes to both, though the first target holds the same content.
R2=127.0.0.1:$PORT/images/img-mirror
write_template img baker-hello repo-key.gpg "publish: [ { oci: \"$R\" }, { oci: \"$R2\" } ]
channels: [nightly]"
expect_exit 0 "$BAKER" bake --refresh --var build=5 -o "$SCRATCH/out-added" "$SCRATCH/img.yaml"
! grep -q "unchanged" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "a refresh with a new publish target was unchanged"; }
D5=$(resolve 5) M5=$("$BAKER" resolve "$R2:5" 2>/dev/null | head -1)
[ -n "$D5" ] && [ "$D5" != "$D2" ] && [ "$(resolve nightly)" = "$D5" ] && [ -n "$M5" ] &&
  [ "$("$BAKER" resolve "$R2:nightly" 2>/dev/null | head -1)" = "$M5" ] ||
  fail "a refresh with a new publish target did not publish version 5 to both and move their nightly"
pass "a publish target added since: --refresh --var build=5 into an empty folder published version 5 to both"
write_template img baker-hello repo-key.gpg "$publish_img"

cp "$lock" "$SCRATCH/lock-1.1"

# Console form of the change list.
apt_repo_remove_debs "$repo" baker-hello
apt_repo_add_deb "$repo" baker-hello 1.2
apt_repo_publish "$repo" testing
expect_exit 0 "$BAKER" lock --update "$SCRATCH/img.yaml"
grep -q "baker-hello 1.1 -> 1.2" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "lock --update does not name 1.1 -> 1.2"; }
pass "baker lock --update names baker-hello 1.1 -> 1.2"

# Locked .debs that cannot be had. cache2 holds neither 1.1 nor 1.2, and a new epoch makes the
# root filesystem build again (it fetches what the cache lacks).
locked_bake() { # NAME LOCK EPOCH: a copy of img.yaml with that lock and epoch, baked on cache2
  sed "s/^epoch: .*/epoch: $3/" "$SCRATCH/img.yaml" > "$SCRATCH/$1.yaml"
  cp "$2" "$SCRATCH/$1.lock"
  BAKER_CACHE=$SCRATCH/cache2 expect_exit 3 "$BAKER" bake -o "$SCRATCH/out-$1" "$SCRATCH/$1.yaml"
  [ ! -e "$SCRATCH/out-$1/manifest.json" ] && [ ! -e "$SCRATCH/out-$1/img.raw" ] || fail "$1: an output was written"
}
locked_bake gone "$SCRATCH/lock-1.1" 1700000002
grep -q "package 'baker-hello' version 1.1 cannot be fetched and is not in the cache" "$SCRATCH/out" &&
  grep -q "snapshot" "$SCRATCH/out" && grep -q -- "--refresh" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "a locked version the mirror no longer serves is not named with the way on"; }
pass "a locked version the mirror no longer serves: exit 3, naming baker-hello 1.1, a snapshot mirror or --refresh"

deb=$repo/pool/baker-hello_1.2_all.deb
mv "$deb" "$SCRATCH/hello-1.2.deb"
apt_repo_add_deb "$repo" baker-hello 1.2 "base-files"   # same name and version, other bytes
mv "$deb" "$SCRATCH/hello-1.2-other.deb"
cp "$SCRATCH/hello-1.2-other.deb" "$deb"
locked_bake corrupt "$lock" 1700000003
grep -q "package 'baker-hello' 1.2 is corrupt" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "a corrupt .deb is not named"; }
! ls "$SCRATCH/cache2/blobs/sha256" | grep -qx "$(sha256sum < "$deb" | cut -d' ' -f1)" ||
  fail "the corrupt .deb was kept in the cache"
cp "$SCRATCH/hello-1.2.deb" "$deb"
pass "a .deb that fails the lock's sha256: exit 3, naming it, not cached"

# A set apt cannot install, and a mirror that does not answer: exit 3, nothing locked.
apt_repo_add_deb "$repo" baker-broken 1.0 "baker-missing (>= 2)"
apt_repo_publish "$repo" testing
write_template broken baker-broken repo-key.gpg
expect_exit 3 "$BAKER" lock "$SCRATCH/broken.yaml"
grep -q "cannot be installed together" "$SCRATCH/out" && grep -q "baker-missing" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "an unsatisfiable dependency is not explained with apt's words"; }
[ ! -e "$SCRATCH/broken.lock" ] || fail "a lock was written for a set apt cannot install"
pass "an unsatisfiable dependency: exit 3 with apt's explanation (baker-missing), no lock"

dead=$(free_port)
write_template dead baker-hello repo-key.gpg
sed -i "s|$APT_REPO_URL|http://127.0.0.1:$dead|" "$SCRATCH/dead.yaml"
expect_exit 3 "$BAKER" lock "$SCRATCH/dead.yaml"
grep -q "127.0.0.1:$dead" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "an unreachable mirror is not named"; }
[ ! -e "$SCRATCH/dead.lock" ] || fail "a lock was written for an unreachable mirror"
pass "an unreachable mirror: exit 3, naming it, no lock"

# An index that fails the signed Release file's hash (a fresh apt state: a kept one would not
# fetch it again while InRelease is unchanged).
write_template hashbad baker-hello repo-key.gpg
for f in "$repo"/dists/testing/main/binary-amd64/Packages*; do cp "$f" "$f.good"; done
echo "Package: baker-sneaked" >> "$repo/dists/testing/main/binary-amd64/Packages"
gzip -9nc "$repo/dists/testing/main/binary-amd64/Packages" > "$repo/dists/testing/main/binary-amd64/Packages.gz"
BAKER_CACHE=$SCRATCH/cache-hash expect_exit 3 "$BAKER" lock "$SCRATCH/hashbad.yaml"
grep -qi "hash" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "an index failing its hash is not reported"; }
[ ! -e "$SCRATCH/hashbad.lock" ] || fail "a lock was written from an index that failed its hash"
for f in "$repo"/dists/testing/main/binary-amd64/Packages*.good; do mv "$f" "${f%.good}"; done
pass "an index that fails its hash: exit 3, no lock"

# Bad input.
write_template badkey baker-hello other-key.gpg
expect_exit 3 "$BAKER" lock "$SCRATCH/badkey.yaml"
grep -q "$APT_REPO_URL/dists/testing/InRelease" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "the bad signature does not name the file"; }
[ ! -e "$SCRATCH/badkey.lock" ] || fail "a lock was written despite the bad signature"
pass "a release file signed by another key: exit 3, naming $APT_REPO_URL/dists/testing/InRelease"

write_template typo baker-helo repo-key.gpg
expect_exit 3 "$BAKER" lock "$SCRATCH/typo.yaml"
grep -q "unknown package 'baker-helo', did you mean 'baker-hello'" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "no did-you-mean"; }
pass "unknown package: exit 3 with did you mean"

write_template img "baker-hello, hostname" repo-key.gpg
expect_exit 2 "$BAKER" bake -o "$SCRATCH/out3" "$SCRATCH/img.yaml"
grep -q "adds package 'hostname'" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "the lock mismatch does not name the package"; }
[ ! -e "$SCRATCH/out3/manifest.json" ] || fail "a manifest was written"
pass "a lock that does not match the template: exit 2, naming the package"

write_template img baker-hello repo-key.gpg
sed -i '2s/,$/,,/' "$lock"
expect_exit 2 "$BAKER" bake -o "$SCRATCH/out3" "$SCRATCH/img.yaml"
grep -q "img.lock:2:" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "the invalid lock is not named with line:col"; }
pass "a lock edited into invalid JSON: exit 2 with file:line:col"

# Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while mmdebstrap builds:
# exit 130 and no baker-debian-* scratch directory left. A new epoch makes the build run again
# (the .debs are in the cache).
write_template intr baker-hello repo-key.gpg
sed -i 's/^epoch: 1700000000$/epoch: 1700000001/' "$SCRATCH/intr.yaml"
expect_exit 0 "$BAKER" lock "$SCRATCH/intr.yaml"
mkdir -p "$SCRATCH/tmp-int"
TMPDIR=$SCRATCH/tmp-int setsid "$BAKER" bake -o "$SCRATCH/out-int" "$SCRATCH/intr.yaml" > "$SCRATCH/int.log" 2>&1 &
pid=$!
track_pid "$pid"
building() {
  kill -0 "$pid" 2>/dev/null || { cat "$SCRATCH/int.log" >&2; fail "the bake ended before mmdebstrap ran"; }
  pgrep -s "$pid" mmdebstrap >/dev/null
}
wait_for 300 "mmdebstrap to start" building
ls "$SCRATCH/tmp-int" | grep -q '^baker-debian-' || fail "no baker-debian-* scratch directory while mmdebstrap runs"
kill -INT -- "-$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 130 ] || { cat "$SCRATCH/int.log" >&2; fail "interrupted bake exited $rc, not 130"; }
wait_for 60 "mmdebstrap to end" bash -c "! pgrep -s $pid >/dev/null"
left=$(ls "$SCRATCH/tmp-int" | grep '^baker-debian-' || true)
[ -z "$left" ] || fail "an interrupted build left $left"
pass "Ctrl-C during mmdebstrap: exit 130, no baker-debian-* scratch directory left"
