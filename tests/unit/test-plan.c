/* Plan keys: what changes a key and what must not. */
#include <stdio.h>

#include "plan.h"
#include "steps.h"
#include "test-lib.h"

static const char *dir;

static void put(const char *name, const char *content) {
        _cleanup_free_ char *p = path_join(dir, name);
        assert_se(write_file_atomic(p, content, strlen(content), 0755) == 0);
}

static Plan *plan(const char *yaml, const char *const *assign, size_t n_assign) {
        put("t.yaml", yaml);
        _cleanup_free_ char *p = path_join(dir, "t.yaml");
        Template *t = NULL;
        TemplateOptions o = { .kinds = steps_template_kinds() };
        assert_se(template_parse(p, &o, &t) == 0);
        VarsSources src = { .assignments = (const char **) assign, .n_assignments = n_assign, .no_environment = true };
        Vars *v = NULL;
        int r = vars_resolve(t, &src, &v);
        for (size_t i = 0; i < t->n_errors; i++)
                fprintf(stderr, "%u:%u %s\n", t->errors[i].pos.line, t->errors[i].pos.column, t->errors[i].message);
        assert_se(r == 0 && t->n_errors == 0);
        Plan *pl = NULL;
        assert_se(plan_build(t, v, NULL, &pl) == 0);
        /* the plan borrows step pointers from t; keys and strings are its own */
        for (size_t i = 0; i < pl->n_steps; i++)
                pl->steps[i].step = NULL;
        vars_free(v);
        template_free(t);
        return pl;
}

static const char base[] =
        "baker: 1\n"
        "name: t\n"
        "version: \"1\"\n"
        "variables:\n"
        "  motd: { default: hello }\n"
        "  secret: { sensitive: true, default: \"top-secret\" }\n"
        "inputs:\n"
        "  root: { file: root.tar }\n"
        "  overlay: { path: overlay }\n"
        "disk:\n"
        "  size: 1GiB\n"
        "  table: gpt\n"
        "  partitions:\n"
        "    - { label: root, type: root, size: rest, fs: ext4, mount: / }\n"
        "steps:\n"
        "  - unpack: root\n"
        "  - file: { path: /etc/motd, content: \"${var.motd}\", mode: \"0644\" }\n"
        "  - run: setup.sh\n"
        "    env: { A: \"1\", B: \"${var.secret}\" }\n"
        "  - copy: { from: overlay, to: /srv }\n"
        "  - sysprep: default\n";

/* Same meaning: keys reordered, flow <-> block, comments, quoting. */
static const char reordered[] =
        "# a comment\n"
        "steps:\n"
        "  - unpack: \"root\"\n"
        "  - file:\n"
        "      mode: '0644'\n"
        "      content: \"${var.motd}\"\n"
        "      path: /etc/motd\n"
        "  - env:\n"
        "      B: \"${var.secret}\"\n"
        "      A: '1'\n"
        "    run: setup.sh\n"
        "  - copy: {to: /srv, from: overlay}\n"
        "  - {sysprep: default}\n"
        "disk: {partitions: [{mount: /, fs: ext4, size: rest, type: root, label: root}], table: gpt, size: 1024MiB}\n"
        "inputs: {overlay: {path: overlay}, root: {file: root.tar}}\n"
        "variables: {secret: {default: top-secret, sensitive: true}, motd: {default: hello}}\n"
        "version: '1'\n"
        "name: t\n"
        "baker: 1\n";

static bool same(const Plan *a, const Plan *b, size_t i) {
        return memcmp(a->steps[i].key, b->steps[i].key, DIGEST_SIZE) == 0;
}

static bool same_bake(const Plan *a, const Plan *b) {
        return memcmp(a->bake_key, b->bake_key, DIGEST_SIZE) == 0;
}

/* plan_set_result(): the step's key and every later one follow its result, earlier ones stay; the
 * same result gives the same keys (early cut-off), another result other keys. */
