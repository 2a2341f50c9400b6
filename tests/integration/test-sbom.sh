#!/usr/bin/env bash
# The package inventory of any image with a dpkg status (here a tarball input, no debian input and
# no appliance): OUTPUT/sbom.cdx.json validates against CycloneDX 1.5, manifest.json counts the
# packages, a second bake into the same folder after openssl moved on names "openssl A -> B"
# (console, --json event, manifest), `baker inspect` shows it, and `baker diff` lists the packages
# added, removed and changed, then the files, also of bare image files (raw, qcow2: the packages
# from the image's own dpkg status), of mixed pairs and of output folders with only a qcow2.
# `baker push` attaches the SBOM as an OCI referrer, to
# an OCI layout and to Debian's docker-registry (distribution 2.8: no referrers API, so the
# tag-schema fallback), and `baker pull` fetches it back from both.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib-registry.sh"

make_rootfs() { # OUT OPENSSL_VERSION EXTRA_PACKAGE
  python3 - "$@" <<'PY'
import io, sys, tarfile
out, ssl, extra = sys.argv[1], sys.argv[2], sys.argv[3]
status = ""
for name, version, arch, source in [("base-files", "12.4+deb12u5", "amd64", None),
                                    ("libssl3", ssl, "amd64", "openssl"),
                                    ("openssl", ssl, "amd64", None),
                                    (extra, "1:2.0-1", "all", None)]:
    status += "Package: %s\nStatus: install ok installed\nArchitecture: %s\n" % (name, arch)
    if source:
        status += "Source: %s\n" % source
    status += "Version: %s\nDescription: test\n\n" % version
status += "Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1\n\n"
files = {"etc/os-release": 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
         "var/lib/dpkg/status": status,
         "usr/share/openssl-version": ssl + "\n"}
with tarfile.open(out, "w") as t:
    for d in ("etc", "var", "var/lib", "var/lib/dpkg", "usr", "usr/share"):
        i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; i.mtime = 1700000000; t.addfile(i)
    for name, text in files.items():
        data = text.encode()
        i = tarfile.TarInfo(name); i.size = len(data); i.mode = 0o644; i.mtime = 1700000000
        t.addfile(i, io.BytesIO(data))
PY
}

cat > "$SCRATCH/img.yaml" <<'YAML'
baker: 1
name: img
version: "1.0"
epoch: 1700000000
inputs:
  base: { file: ./rootfs.tar }
disk:
  size: 64MiB
  table: gpt
  partitions:
    - { label: root, type: root, size: rest, fs: ext4, mount: / }
steps:
  - unpack: base
outputs:
  - { format: raw }
YAML

make_rootfs "$SCRATCH/rootfs.tar" 3.0.15-1~deb12u1 vim
expect_exit 0 "$BAKER" bake -o "$SCRATCH/o1" "$SCRATCH/img.yaml"
sbom=$SCRATCH/o1/sbom.cdx.json
[ -s "$sbom" ] || fail "no SBOM beside the outputs"
[ "$(jq '.components | length' "$sbom")" = 4 ] || fail "the SBOM does not list the 4 installed packages"
jq -e '.components[] | select(.purl == "pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12")' \
  "$sbom" >/dev/null || fail "no purl for openssl"
jq -e '.components[] | select(.purl == "pkg:deb/debian/vim@1%3A2.0-1?arch=all&distro=debian-12")' "$sbom" >/dev/null ||
  fail "the epoch in vim's version is not percent-encoded in its purl"
jq -e '.components[] | select(.name == "libssl3") | .properties[] | select(.name == "baker:deb:source" and .value == "openssl")' \
  "$sbom" >/dev/null || fail "libssl3's source package is not recorded"
[ "$(jq .packages.count "$SCRATCH/o1/manifest.json")" = 4 ] || fail "manifest.json does not count 4 packages"
set +e; python3 "$BAKER_SOURCE_DIR/tests/integration/validate-cyclonedx.py" "$sbom"; rc=$?; set -e
case $rc in
  0) pass "the SBOM validates against the CycloneDX 1.5 schema (python3-jsonschema)" ;;
  77) echo "note: python3-jsonschema missing, schema check skipped" ;;
  *) fail "the SBOM does not validate against CycloneDX 1.5" ;;
esac
cp -r "$SCRATCH/o1" "$SCRATCH/before"

