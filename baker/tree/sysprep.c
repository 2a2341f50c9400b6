#include "sysprep.h"

#include <fnmatch.h>

#include "log.h"

typedef enum Action {
        ACTION_REMOVE,       /* the entry, and what is below it */
        ACTION_EMPTY,        /* regular files: truncated; other types left */
        ACTION_REMOVE_FILES, /* regular files and symlinks only; directories stay */
        ACTION_LOG,          /* rotated logs removed, live logs emptied */
        ACTION_HOSTNAME,     /* content replaced by "localhost\n" */
} Action;

typedef struct Rule {
        const char *op;
        const char *pattern; /* fnmatch(FNM_PATHNAME) over tree paths */
        Action action;
} Rule;

static const SysprepOperation operations[] = {
        { "machine-id", "empty /etc/machine-id (kept, so systemd makes a new one at first boot), remove /var/lib/dbus/machine-id" },
        { "ssh-hostkeys", "remove the SSH host keys /etc/ssh/ssh_host_*" },
        { "logfiles", "empty the files under /var/log, remove rotated ones (*.1, *.gz, *.old); directories stay" },
        { "package-caches", "remove apt's package lists and caches (/var/cache/apt/*.bin, archives/*.deb, /var/lib/apt/lists/*) and dnf/yum caches" },
        { "bash-history", "remove shell and editor history of root and /home/*: .bash_history, .ash_history, .zsh_history, .lesshst, .viminfo, .python_history" },
        { "tmp-files", "remove the contents of /tmp and /var/tmp" },
        { "random-seed", "remove /var/lib/systemd/random-seed and /var/lib/urandom/random-seed" },
        { "cloud-init", "remove cloud-init state: /var/lib/cloud/instances, /var/lib/cloud/instance, /var/log/cloud-init*" },
        { "dhcp-leases", "remove DHCP client leases (dhclient, dhcpcd, NetworkManager, systemd-networkd)" },
        { "udev-persistent-net", "remove /etc/udev/rules.d/70-persistent-net.rules" },
        { "hostname", "set /etc/hostname, when present, to \"localhost\" (the build host's name never ships)" },
        {},
};