static void test_set_result(void) {
        put("t.yaml", base);
        _cleanup_free_ char *path = path_join(dir, "t.yaml");
        Template *t = NULL;
        TemplateOptions o = { .kinds = steps_template_kinds() };
        assert_se(template_parse(path, &o, &t) == 0);
        VarsSources src = { .no_environment = true };
        Vars *v = NULL;
        assert_se(vars_resolve(t, &src, &v) == 0);
        Plan *a = NULL, *b = NULL, *ref = NULL;
        assert_se(plan_build(t, v, NULL, &a) == 0 && plan_build(t, v, NULL, &b) == 0 && plan_build(t, v, NULL, &ref) == 0);
        uint8_t r1[DIGEST_SIZE], r2[DIGEST_SIZE];
        digest_buffer("one", 3, r1);
        digest_buffer("two", 3, r2);
        plan_set_result(a, 2, r1);
        plan_set_result(b, 2, r1);
        assert_se(same(a, ref, 0) && same(a, ref, 1));
        for (size_t i = 2; i < a->n_steps; i++)
                assert_se(!same(a, ref, i) && same(a, b, i));
        assert_se(memcmp(a->steps[2].base_key, ref->steps[2].key, DIGEST_SIZE) == 0);
        assert_se(!same_bake(a, ref) && same_bake(a, b));
        plan_set_result(b, 2, r2);
        for (size_t i = 2; i < b->n_steps; i++)
                assert_se(!same(a, b, i));
        assert_se(!same_bake(a, b) && same(a, b, 1));
        /* a result given to a later step is dropped when an earlier one moves: its base key moved */
        plan_set_result(b, 3, r1);
        plan_set_result(b, 2, r1);
        assert_se(!b->steps[3].has_result && same(a, b, 3) && same(a, b, 4) && same_bake(a, b));
        plan_free(a), plan_free(b), plan_free(ref);
        vars_free(v);
        template_free(t);
}

