# Sourced by the debian-input tests: a small signed apt repository that the test builds itself
# (dpkg-deb + apt-ftparchive, InRelease signed with a throwaway gpg key) and serves over HTTP on
# 127.0.0.1, so a package can be bumped from one version to the next between two bakes.
#   apt_repo_init DIR SUITE      a fresh repository and its signing key (DIR/key.gpg)
#   apt_repo_add_deb DIR NAME VERSION [DEPENDS]   builds NAME_VERSION_all.deb into DIR/pool
#   apt_repo_remove_debs DIR NAME                 drops every version of NAME from the pool
#   apt_repo_publish DIR SUITE [FIELD=VALUE...]   writes the indexes and signs them (extra
#                                apt-ftparchive Release options, e.g. ValidTime=6 for a Valid-Until)
#   apt_repo_serve DIR           starts the server; sets APT_REPO_URL
#   apt_other_key DIR            a second key that did not sign the repository (DIR/other.gpg)
#   apt_hello_repo DIR           the tests' usual one: suite testing, baker-hello 1.0, served, a second
#                                key made; its key copied to $SCRATCH/repo-key.gpg
#   need_debian_mirror           skips unless the archive keyring and a Debian mirror are there

command -v dpkg-deb >/dev/null || skip "dpkg-deb missing"
command -v apt-ftparchive >/dev/null || skip "apt-ftparchive missing (apt-utils)"
command -v gpg >/dev/null || skip "gpg missing (gnupg)"

_apt_gpg() { gpg --homedir "$1/gnupg" --batch --quiet --pinentry-mode loopback --passphrase '' "${@:2}"; }

apt_repo_init() {
  local dir=$1 suite=$2
  mkdir -p "$dir/gnupg" "$dir/pool" "$dir/dists/$suite/main/binary-amd64"
  chmod 700 "$dir/gnupg"
  _apt_gpg "$dir" --quick-gen-key "baker test repository <test@invalid>" ed25519 sign never
  _apt_gpg "$dir" --export > "$dir/key.gpg"
}

apt_other_key() {
  local dir=$1
  mkdir -p "$dir/other-gnupg" && chmod 700 "$dir/other-gnupg"
  gpg --homedir "$dir/other-gnupg" --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "someone else <other@invalid>" ed25519 sign never
  gpg --homedir "$dir/other-gnupg" --batch --quiet --export > "$dir/other.gpg"
}

apt_repo_add_deb() {
  local dir=$1 name=$2 version=$3 depends=${4:-}
  local b
  b=$(mktemp -d "$dir/build.XXXXXX")
  mkdir -p "$b/DEBIAN" "$b/usr/share/$name"
  echo "$name $version" > "$b/usr/share/$name/version"
  {
    echo "Package: $name"
    echo "Version: $version"
    echo "Architecture: all"
    echo "Maintainer: baker tests <test@invalid>"
    echo "Priority: optional"
    echo "Section: misc"
    [ -n "$depends" ] && echo "Depends: $depends"
    echo "Description: baker test package $name"
  } > "$b/DEBIAN/control"
  SOURCE_DATE_EPOCH=1700000000 dpkg-deb --root-owner-group -Zgzip --build "$b" "$dir/pool/${name}_${version}_all.deb" >/dev/null
  rm -rf "$b"
}

apt_repo_remove_debs() { rm -f "$1/pool/$2"_*.deb; }

apt_repo_publish() {
  local dir=$1 suite=$2 field extra=()
  for field in "${@:3}"; do extra+=(-o "APT::FTPArchive::Release::${field%%=*}=${field#*=}"); done
  ( cd "$dir" && apt-ftparchive packages pool > "dists/$suite/main/binary-amd64/Packages" )
  gzip -9nkf "$dir/dists/$suite/main/binary-amd64/Packages"
  ( cd "$dir/dists/$suite" && apt-ftparchive \
      -o APT::FTPArchive::Release::Suite="$suite" -o APT::FTPArchive::Release::Codename="$suite" \
      -o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main "${extra[@]}" \
      release . > Release.new && mv Release.new Release )
  rm -f "$dir/dists/$suite/InRelease"
  _apt_gpg "$dir" --clearsign -o "$dir/dists/$suite/InRelease" "$dir/dists/$suite/Release"
}

apt_repo_serve() {
  local dir=$1 port
  port=$(free_port)
  python3 -m http.server --bind 127.0.0.1 --directory "$dir" "$port" >"$dir/http.log" 2>&1 &
  track_pid $!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  APT_REPO_URL="http://127.0.0.1:$port"
}

apt_hello_repo() {
  local dir=$1
  apt_repo_init "$dir" testing
  apt_repo_add_deb "$dir" baker-hello 1.0
  apt_repo_publish "$dir" testing
  apt_repo_serve "$dir"
  apt_other_key "$dir"
  cp "$dir/key.gpg" "$SCRATCH/repo-key.gpg"
}

need_debian_mirror() {
  [ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || skip "debian-archive-keyring missing"
  apt-get -q --print-uris download base-files >/dev/null 2>&1 || skip "no Debian mirror configured"
}