static const Rule rules[] = {
        { "machine-id", "etc/machine-id", ACTION_EMPTY },
        { "machine-id", "var/lib/dbus/machine-id", ACTION_REMOVE },
        { "ssh-hostkeys", "etc/ssh/ssh_host_*", ACTION_REMOVE },
        { "logfiles", "var/log/*", ACTION_LOG },
        { "logfiles", "var/log/*/*", ACTION_LOG },
        { "logfiles", "var/log/*/*/*", ACTION_LOG },
        { "logfiles", "var/log/*/*/*/*", ACTION_LOG },
        { "package-caches", "var/cache/apt/*.bin", ACTION_REMOVE },
        { "package-caches", "var/cache/apt/archives/*.deb", ACTION_REMOVE },
        { "package-caches", "var/cache/apt/archives/partial/*", ACTION_REMOVE },
        { "package-caches", "var/lib/apt/lists/*_*", ACTION_REMOVE_FILES },
        { "package-caches", "var/lib/apt/lists/partial/*", ACTION_REMOVE },
        { "package-caches", "var/cache/dnf/*", ACTION_REMOVE },
        { "package-caches", "var/cache/yum/*", ACTION_REMOVE },
        { "bash-history", "root/.bash_history", ACTION_REMOVE },
        { "bash-history", "root/.ash_history", ACTION_REMOVE },
        { "bash-history", "root/.zsh_history", ACTION_REMOVE },
        { "bash-history", "root/.lesshst", ACTION_REMOVE },
        { "bash-history", "root/.viminfo", ACTION_REMOVE },
        { "bash-history", "root/.python_history", ACTION_REMOVE },
        { "bash-history", "home/*/.bash_history", ACTION_REMOVE },
        { "bash-history", "home/*/.ash_history", ACTION_REMOVE },
        { "bash-history", "home/*/.zsh_history", ACTION_REMOVE },
        { "bash-history", "home/*/.lesshst", ACTION_REMOVE },
        { "bash-history", "home/*/.viminfo", ACTION_REMOVE },
        { "bash-history", "home/*/.python_history", ACTION_REMOVE },
        { "tmp-files", "tmp/*", ACTION_REMOVE },
        { "tmp-files", "var/tmp/*", ACTION_REMOVE },
        { "random-seed", "var/lib/systemd/random-seed", ACTION_REMOVE },
        { "random-seed", "var/lib/urandom/random-seed", ACTION_REMOVE },
        { "cloud-init", "var/lib/cloud/instances", ACTION_REMOVE },
        { "cloud-init", "var/lib/cloud/instance", ACTION_REMOVE },
        { "cloud-init", "var/log/cloud-init*", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/dhcp/*.leases", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/dhcp/*.lease", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/dhclient/*", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/dhcpcd/*.lease*", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/NetworkManager/*.lease", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/NetworkManager/dhclient-*", ACTION_REMOVE },
        { "dhcp-leases", "var/lib/systemd/netif/leases/*", ACTION_REMOVE },
        { "udev-persistent-net", "etc/udev/rules.d/70-persistent-net.rules", ACTION_REMOVE },
        { "hostname", "etc/hostname", ACTION_HOSTNAME },
};

const SysprepOperation *sysprep_operations(void) {
        return operations;
}

static bool is_rotated_log(const char *path) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (endswith(base, ".gz") || endswith(base, ".xz") || endswith(base, ".bz2") || endswith(base, ".zst") ||
            endswith(base, ".old"))
                return true;
        /* "syslog.1", "dpkg.log.2" */
        const char *dot = strrchr(base, '.');
        if (!dot || dot == base + n - 1)
                return false;
        for (const char *p = dot + 1; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

static int apply_rule(Tree *t, const Rule *rule, SysprepReport *rep) {
        /* Match first, then act: acting changes the index being walked. */
        char **matches = NULL;
        size_t n_matches = 0;
        for (size_t i = 0; i < tree_size(t); i++) {
                const TreeEntry *e = tree_entry(t, i);
                if (fnmatch(rule->pattern, e->path, FNM_PATHNAME) != 0)
                        continue;
                matches = xrealloc(matches, (n_matches + 1) * sizeof(char *));
                matches[n_matches++] = xstrdup(e->path);
        }
        int r = 0;
        for (size_t i = 0; i < n_matches; i++) {
                const TreeEntry *e = tree_lookup(t, matches[i]);
                if (!e)
                        continue; /* went with a parent */
                bool reg = e->type == TREE_REG || e->type == TREE_HARDLINK;
                switch (rule->action) {
                case ACTION_REMOVE:
                        r = tree_remove(t, matches[i], true);
                        if (r >= 0)
                                rep->removed++;
                        break;
                case ACTION_REMOVE_FILES:
                        if (e->type != TREE_DIR) {
                                r = tree_remove(t, matches[i], false);
                                if (r >= 0)
                                        rep->removed++;
                        }
                        break;
                case ACTION_LOG:
                        if (!reg)
                                break;
                        if (is_rotated_log(matches[i])) {
                                r = tree_remove(t, matches[i], false);
                                if (r >= 0)
                                        rep->removed++;
                        } else if (e->size > 0) {
                                r = tree_truncate(t, matches[i]);
                                if (r >= 0)
                                        rep->emptied++;
                        }
                        break;
                case ACTION_EMPTY:
                        if (reg && e->size > 0) {
                                r = tree_truncate(t, matches[i]);
                                if (r >= 0)
                                        rep->emptied++;
                        }
                        break;
                case ACTION_HOSTNAME:
                        if (e->type == TREE_REG) {
                                r = tree_add_file(t, matches[i], "localhost\n", 10, e->mode, e->uid, e->gid, e->mtime_sec);
                                if (r >= 0)
                                        rep->rewritten++;
                        }
                        break;
                }
                if (r < 0) {
                        r = log_error_errno(r, "sysprep '%s': cannot change '/%s': %m", rule->op, matches[i]);
                        break;
                }
        }
        for (size_t i = 0; i < n_matches; i++)
                free(matches[i]);
        free(matches);
        return r;
}

int sysprep_apply(Tree *t, const char *const *keep, SysprepReport *report) {
        for (const char *const *k = keep; k && *k; k++) {
                bool known = false;
                for (const SysprepOperation *o = operations; o->name; o++)
                        known = known || streq(o->name, *k);
                if (!known)
                        return log_error_errno(-EINVAL, "unknown sysprep operation '%s' (see 'baker help sysprep')", *k);
        }
        SysprepReport rep = {};
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                bool kept = false;
                for (const char *const *k = keep; k && *k; k++)
                        kept = kept || streq(*k, rules[i].op);
                if (kept)
                        continue;
                int r = apply_rule(t, &rules[i], &rep);
                if (r < 0)
                        return r;
        }
        log_info("sysprep: %zu removed, %zu emptied, %zu rewritten", rep.removed, rep.emptied, rep.rewritten);
        if (report)
                *report = rep;
        return 0;
}
