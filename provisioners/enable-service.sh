#!/bin/sh
# Enables services at boot without starting anything. Environment:
#   SERVICES  space-separated unit or service names (required)
# systemd: `systemctl enable` works offline in a chroot; busybox/sysvinit: update-rc.d or an
# /etc/runlevels link (OpenRC's rc-update) when those exist.
set -eu
: "${SERVICES:?set SERVICES}"

for svc in $SERVICES; do
        if command -v systemctl >/dev/null 2>&1 && [ -d /etc/systemd/system ]; then
                systemctl enable "$svc"
        elif command -v rc-update >/dev/null 2>&1; then
                rc-update add "$svc" default
        elif command -v update-rc.d >/dev/null 2>&1; then
                update-rc.d "$svc" defaults
        else
                echo "enable-service: no service manager found to enable '$svc'" >&2
                exit 1
        fi
        echo "enable-service: enabled '$svc'"
done