# Published with the image as an OCI referrer (subject = the image manifest); an OCI layout has no
# referrers API, so the tag-schema fallback index "sha256-<image hex>" lists it.
L=$SCRATCH/layout
expect_exit 0 "$BAKER" push --json "$SCRATCH/o1/manifest.json" "oci-layout:$L:1.0"
img=$(jq -r .digest "$SCRATCH/out"); ref=$(jq -r .sbom "$SCRATCH/out")
[ -n "$ref" ] && [ "$ref" != null ] || fail "push reports no SBOM referrer"
blob() { cat "$L/blobs/sha256/${1#sha256:}"; }
fallback=$(jq -r --arg t "sha256-${img#sha256:}" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$L/index.json")
[ -n "$fallback" ] || fail "no referrers fallback tag for $img"
blob "$fallback" | jq -e --arg d "$ref" '.manifests[] | select(.digest == $d and .artifactType == "application/vnd.cyclonedx+json")' >/dev/null ||
  fail "the fallback index does not list the SBOM referrer"
blob "$ref" | jq -e --arg s "$img" '.subject.digest == $s' >/dev/null || fail "the referrer's subject is not the image"
[ "$(blob "$ref" | jq -r '.layers[0].digest')" = "sha256:$(sha256sum "$sbom" | cut -d' ' -f1)" ] ||
  fail "the referrer's layer is not the SBOM"
expect_exit 0 "$BAKER" push --json "$SCRATCH/o1/manifest.json" "oci-layout:$L:1.0"
[ "$(jq -r .status "$SCRATCH/out")" = unchanged ] && [ "$(jq -r .sbom "$SCRATCH/out")" = "$ref" ] ||
  fail "a re-push is not unchanged with the same SBOM referrer"
pass "push attaches the SBOM as an OCI referrer of the image (fallback tag); a re-push is unchanged"

# The same against a real registry. docker-registry 2.8 has no referrers API (its 404 is checked, so
# this really is the fallback): the "sha256-<image hex>" tag holds an index listing the referrer.
PORT=$(free_port)
write_registry_config "$SCRATCH/reg" "$PORT"
start_registry "$SCRATCH/reg" "$PORT"
R=127.0.0.1:$PORT/img
expect_exit 0 "$BAKER" push --json "$SCRATCH/o1/manifest.json" "$R:1.0"
[ "$(jq -r .digest "$SCRATCH/out")" = "$img" ] && [ "$(jq -r .sbom "$SCRATCH/out")" = "$ref" ] ||
  fail "the registry push reports another image or SBOM referrer than the layout push"
v2=http://127.0.0.1:$PORT/v2/img
[ "$(curl -s -o /dev/null -w '%{http_code}' "$v2/referrers/$img")" = 404 ] ||
  fail "docker-registry answers the referrers API: this no longer tests the fallback"
accept='Accept: application/vnd.oci.image.index.v1+json'
fallback_index() { curl -sf -H "$accept" "$v2/manifests/sha256-${img#sha256:}"; }
fallback_index > "$SCRATCH/fallback.json" || fail "the registry has no referrers fallback tag sha256-${img#sha256:}"
jq -e --arg d "$ref" '.mediaType == "application/vnd.oci.image.index.v1+json" and
  ([.manifests[] | select(.digest == $d and .artifactType == "application/vnd.cyclonedx+json")] | length == 1)' \
  "$SCRATCH/fallback.json" >/dev/null || { cat "$SCRATCH/fallback.json" >&2; fail "the fallback index does not list the SBOM referrer once"; }
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$v2/manifests/$ref" > "$SCRATCH/referrer.json" ||
  fail "the registry does not serve the referrer manifest $ref"
jq -e --arg s "$img" '.subject.digest == $s and .artifactType == "application/vnd.cyclonedx+json"' "$SCRATCH/referrer.json" \
  >/dev/null || fail "the referrer's subject is not the image"
curl -sf "$v2/blobs/$(jq -r '.layers[0].digest' "$SCRATCH/referrer.json")" | cmp -s - "$sbom" ||
  fail "the referrer's layer in the registry is not the SBOM"
# A re-push, and a push of the same image under another tag: one referrer, listed once.
expect_exit 0 "$BAKER" push --json "$SCRATCH/o1/manifest.json" "$R:1.0"
[ "$(jq -r .status "$SCRATCH/out")" = unchanged ] && [ "$(jq -r .sbom "$SCRATCH/out")" = "$ref" ] ||
  fail "a re-push to the registry is not unchanged with the same SBOM referrer"
expect_exit 0 "$BAKER" push --json "$SCRATCH/o1/manifest.json" "$R:also"
fallback_index | cmp -s - "$SCRATCH/fallback.json" || fail "a re-publish changed the fallback index (a duplicate referrer?)"
expect_exit 0 "$BAKER" pull "$R:1.0" "$SCRATCH/pulled-reg"
cmp -s "$SCRATCH/pulled-reg/sbom.cdx.json" "$sbom" || fail "pull did not fetch the SBOM from the registry"
pass "docker-registry (no referrers API): the SBOM referrer in the sha256-<hex> fallback index, once after re-publishing; pull fetches it"

# openssl moves on, vim goes, nano comes.
make_rootfs "$SCRATCH/rootfs.tar" 3.0.16-1~deb12u1 nano
expect_exit 0 "$BAKER" bake --json -o "$SCRATCH/o1" "$SCRATCH/img.yaml"
grep '"packages-changed"' "$SCRATCH/out" | grep -q '"new": *"3.0.16-1~deb12u1"' ||
  { cat "$SCRATCH/out" >&2; fail "no packages-changed event naming openssl's new version"; }
jq -e '.packages.changes[] | select(.name == "openssl" and .old == "3.0.15-1~deb12u1" and .new == "3.0.16-1~deb12u1")' \
  "$SCRATCH/o1/manifest.json" >/dev/null || fail "manifest.json does not record openssl's change"
jq -e '.packages.changes[] | select(.name == "vim" and .new == null)' "$SCRATCH/o1/manifest.json" >/dev/null ||
  fail "manifest.json does not record vim's removal"
pass "a second bake names openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1 (event and manifest)"

expect_exit 0 "$BAKER" inspect "$SCRATCH/o1/manifest.json"
grep -q "openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "inspect does not show the change"; }
grep -q "packages: *4 installed, SBOM sbom.cdx.json" "$SCRATCH/out" || fail "inspect does not show the SBOM"
pass "baker inspect shows the packages and their changes"

expect_exit 0 "$BAKER" diff "$SCRATCH/before" "$SCRATCH/o1"
for line in "packages: 2 changed, 1 added, 1 removed" "  libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" \
            "  openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" "  + nano 1:2.0-1" "  - vim 1:2.0-1"; do
  grep -qxF -- "$line" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "baker diff lacks '$line'"; }
