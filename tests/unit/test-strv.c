#include <assert.h>

#include "strv.h"

int main(void) {
        _cleanup_strv_free_ char **l = NULL;
        assert(strv_length((const char *const *) l) == 0);
        assert(!strv_contains((const char *const *) l, "a"));

        /* With a count kept beside the list, and without: both keep the NULL after the last. */
        size_t n = 0;
        strv_push(&l, &n, xstrdup("a"));
        strv_push(&l, &n, xstrdup("b"));
        assert(n == 2 && l[2] == NULL);
        strv_push(&l, NULL, xstrdup("c"));
        assert(strv_length((const char *const *) l) == 3 && l[3] == NULL);
        assert(streq(l[0], "a") && streq(l[1], "b") && streq(l[2], "c"));
        assert(strv_contains((const char *const *) l, "b"));
        assert(!strv_contains((const char *const *) l, "d"));

        /* Sorting all (up to the NULL) or the first n. */
        _cleanup_strv_free_ char **s = NULL;
        strv_push(&s, NULL, xstrdup("b"));
        strv_push(&s, NULL, xstrdup("c"));
        strv_push(&s, NULL, xstrdup("a"));
        strv_sort(s, 2);
        assert(streq(s[0], "b") && streq(s[1], "c") && streq(s[2], "a"));
        strv_sort(s, SIZE_MAX);
        assert(streq(s[0], "a") && streq(s[1], "b") && streq(s[2], "c") && !s[3]);
        strv_sort(NULL, SIZE_MAX);

        assert(strv_free(NULL) == NULL);
        char **m = NULL;
        strv_push(&m, NULL, xstrdup("x"));
        assert(strv_free(m) == NULL);
        return 0;
}
