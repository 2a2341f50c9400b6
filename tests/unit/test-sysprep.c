/* sysprep on the test rootfs: what must go is gone, what must stay stays. */

#include "log.h"
#include "steps.h"
#include "sysprep.h"
#include "test-lib.h"
#include "tree.h"
#include "util.h"

/* `keep:` as the template gives it to sysprep_apply(), which reads it up to a NULL: the list must
 * end in one (it was allocated with exactly n entries, a heap over-read under ASan). */
static void test_keep_from_template(void) {
        const char yaml[] = "baker: 1\nname: t\n"
                            "disk:\n  size: 64MiB\n  partitions:\n"
                            "    - { label: r, type: root, size: rest, fs: ext4, mount: / }\n"
                            "steps:\n  - sysprep: default\n    keep: [bash-history, tmp-files, hostname]\n";
        TemplateOptions o = { .kinds = steps_template_kinds() };
        Template *t = NULL;
        assert_se(template_parse_buffer("t.yaml", ".", yaml, strlen(yaml), &o, &t) == 0 && t->n_errors == 0);
        const StepSysprep *p = &t->steps[0].sysprep;
        assert_se(p->n_keep == 3 && p->keep[3] == NULL);
        _cleanup_(tree_freep) Tree *tree = tree_new();
        assert_se(tree_add_file(tree, "tmp/x", "x", 1, 0644, 0, 0, 1) >= 0);
        assert_se(tree_add_file(tree, "etc/ssh/ssh_host_rsa_key", "k", 1, 0600, 0, 0, 1) >= 0);
        assert_se(sysprep_apply(tree, (const char *const *) p->keep, NULL) >= 0);
        assert_se(tree_lookup(tree, "tmp/x") && !tree_lookup(tree, "etc/ssh/ssh_host_rsa_key"));
        template_free(t);
}

int main(void) {
        test_keep_from_template();
        if (!test_sh_ok("python3 -c 'import tarfile'"))
                test_skip("python3 missing");
        _cleanup_free_ char *tgz = test_path("r.tar"), *json = test_path("r.json");
        test_make_rootfs(tgz, json);

        size_t n_ops = 0;
        for (const SysprepOperation *o = sysprep_operations(); o->name; o++, n_ops++)
                assert_se(o->description && o->description[0]);
        assert_se(n_ops >= 10);

        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tgz, "", 0) >= 0);
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