done
grep -q "/usr/share/openssl-version" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "baker diff lists no file"; }
expect_exit 0 "$BAKER" diff --json "$SCRATCH/before/manifest.json" "$SCRATCH/o1/manifest.json"
jq -e '.packages | length == 4' "$SCRATCH/out" >/dev/null || fail "diff --json does not list 4 package changes"
pass "baker diff lists packages, then files"

# Bare image files, no manifest beside them: the packages from each image's own dpkg status, read
# offline; a qcow2 through a scratch raw (gone afterwards); an image file against an output folder.
mkdir -p "$SCRATCH/bare/tmp"
cp --sparse=always "$SCRATCH/before/img.raw" "$SCRATCH/bare/old.raw"
cp --sparse=always "$SCRATCH/o1/img.raw" "$SCRATCH/bare/new.raw"
expect_exit 0 "$BAKER" diff "$SCRATCH/bare/old.raw" "$SCRATCH/bare/new.raw"
for line in "image: $(jq -r .image_digest "$SCRATCH/before/manifest.json") -> $(jq -r .image_digest "$SCRATCH/o1/manifest.json")" \
            "packages: 2 changed, 1 added, 1 removed" "  openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" "  + nano 1:2.0-1"; do
  grep -qxF -- "$line" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "baker diff of two raw image files lacks '$line'"; }
done
grep -q "/usr/share/openssl-version" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "baker diff of two raw image files lists no file"; }
qemu-img convert -f raw -O qcow2 "$SCRATCH/bare/old.raw" "$SCRATCH/bare/old.qcow2"
TMPDIR=$SCRATCH/bare/tmp expect_exit 0 "$BAKER" diff --json "$SCRATCH/bare/old.qcow2" "$SCRATCH/o1"
jq -e --arg a "$(jq -r .image_digest "$SCRATCH/before/manifest.json")" '.a == $a and (.packages | length == 4) and
  ([.packages[] | select(.name == "openssl" and .old == "3.0.15-1~deb12u1" and .new == "3.0.16-1~deb12u1")] | length == 1) and
  ([.files.differences[] | select(.path == "/usr/share/openssl-version")] | length > 0)' "$SCRATCH/out" >/dev/null ||
  { cat "$SCRATCH/out"; fail "baker diff of a qcow2 image against an output folder does not name openssl's change and its file"; }
