/* The build file: targets, matrix expansion (names, variables, outputs), paths relative to the
 * file, --target selection, and file:line:col errors for bad input. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "bakefile.h"
#include "log.h"
#include "strv.h"

static char dir[] = "/tmp/baker-test-bakefile.XXXXXX";

static int load(const char *text, BakeTargets **ret) {
        _cleanup_free_ char *p = path_join(dir, "bakefile.yaml");
        assert(write_file_atomic(p, text, strlen(text), 0644) >= 0);
        return bakefile_load(p, ret);
}

static const BakeTarget *find(const BakeTargets *t, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->targets[i].name, name))
                        return t->targets + i;
        return NULL;
}

static void test_matrix(void) {
        _cleanup_(bake_targets_freep) BakeTargets *t = NULL;
        assert(load("jobs: 3\n"
                    "targets:\n"
                    "  - template: tpl/web.yaml\n"
                    "    vars: { region: eu }\n"
                    "    var-files: common.env\n"
                    "    output: out/web\n"
                    "    matrix:\n"
                    "      arch: [x86_64, arm64]\n"
                    "      size: ['1G', 'big disk']\n"
                    "  - template: /abs/db.yml\n"
                    "    name: database\n",
                    &t) >= 0);
        assert(t->jobs == 3 && t->n == 5);
        /* The first axis varies fastest; values in names are sanitised. */
        assert(streq(t->targets[0].name, "web-x86_64-1G"));
        assert(streq(t->targets[1].name, "web-arm64-1G"));
        assert(streq(t->targets[2].name, "web-x86_64-big_disk"));
        const BakeTarget *w = find(t, "web-arm64-big_disk");
        assert(w);
        _cleanup_free_ char *tp = xasprintf("%s/tpl/web.yaml", dir), *vf = xasprintf("%s/common.env", dir),
                            *out = xasprintf("%s/out/web-arm64-big_disk", dir);
        assert(streq(w->template_path, tp));
        assert(streq(w->output_dir, out));
        assert(strv_length((const char *const *) w->var_files) == 1 && streq(w->var_files[0], vf));
        assert(strv_length((const char *const *) w->vars) == 3);
        assert(streq(w->vars[0], "region=eu") && streq(w->vars[1], "arch=arm64") && streq(w->vars[2], "size=big disk"));
        const BakeTarget *d = find(t, "database");
        assert(d && streq(d->template_path, "/abs/db.yml") && !d->output_dir && !d->vars);

        char *names[] = { (char *) "database", (char *) "web-x86_64-1G", NULL };
        assert(bake_targets_select(t, names) >= 0);
        assert(t->n == 2 && streq(t->targets[0].name, "web-x86_64-1G") && streq(t->targets[1].name, "database"));
        char *missing[] = { (char *) "nope", NULL };
        assert(bake_targets_select(t, missing) == -ENOENT);
}

static void test_errors(void) {
        static const char *const bad[] = {
                "targets: []\n",
                "jobs: 0\ntargets:\n  - template: a.yaml\n",
                "targets:\n  - name: x\n",
                "targets:\n  - template: a.yaml\n    colour: red\n",
                "targets:\n  - template: a.yaml\n  - template: b/a.yaml\n", /* both named "a" */
                "targets:\n  - template: a.yaml\n    name: ../escape\n",
                "targets:\n  - template: a.yaml\n    matrix: { arch: [] }\n",
                "targets:\n  - template: a.yaml\n    vars: [x]\n",
                "targets: [\n",
                "jobs: 2\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                BakeTargets *t = NULL;
                assert(load(bad[i], &t) == -EINVAL);
                assert(!t);
        }
}

static void test_from_templates(void) {
        _cleanup_(bake_targets_freep) BakeTargets *t = NULL;
        char *paths[] = { (char *) "a/web.yaml", (char *) "b/web.yaml", (char *) "db", NULL };
        assert(bake_targets_from_templates(paths, 3, &t) >= 0);
        assert(t->n == 3 && streq(t->targets[0].name, "web") && streq(t->targets[1].name, "web-2") &&
               streq(t->targets[2].name, "db"));
        assert(streq(t->targets[1].template_path, "b/web.yaml"));
}

int main(void) {
        assert(mkdtemp(dir));
        log_set_max_level(LOG_LEVEL_DEBUG);
        test_matrix();
        test_errors();
        test_from_templates();
        rm_rf(dir);
        return 0;
}
