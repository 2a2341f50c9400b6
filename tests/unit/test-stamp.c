#include <stdio.h>

#include "stamp.h"
#include "util.h"
#include "test-lib.h"

static const struct {
        const char *old, *id, *version, *want;
} cases[] = {
        { NULL, "web", "1.4.0", "IMAGE_ID=\"web\"\nIMAGE_VERSION=\"1.4.0\"\n" },
        { "NAME=\"Debian GNU/Linux\"\nID=debian\n", "web", "1.4.0",
          "NAME=\"Debian GNU/Linux\"\nID=debian\nIMAGE_ID=\"web\"\nIMAGE_VERSION=\"1.4.0\"\n" },
        /* Existing fields are replaced in place, not duplicated; a missing final newline is fine. */
        { "ID=debian\nIMAGE_ID=old\nVERSION_ID=12\nIMAGE_VERSION=0.1", "web", "2", "ID=debian\nIMAGE_ID=\"web\"\nVERSION_ID=12\nIMAGE_VERSION=\"2\"\n" },
        /* Shell metacharacters are escaped. */
        { "", "a\"b$c", NULL, "IMAGE_ID=\"a\\\"b\\$c\"\n" },
};

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = stamp_os_release(cases[i].old, cases[i].id, cases[i].version);
                if (!streq(got, cases[i].want)) {
                        fprintf(stderr, "case %zu: got\n%s\nwant\n%s\n", i, got, cases[i].want);
                        return 1;
                }
        }
        json_t *inputs = json_pack("{s:s}", "base", "sha256:00");
        _cleanup_free_ char *s1 = stamp_json("web", "1", "k", inputs);
        _cleanup_free_ char *s2 = stamp_json("web", "1", "k", inputs);
        json_decref(inputs);
        assert_se(streq(s1, s2));
        assert_se(strstr(s1, "\"bake_key\": \"k\""));
        assert_se(strstr(s1, "\"base\": \"sha256:00\""));
        _cleanup_free_ char *s3 = stamp_json("web", NULL, "k", NULL);
        assert_se(!strstr(s3, "\"version\""));
        printf("ok\n");
        return 0;
}
