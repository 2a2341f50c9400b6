/* baker's configuration file (template/config.c): `cache: {from, to}` as one reference or a list,
 * the first file that gives a setting wins (an empty list too), a missing file is nothing, and
 * every error is FILE:LINE:COL with nothing of that file used. */
#include <fcntl.h>
#include <stdio.h>

#include "config.h"
#include "strv.h"
#include "test-lib.h"

static const char *dir;

static char *write_config(const char *name, const char *text) {
        char *p = path_join(dir, name);
        assert_se(write_file_atomic(p, text, strlen(text), 0644) >= 0);
        return p;
}

/* Loads path into c with stderr in a file; returns the load's result and what it printed. */
static int load_capturing(const char *path, BakerConfig *c, char **ret_err) {
        _cleanup_free_ char *errf = path_join(dir, "stderr");
        fflush(stderr);
        int saved = dup(STDERR_FILENO), fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_se(saved >= 0 && fd >= 0 && dup2(fd, STDERR_FILENO) >= 0);
        int r = baker_config_load_file(path, c);
        fflush(stderr);
        assert_se(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd);
        size_t size;
        assert_se(read_full_file(errf, ret_err, &size) >= 0);
        return r;
}

static void test_values_and_order(void) {
        _cleanup_free_ char *project = write_config("project.yaml", "cache:\n  from: reg.example/p/cache\n  to: []\n");
        _cleanup_free_ char *user = write_config("user.yaml", "cache:\n  from: [a.example/c, 'oci-layout:/x']\n"
                                                              "  to: [a.example/c]\n");
        BakerConfig c = {};
        assert_se(baker_config_load_file(project, &c) == 0);
        assert_se(baker_config_load_file(user, &c) == 0);
        /* the project's file came first: its one reference, and its empty list, win */
        assert_se(strv_length((const char *const *) c.cache_from) == 1 && streq(c.cache_from[0], "reg.example/p/cache"));
        assert_se(c.has_cache_to && !c.cache_to);
        baker_config_done(&c);

        assert_se(baker_config_load_file(user, &c) == 0);
        assert_se(strv_length((const char *const *) c.cache_from) == 2 && streq(c.cache_from[1], "oci-layout:/x"));
        assert_se(strv_length((const char *const *) c.cache_to) == 1 && streq(c.cache_to[0], "a.example/c"));
        baker_config_done(&c);

        _cleanup_free_ char *missing = path_join(dir, "nothing.yaml");
        assert_se(baker_config_load_file(missing, &c) == 0 && !c.has_cache_from && !c.has_cache_to);
        _cleanup_free_ char *empty = write_config("empty.yaml", "");
        assert_se(baker_config_load_file(empty, &c) == 0 && !c.has_cache_from && !c.has_cache_to);
}

static void test_errors(void) {
        static const struct {
                const char *text, *error;
        } cases[] = {
                { "cache:\n  from: a.example/c\n  too: b.example/c\n", ":3:3: error: unknown key 'too' in 'cache'" },
                { "cach:\n  from: a\n", ":1:1: error: unknown key 'cach' (known: cache)" },
                { "cache: a.example/c\n", ":1:8: error: 'cache' must be a mapping" },
                { "cache:\n  to: { x: y }\n", ":2:7: error: 'cache.to' must be a reference or a list" },
                { "cache:\n  from: [a, [b]]\n", ":2:13: error: 'cache.from': expected a reference" },
                { "- a\n", ":1:1: error: a configuration file is a mapping" },
                { "cache: [\n", ": error" /* libyaml's own message, at its position */ },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = write_config("bad.yaml", cases[i].text), *err = NULL;
                BakerConfig c = {};
                assert_se(load_capturing(p, &c, &err) == -EINVAL);
                if (!strstr(err, cases[i].error) || !startswith(err, p)) {
                        fprintf(stderr, "case %zu: got '%s'\n", i, err);
                        assert_se(false);
                }
                /* nothing of a file with an error is used */
                assert_se(!c.has_cache_from && !c.has_cache_to && !c.cache_from && !c.cache_to);
        }
}

int main(void) {
        dir = test_scratch();
        test_values_and_order();
        test_errors();
        printf("ok\n");
        return 0;
}
