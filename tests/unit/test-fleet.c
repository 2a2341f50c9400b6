/* fleet_child_args(): every option of `baker bake` that applies to each target reaches the child
 * bakes (a nightly `baker bake --refresh -f bakefile.yaml` must refresh every target), and the
 * variables keep their precedence (the target's first, the command line's last). */
#include <stdio.h>

#include "fleet.h"
#include "strv.h"
#include "test-lib.h"

static bool has(char **a, const char *s) {
        return strv_contains((const char *const *) a, s);
}

static size_t index_of(char **a, const char *s) {
        for (size_t i = 0; a && a[i]; i++)
                if (streq(a[i], s))
                        return i;
        assert_se(!"not found");
        return 0;
}

int main(void) {
        char from0[] = "reg.example/cache", to0[] = "oci-layout:/c";
        char *from[] = { from0, NULL }, *to[] = { to0, NULL };
        const char *assign[] = { "a=cli" }, *files[] = { "cli.env" };
        BakeOptions o = { .json = true, .template = { .allow_unpinned = true }, .cache_dir = "/c", .rebuild = true,
                          .refresh = true, .skip_test = true, .no_publish = true, .cache_from = from, .cache_to = to,
                          .output_dir = "out",
                          .vars = { .assignments = assign, .n_assignments = 1, .files = files, .n_files = 1 } };
        char v0[] = "a=target", f0[] = "t.env", name[] = "web", path[] = "web.yaml";
        char *tvars[] = { v0, NULL }, *tfiles[] = { f0, NULL };
        BakeTarget t = { .name = name, .template_path = path, .vars = tvars, .var_files = tfiles };
        FleetOptions fo = { .bake = &o, .jobs = 2 };
        char **a = fleet_child_args(&fo, &t);
        static const char *const want[] = {
                "bake", "--json", "--allow-unpinned", "--cache=/c", "--rebuild", "--refresh", "--skip-test",
                "--no-publish", "--cache-from=reg.example/cache", "--cache-to=oci-layout:/c", "--output=out/web",
                "--", "web.yaml",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                if (!has(a, want[i]))
                        fprintf(stderr, "missing: %s\n", want[i]);
                assert_se(has(a, want[i]));
        }
        assert_se(index_of(a, "--var=a=target") < index_of(a, "--var=a=cli"));
        assert_se(index_of(a, "--var-file=t.env") < index_of(a, "--var-file=cli.env"));
        assert_se(streq(a[strv_length((const char *const *) a) - 1], "web.yaml"));
        strv_free(a);

        BakeOptions plain = {};
        FleetOptions fp = { .bake = &plain, .jobs = 1 };
        a = fleet_child_args(&fp, &t);
        assert_se(!has(a, "--refresh") && !has(a, "--rebuild") && has(a, "--output=output/web"));
        strv_free(a);
        printf("ok\n");
        return 0;
}