int main(void) {
        dir = test_scratch();
        put("root.tar", "pretend tarball");
        put("setup.sh", "#!/bin/sh\necho one\n");
        _cleanup_free_ char *overlay = path_join(dir, "overlay");
        assert_se(mkdir_p(overlay, 0755) == 0);
        put("overlay/a", "A");
        test_set_result();

        Plan *p0 = plan(base, NULL, 0);
        assert_se(p0->n_steps == 5);
        assert_se(streq(p0->steps[0].display, "unpack root"));
        assert_se(streq(p0->steps[2].display, "run setup.sh"));
        assert_se(streq(p0->steps[3].display, "copy overlay to /srv"));
        /* canonical: sorted keys, non-secret substituted, secret kept as a reference */
        assert_se(streq(p0->steps[1].definition,
                     "{\"content\":\"hello\",\"kind\":\"file\",\"mode\":\"0644\",\"owner\":\"0:0\",\"path\":\"/etc/motd\"}"));
        assert_se(strstr(p0->steps[2].definition, "\"B\":\"${var.secret}\""));
        assert_se(!strstr(p0->steps[2].definition, "top-secret"));
        assert_se(p0->steps[2].n_files == 1 && streq(p0->steps[2].files[0].name, "setup.sh"));
        for (size_t i = 1; i < p0->n_steps; i++)
                assert_se(memcmp(p0->steps[i].key, p0->steps[i - 1].key, DIGEST_SIZE) != 0);

        /* deterministic, and reordering/reformatting changes nothing */
        Plan *p1 = plan(base, NULL, 0), *p2 = plan(reordered, NULL, 0);
        for (size_t i = 0; i < 5; i++)
                assert_se(same(p0, p1, i) && same(p0, p2, i));
        assert_se(same_bake(p0, p1) && same_bake(p0, p2));
        plan_free(p1);
        plan_free(p2);

        /* a script's bytes: that step and every later one change, earlier ones do not */
        put("setup.sh", "#!/bin/sh\necho two\n");
        p1 = plan(base, NULL, 0);
        assert_se(same(p0, p1, 0) && same(p0, p1, 1));
        assert_se(!same(p0, p1, 2) && !same(p0, p1, 3) && !same(p0, p1, 4));
        assert_se(!same_bake(p0, p1));
        plan_free(p1);
        put("setup.sh", "#!/bin/sh\necho one\n");

        /* an input's bytes: from its step on */
        put("overlay/a", "B");
        p1 = plan(base, NULL, 0);
        assert_se(same(p0, p1, 0) && same(p0, p1, 1) && same(p0, p1, 2));
        assert_se(!same(p0, p1, 3) && !same(p0, p1, 4));
        plan_free(p1);
        put("overlay/a", "A");
        put("root.tar", "another tarball");
        p1 = plan(base, NULL, 0);
        for (size_t i = 0; i < 5; i++)
                assert_se(!same(p0, p1, i));
        plan_free(p1);
        put("root.tar", "pretend tarball");

        /* a non-secret variable changes its step on; a secret changes nothing */
        const char *motd[] = { "motd=bye" }, *secret[] = { "secret=other-secret" };
        p1 = plan(base, motd, 1);
        assert_se(same(p0, p1, 0) && !same(p0, p1, 1) && !same(p0, p1, 4));
        plan_free(p1);
        p1 = plan(base, secret, 1);
        for (size_t i = 0; i < 5; i++)
                assert_se(same(p0, p1, i));
        assert_se(same_bake(p0, p1));
        plan_free(p1);

        /* layout and outputs: the bake key only; test/publish: nothing */
        _cleanup_free_ char *bigger = xstrdup(base);
        memcpy(strstr(bigger, "1GiB"), "2GiB", 4);
        p1 = plan(bigger, NULL, 0);
        for (size_t i = 0; i < 5; i++)
                assert_se(same(p0, p1, i));
        assert_se(!same_bake(p0, p1));
        plan_free(p1);
        /* the version: the bake key only; plan_bake_key_for_version() gives another version's key */
        _cleanup_free_ char *versioned = xstrdup(base);
        memcpy(strstr(versioned, "version: \"1\""), "version: \"7\"", 12);
        p1 = plan(versioned, NULL, 0);
        for (size_t i = 0; i < 5; i++)
                assert_se(same(p0, p1, i));
        assert_se(!same_bake(p0, p1));
        uint8_t k[DIGEST_SIZE];
        plan_bake_key_for_version(p0, "7", k);
        assert_se(memcmp(k, p1->bake_key, DIGEST_SIZE) == 0);
        plan_bake_key_for_version(p1, "1", k);
        assert_se(memcmp(k, p0->bake_key, DIGEST_SIZE) == 0);
        plan_bake_key_for_version(p0, "1", k);
        assert_se(memcmp(k, p0->bake_key, DIGEST_SIZE) == 0);
        plan_bake_key_for_version(p0, NULL, k);
        assert_se(memcmp(k, p0->bake_key, DIGEST_SIZE) != 0 && memcmp(k, p1->bake_key, DIGEST_SIZE) != 0);
        plan_free(p1);
        _cleanup_free_ char *published = xasprintf("%spublish: [ { oci-layout: ./registry } ]\n"
                                                   "test: { boot: { expect: login } }\n", base);
        p1 = plan(published, NULL, 0);
        assert_se(same_bake(p0, p1));
        plan_free(p1);
        _cleanup_free_ char *named = xasprintf("%s", base);
        named = xrealloc(named, strlen(base) + 64);
        strcpy(strstr(named, "  - sysprep: default\n"), "  - sysprep: default\n    name: tidy up\n");
        p1 = plan(named, NULL, 0);
        assert_se(same(p0, p1, 4)); /* a display name is not part of the key */
        plan_free(p1);

        plan_free(p0);
        printf("ok\n");
        return 0;
}
