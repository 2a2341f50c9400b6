/* The step and input kinds (steps/): the table, and each row's offline work on a real Tree —
 * variables substituted in every text field README says takes them (a `file:` path, a `to:`
 * directory of unpack and copy, the bootloader's cmdline), and which steps use a secret. */
#include <stdio.h>

#include "plan.h"
#include "steps.h"
#include "test-lib.h"
#include "tree.h"

static const char *dir;

static const char yaml[] =
        "baker: 1\nname: t\nepoch: 1700000000\n"
        "variables:\n"
        "  svc: { default: web }\n"
        "  con: { default: ttyS0 }\n"
        "  token: { sensitive: true, default: hunter2 }\n"
        "inputs:\n"
        "  rootfs: { file: root.tar }\n"
        "  overlay: { path: overlay }\n"
        "disk:\n  size: 64MiB\n  partitions:\n    - { label: r, type: root, size: rest, fs: ext4, mount: / }\n"
        "steps:\n"
        "  - unpack: rootfs\n    to: /opt/${var.svc}\n"
        "  - copy: { from: overlay, to: \"/srv/${var.svc}\" }\n"
        "  - file: { path: \"/etc/${var.svc}.conf\", content: \"port=80\\n\" }\n"
        "  - file: { path: /etc/token, content: \"${var.token}\" }\n"
        "  - file: { path: /etc/after, content: x }\n"
        "  - bootloader: { type: systemd-boot, cmdline: \"console=${var.con} quiet\" }\n";

static void setup(void) {
        dir = test_scratch();
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_file(t, "etc/base", "base\n", 5, 0644, 0, 0, 1) >= 0);
        _cleanup_free_ char *tar = path_join(dir, "root.tar"), *ov = path_join(dir, "overlay"),
                            *f = path_join(dir, "overlay/a"), *y = path_join(dir, "t.yaml");
        assert_se(tree_write(t, tar, 1) >= 0);
        assert_se(mkdir_p(ov, 0755) >= 0);
        assert_se(write_file_atomic(f, "A", 1, 0644) >= 0);
        assert_se(write_file_atomic(y, yaml, strlen(yaml), 0644) >= 0);
}

static void test_table(void) {
        assert_se(n_step_kinds == 6 && n_input_kinds == 4);
        const TemplateKinds *k = steps_template_kinds();
        assert_se(k->n_steps == n_step_kinds && k->n_inputs == n_input_kinds);
        for (size_t i = 0; i < n_step_kinds; i++) {
                const StepOps *o = step_kinds[i];
                assert_se(o->syntax.name && o->syntax.parse && o->syntax.define && o->syntax.display);
                assert_se(step_kind_find(o->syntax.name) == o && k->steps[i] == &o->syntax);
                /* a step runs somewhere: on the tree, in the appliance, or at assembly */
                assert_se(o->apply || (o->execute && (o->flags & STEP_NEEDS_APPLIANCE)) || o->bootloader);
        }
        for (size_t i = 0; i < n_input_kinds; i++)
                assert_se(input_kinds[i]->fetch && input_kinds[i]->syntax.digest &&
                       input_kind_find(input_kinds[i]->syntax.name) == input_kinds[i]);
}

