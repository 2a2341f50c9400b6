#!/bin/bash
# Issue 13 item 1: tar entries whose names ext4 cannot hold. A component over 255 bytes overflowed
# the ext4 writer's heap, and 256+ bytes were cut to (length mod 256), so 'etc/passwd' + 256 'X'
# landed as /etc/passwd. Both, and a path over PATH_MAX, must be refused at unpack with exit 4,
# naming the entry, leaving nothing in OUTPUT. No appliance: an unpack-only bake assembles offline.
source "$(dirname "$0")/../integration/lib.sh"
W=$SCRATCH/w
mkdir -p "$W"
cd "$W"
python3 - <<'PY'
import io, tarfile
def tar(path, names, fmt=tarfile.PAX_FORMAT, mode="w"):
    with tarfile.open(path, mode, format=fmt) as tf:
        d = tarfile.TarInfo("etc"); d.type = tarfile.DIRTYPE; d.mode = 0o755; tf.addfile(d)
        for n in names:
            data = b"root::0:0::/:/bin/sh\n"
            ti = tarfile.TarInfo(n); ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
tar("cut.tar", ["etc/passwd" + "X" * 256])               # cut to 'etc/passwd' before
tar("cut.tar.gz", ["etc/passwd" + "X" * 256], mode="w:gz")
tar("gnu.tar", ["etc/" + "Y" * 300], fmt=tarfile.GNU_FORMAT)  # GNU ././@LongLink
tar("deep.tar", ["/".join(["d" * 200] * 21) + "/f"])       # 4.2 KB path, components fine
tar("ok.tar", ["etc/" + "Z" * 255])                       # exactly 255: allowed
PY

tmpl() { # NAME TAR
  unpack_template "$1.yaml" ln "{ file: $2 }"
}

refused() { # NAME TAR WHY
  tmpl "$1" "$2"
  expect_exit 4 "$BAKER" bake "$1.yaml" -o "out-$1"
  grep -q "refusing entry '.*$4" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "$1: message does not name the entry"; }
  grep -q "$3" "$SCRATCH/out" || { cat "$SCRATCH/out" >&2; fail "$1: message does not say why ('$3')"; }
  if [ -d "out-$1" ] && [ -n "$(ls -A "out-$1")" ]; then ls -lA "out-$1" >&2; fail "$1: files left in OUTPUT"; fi
  pass "$1 refused"
}
refused cut cut.tar "longer than 255 bytes" "etc/passwdXXXX"
refused cutgz cut.tar.gz "longer than 255 bytes" "etc/passwdXXXX"
refused gnu gnu.tar "longer than 255 bytes" "etc/YYYY"
refused deep deep.tar "longer than PATH_MAX" "dddd"

tmpl ok ok.tar
expect_exit 0 "$BAKER" bake ok.yaml -o out-ok
pass "a 255-byte name is accepted"