[ -z "$(ls -A "$SCRATCH/bare/tmp")" ] || fail "baker diff left the qcow2's scratch raw: $(ls -A "$SCRATCH/bare/tmp")"
echo "not an image" > "$SCRATCH/bare/notes.txt"
expect_exit 3 "$BAKER" diff "$SCRATCH/bare/notes.txt" "$SCRATCH/bare/new.raw"
grep -qF "'$SCRATCH/bare/notes.txt' is neither a manifest nor a disk image" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "a file that is neither a manifest nor an image is not named"; }
pass "baker diff of bare image files (raw/raw, qcow2/output folder): packages from the images' dpkg status, then files; a text file is refused by name"

# An output folder whose only output is a qcow2, as the reference templates bake: its files through
# a scratch raw too.
sed 's/{ format: raw }/{ format: qcow2 }/' "$SCRATCH/img.yaml" > "$SCRATCH/q.yaml"
expect_exit 0 "$BAKER" bake -o "$SCRATCH/oq" "$SCRATCH/q.yaml"
[ -e "$SCRATCH/oq/img.qcow2" ] && [ ! -e "$SCRATCH/oq/img.raw" ] || fail "the qcow2-only bake has other outputs: $(ls "$SCRATCH/oq")"
TMPDIR=$SCRATCH/bare/tmp expect_exit 0 "$BAKER" diff "$SCRATCH/before" "$SCRATCH/oq"
grep -qxF -- "  openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" "$SCRATCH/out" && grep -q "/usr/share/openssl-version" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "baker diff of an output folder with a qcow2 output does not list openssl's change and its file"; }
[ -z "$(ls -A "$SCRATCH/bare/tmp")" ] || fail "baker diff left the qcow2 output's scratch raw: $(ls -A "$SCRATCH/bare/tmp")"
pass "baker diff of an output folder whose only output is a qcow2 lists its files"

# The same diff with the older image as a registry reference: pulled with its SBOM referrer into a
# scratch directory that is gone afterwards.
export TMPDIR=$SCRATCH/tmp-diff
mkdir -p "$TMPDIR"
expect_exit 0 "$BAKER" diff "oci-layout:$L:1.0" "$SCRATCH/o1"
for line in "packages: 2 changed, 1 added, 1 removed" "  openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" "  - vim 1:2.0-1"; do
  grep -qxF -- "$line" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "baker diff of a registry reference lacks '$line'"; }
done
grep -q "/usr/share/openssl-version" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "baker diff of a registry reference lists no file"; }
expect_exit 0 "$BAKER" diff "$R:1.0" "$SCRATCH/o1"
grep -qxF -- "  openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "baker diff of a docker-registry reference does not name openssl's change"; }
[ -z "$(ls -A "$TMPDIR")" ] || fail "diff left its pull behind: $(ls "$TMPDIR")"
expect_exit 0 "$BAKER" pull "oci-layout:$L:1.0" "$SCRATCH/pulled"
cmp -s "$SCRATCH/pulled/sbom.cdx.json" "$SCRATCH/before/sbom.cdx.json" || fail "pull did not fetch the SBOM referrer"
unset TMPDIR
pass "baker diff takes a registry reference (layout, docker-registry; pulled with its SBOM); baker pull fetches the SBOM"

# The same folder, an image without a dpkg status: the old SBOM goes, and diff says there is none.
python3 - "$SCRATCH/rootfs.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    i = tarfile.TarInfo("etc"); i.type = tarfile.DIRTYPE; i.mode = 0o755; i.mtime = 1700000000; t.addfile(i)
    data = b"ID=debian\n"
    i = tarfile.TarInfo("etc/os-release"); i.size = len(data); i.mode = 0o644; i.mtime = 1700000000
    t.addfile(i, io.BytesIO(data))
PY
expect_exit 0 "$BAKER" bake -o "$SCRATCH/o1" "$SCRATCH/img.yaml"
[ ! -e "$SCRATCH/o1/sbom.cdx.json" ] || fail "an earlier bake's SBOM stayed beside outputs that have no dpkg status"
jq -e '.packages == null' "$SCRATCH/o1/manifest.json" >/dev/null || fail "manifest.json names packages for an image without any"
expect_exit 0 "$BAKER" diff "$SCRATCH/before" "$SCRATCH/o1"
grep -q "has no SBOM" "$SCRATCH/out" || { cat "$SCRATCH/out"; fail "diff does not say the second bake has no SBOM"; }
expect_exit 0 "$BAKER" diff "$SCRATCH/bare/old.raw" "$SCRATCH/o1/img.raw"
grep -qxF "packages: $SCRATCH/o1/img.raw has no dpkg status" "$SCRATCH/out" ||
  { cat "$SCRATCH/out"; fail "diff of an image file without a dpkg status does not say so"; }
pass "an image without a dpkg status: no SBOM (the old one removed), and diff says so (of the image file too)"
