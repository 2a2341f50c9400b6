#!/bin/sh
# Adds a login user with an SSH key. Environment:
#   USER_NAME     the user's name (required)
#   USER_SSH_KEY  one or more public keys for ~/.ssh/authorized_keys, one a line (required)
#   USER_SUDO     1: may use sudo without a password (and is in group sudo or wheel if it exists)
#   USER_UID      numeric uid (optional; the first free one from 1000 otherwise)
#   USER_SHELL    login shell (optional; /bin/bash when present, /bin/sh otherwise)
# Works with shadow's useradd (Debian, Fedora), busybox adduser, or neither (plain edits of
# /etc/passwd, /etc/group, /etc/shadow). Running it twice leaves the same result.
set -eu

: "${USER_NAME:?set USER_NAME}"
: "${USER_SSH_KEY:?set USER_SSH_KEY}"
USER_SUDO="${USER_SUDO:-0}"

case "$USER_NAME" in
        ''|-*|*[!a-z0-9_.-]*) echo "add-user: invalid user name '$USER_NAME'" >&2; exit 2 ;;
esac

if [ -z "${USER_SHELL:-}" ]; then
        if [ -x /bin/bash ]; then USER_SHELL=/bin/bash; else USER_SHELL=/bin/sh; fi
fi
home="/home/$USER_NAME"

# The smallest uid/gid >= 1000 that /etc/passwd and /etc/group do not use yet.
free_id() {
        id=1000
        while cut -d: -f3 /etc/passwd /etc/group 2>/dev/null | grep -qx "$id"; do
                id=$((id + 1))
        done
        echo "$id"
}

if grep -q "^$USER_NAME:" /etc/passwd; then
        echo "add-user: user '$USER_NAME' exists already"
else
        uid="${USER_UID:-$(free_id)}"
        if command -v useradd >/dev/null 2>&1; then
                useradd --create-home --home-dir "$home" --shell "$USER_SHELL" --uid "$uid" \
                        --user-group "$USER_NAME"
        elif command -v adduser >/dev/null 2>&1 && adduser 2>&1 | grep -q -- '-D'; then
                # busybox adduser: -D no password
                grep -q "^$USER_NAME:" /etc/group || addgroup -g "$uid" "$USER_NAME"
                adduser -D -h "$home" -s "$USER_SHELL" -u "$uid" -G "$USER_NAME" "$USER_NAME"
        else
                grep -q "^$USER_NAME:" /etc/group || echo "$USER_NAME:x:$uid:" >>/etc/group
                echo "$USER_NAME:x:$uid:$uid::$home:$USER_SHELL" >>/etc/passwd
                if [ -f /etc/shadow ]; then
                        # no password: login by key only; day 0 keeps the image reproducible
                        echo "$USER_NAME:!:0:0:99999:7:::" >>/etc/shadow
                fi
                mkdir -p "$home"
                chmod 0750 "$home"
        fi
        echo "add-user: added user '$USER_NAME' ($uid)"
fi

uid=$(grep "^$USER_NAME:" /etc/passwd | cut -d: -f3)
gid=$(grep "^$USER_NAME:" /etc/passwd | cut -d: -f4)
mkdir -p "$home/.ssh"
printf '%s\n' "$USER_SSH_KEY" >"$home/.ssh/authorized_keys"
chmod 0700 "$home/.ssh"
chmod 0600 "$home/.ssh/authorized_keys"
chown "$uid:$gid" "$home" "$home/.ssh" "$home/.ssh/authorized_keys"

if [ "$USER_SUDO" = 1 ]; then
        for group in sudo wheel; do
                grep -q "^$group:" /etc/group || continue
                grep -Eq "^$group:[^:]*:[^:]*:(.*,)?$USER_NAME(,|\$)" /etc/group && continue
                # "sudo:x:27:" gains the name, "sudo:x:27:bob" gains ",name"
                sed -i "/^$group:/ { /:\$/ s/\$/$USER_NAME/; t
                        s/\$/,$USER_NAME/; }" /etc/group
        done
        mkdir -p /etc/sudoers.d
        printf '%s ALL=(ALL) NOPASSWD: ALL\n' "$USER_NAME" >"/etc/sudoers.d/90-$USER_NAME"
        chmod 0440 "/etc/sudoers.d/90-$USER_NAME"
fi
