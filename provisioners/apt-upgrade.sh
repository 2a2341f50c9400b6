#!/bin/sh
# Brings a Debian or Ubuntu image up to date and removes what the upgrade left behind: package
# lists, downloaded .debs, logs of this run. Needs `network: true`. Environment:
#   APT_INSTALL   optional space-separated packages to install as well
set -eu

export DEBIAN_FRONTEND=noninteractive
# Never start services inside the image while it is being built.
if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

opts="-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o APT::Color=0"
apt-get -q update
# shellcheck disable=SC2086
apt-get $opts full-upgrade
if [ -n "${APT_INSTALL:-}" ]; then
        # shellcheck disable=SC2086
        apt-get $opts install --no-install-recommends $APT_INSTALL
fi
# shellcheck disable=SC2086
apt-get $opts autoremove --purge
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
rm -f /var/log/apt/eipp.log.xz /var/log/apt/history.log /var/log/apt/term.log /var/log/dpkg.log \
        /var/log/alternatives.log