static void test_substitution(void) {
        _cleanup_free_ char *y = path_join(dir, "t.yaml");
        TemplateOptions o = { .kinds = steps_template_kinds() };
        Template *t = NULL;
        assert_se(template_parse(y, &o, &t) == 0);
        VarsSources src = { .no_environment = true };
        Vars *v = NULL;
        assert_se(vars_resolve(t, &src, &v) == 0 && t->n_errors == 0);
        char *paths[] = { t->inputs[0].resolved_path, t->inputs[1].resolved_path, NULL };
        StepContext c = { .t = t, .vars = v, .input_paths = paths, .epoch = 1700000000, .label = "x" };
        _cleanup_(tree_freep) Tree *tree = tree_new();
        for (size_t i = 0; i < t->n_steps; i++) {
                const StepOps *ops = step_ops(&t->steps[i]);
                if (ops->apply)
                        assert_se(ops->apply(&c, &t->steps[i], tree) >= 0);
        }
        /* unpack `to:` */
        assert_se(tree_lookup(tree, "opt/web/etc/base") && !tree_lookup(tree, "opt/${var.svc}"));
        /* copy `to:` */
        assert_se(tree_lookup(tree, "srv/web/a"));
        /* file `path:` */
        const TreeEntry *e = tree_lookup(tree, "etc/web.conf");
        assert_se(e && e->type == TREE_REG && e->size == 8);
        /* bootloader `cmdline:` */
        const TemplateStep *b = &t->steps[5];
        BootloaderType type;
        _cleanup_free_ char *cmdline = NULL;
        assert_se(step_ops(b)->bootloader(b, v, &type, &cmdline) == 1);
        assert_se(type == BOOTLOADER_SYSTEMD_BOOT && streq(cmdline, "console=ttyS0 quiet"));

        /* the secret's step and every later one are never cached */
        Plan *p = NULL;
        assert_se(plan_build(t, v, NULL, &p) == 0);
        assert_se(!p->steps[2].uses_secret && p->steps[3].uses_secret && !p->steps[4].uses_secret);
        assert_se(p->secret_from == 3);
        assert_se(!strstr(p->steps[3].definition, "hunter2"));
        plan_free(p);
        vars_free(v);
        template_free(t);
}

/* Which steps a remote cache may hold: `cache:` as given, else local for a step that needs the
 * network; a secret's step and everything after a local step stay local. */
static size_t shared_until(const char *steps, size_t *ret_errors) {
        _cleanup_free_ char *y = path_join(dir, "shared.yaml");
        _cleanup_free_ char *text = xasprintf("baker: 1\nname: s\nepoch: 1700000000\n"
                                              "variables:\n  token: { sensitive: true, default: x }\n"
                                              "disk:\n  size: 64MiB\n  partitions:\n"
                                              "    - { label: r, type: root, size: rest, fs: ext4, mount: / }\n"
                                              "steps:\n%s",
                                              steps);
        assert_se(write_file_atomic(y, text, strlen(text), 0644) >= 0);
        TemplateOptions o = { .kinds = steps_template_kinds() };
        _cleanup_(template_freep) Template *t = NULL;
        assert_se(template_parse(y, &o, &t) == 0);
        *ret_errors = t->n_errors;
        if (t->n_errors > 0)
                return SIZE_MAX;
        VarsSources src = { .no_environment = true };
        _cleanup_(vars_freep) Vars *v = NULL;
        assert_se(vars_resolve(t, &src, &v) == 0);
        _cleanup_(plan_freep) Plan *p = NULL;
        assert_se(plan_build(t, v, NULL, &p) == 0);
        return steps_shared_until(p);
}

static void test_shared(void) {
        static const char f[] = "  - file: { path: /a, content: a }\n";
        static const char net[] = "  - run: \"apt-get update\"\n    network: true\n";
        static const char net_shared[] = "  - run: \"apt-get update\"\n    network: true\n    cache: shared\n";
        static const char local[] = "  - file: { path: /b, content: b }\n    cache: local\n";
        static const char secret[] = "  - file: { path: /t, content: \"${var.token}\" }\n    cache: shared\n";
        size_t errors = 0;
        _cleanup_free_ char *all = xasprintf("%s%s%s", f, f, f);
        assert_se(shared_until(all, &errors) == 3 && errors == 0);
        _cleanup_free_ char *a = xasprintf("%s%s%s", f, net, f);
        assert_se(shared_until(a, &errors) == 1);
        _cleanup_free_ char *b = xasprintf("%s%s%s", f, net_shared, f);
        assert_se(shared_until(b, &errors) == 3);
        _cleanup_free_ char *c = xasprintf("%s%s%s", local, f, f);
        assert_se(shared_until(c, &errors) == 0);
        _cleanup_free_ char *d = xasprintf("%s%s%s%s", f, net_shared, secret, f);
        assert_se(shared_until(d, &errors) == 2);
        /* an unknown mode is an error at its place */
        assert_se(shared_until("  - file: { path: /a, content: a }\n    cache: remote\n", &errors) == SIZE_MAX &&
                  errors == 1);
}

int main(void) {
        setup();
        test_table();
        test_substitution();
        test_shared();
        printf("ok\n");
        return 0;
}
