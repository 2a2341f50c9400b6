/* sysprep on the test rootfs: what must go is gone, what must stay stays. */
#include <assert.h>

#include "log.h"
#include "sysprep.h"
#include "tree.h"
#include "util.h"

int main(void) {
        if (system("python3 -c 'import tarfile' 2>/dev/null") != 0)
                return 77;
        char scratch[] = "/var/tmp/test-sysprep-XXXXXX";
        assert(mkdtemp(scratch));
        _cleanup_free_ char *tgz = path_join(scratch, "r.tar"), *json = path_join(scratch, "r.json");
        _cleanup_free_ char *cmd = xasprintf("python3 %s/integration/make-test-rootfs.py %s %s", TESTS_DIR, tgz, json);
        assert(system(cmd) == 0);

        size_t n_ops = 0;
        for (const SysprepOperation *o = sysprep_operations(); o->name; o++, n_ops++)
                assert(o->description && o->description[0]);
        assert(n_ops >= 10);

        _cleanup_(tree_freep) Tree *t = tree_new();
        assert(tree_add_archive(t, tgz, "") >= 0);
        const char *bad_keep[] = { "no-such-op", NULL };
        assert(sysprep_apply(t, bad_keep, NULL) == -EINVAL);

        const char *keep[] = { "bash-history", NULL };
        SysprepReport rep;
        assert(sysprep_apply(t, keep, &rep) >= 0);
        const TreeEntry *e = tree_lookup(t, "etc/machine-id");
        assert(e && e->type == TREE_REG && e->size == 0 && e->mode == 0444);
        assert(!tree_lookup(t, "var/lib/dbus/machine-id"));
        assert(!tree_lookup(t, "etc/ssh/ssh_host_ed25519_key") && tree_lookup(t, "etc/ssh/sshd_config"));
        e = tree_lookup(t, "var/log/syslog");
        assert(e && e->size == 0);
        assert(!tree_lookup(t, "var/log/syslog.1") && !tree_lookup(t, "var/log/apt/history.log.2.gz"));
        assert(tree_lookup(t, "var/log/apt"));
        assert(!tree_lookup(t, "var/lib/systemd/random-seed"));
        assert(!tree_lookup(t, "var/cache/apt/pkgcache.bin"));
        assert(!tree_lookup(t, "tmp/junk") && !tree_lookup(t, "tmp/dir/junk2") && !tree_lookup(t, "var/tmp/junk3"));
        e = tree_lookup(t, "tmp");
        assert(e && e->mode == 01777);
        /* kept on request */
        assert(tree_lookup(t, "root/.bash_history") && tree_lookup(t, "home/user/.bash_history"));
        e = tree_lookup(t, "etc/hostname");
        char buf[32] = {};
        assert(e && tree_read(t, e, 0, buf, sizeof(buf)) == 10 && streq(buf, "localhost\n"));
        assert(rep.removed >= 8 && rep.emptied >= 2 && rep.rewritten == 1);

        assert(sysprep_apply(t, NULL, NULL) >= 0);
        assert(!tree_lookup(t, "root/.bash_history") && !tree_lookup(t, "home/user/.bash_history"));
        assert(tree_lookup(t, "home/user/notes.txt"));
        rm_rf(scratch);
        return 0;
}
