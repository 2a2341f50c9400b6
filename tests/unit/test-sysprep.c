/* sysprep on the test rootfs: what must go is gone, what must stay stays. */

#include "log.h"
#include "sysprep.h"
#include "tree.h"
#include "util.h"
#include "test-lib.h"

int main(void) {
        if (!test_sh_ok("python3 -c 'import tarfile'"))
                test_skip("python3 missing");
        _cleanup_free_ char *tgz = test_path("r.tar"), *json = test_path("r.json");
        test_make_rootfs(tgz, json);

        size_t n_ops = 0;
        for (const SysprepOperation *o = sysprep_operations(); o->name; o++, n_ops++)
                assert_se(o->description && o->description[0]);
        assert_se(n_ops >= 10);

        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tgz, "") >= 0);
        const char *bad_keep[] = { "no-such-op", NULL };
        assert_se(sysprep_apply(t, bad_keep, NULL) == -EINVAL);

        const char *keep[] = { "bash-history", NULL };
        SysprepReport rep;
        assert_se(sysprep_apply(t, keep, &rep) >= 0);
        const TreeEntry *e = tree_lookup(t, "etc/machine-id");
        assert_se(e && e->type == TREE_REG && e->size == 0 && e->mode == 0444);
        assert_se(!tree_lookup(t, "var/lib/dbus/machine-id"));
        assert_se(!tree_lookup(t, "etc/ssh/ssh_host_ed25519_key") && tree_lookup(t, "etc/ssh/sshd_config"));
        e = tree_lookup(t, "var/log/syslog");
        assert_se(e && e->size == 0);
        assert_se(!tree_lookup(t, "var/log/syslog.1") && !tree_lookup(t, "var/log/apt/history.log.2.gz"));
        assert_se(tree_lookup(t, "var/log/apt"));
        assert_se(!tree_lookup(t, "var/lib/systemd/random-seed"));
        assert_se(!tree_lookup(t, "var/cache/apt/pkgcache.bin"));
        assert_se(!tree_lookup(t, "tmp/junk") && !tree_lookup(t, "tmp/dir/junk2") && !tree_lookup(t, "var/tmp/junk3"));
        e = tree_lookup(t, "tmp");
        assert_se(e && e->mode == 01777);
        /* kept on request */
        assert_se(tree_lookup(t, "root/.bash_history") && tree_lookup(t, "home/user/.bash_history"));
        e = tree_lookup(t, "etc/hostname");
        char buf[32] = {};
        assert_se(e && tree_read(t, e, 0, buf, sizeof(buf)) == 10 && streq(buf, "localhost\n"));
        assert_se(rep.removed >= 8 && rep.emptied >= 2 && rep.rewritten == 1);

        assert_se(sysprep_apply(t, NULL, NULL) >= 0);
        assert_se(!tree_lookup(t, "root/.bash_history") && !tree_lookup(t, "home/user/.bash_history"));
        assert_se(tree_lookup(t, "home/user/notes.txt"));
        return 0;
}
