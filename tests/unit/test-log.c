/* log: secrets are masked in every spelling baker prints them in. */
#include <stdio.h>

#include "log.h"
#include "test-lib.h"

static void check(const char *in, const char *want) {
        _cleanup_free_ char *got = log_mask(in);
        if (!streq(got, want)) {
                fprintf(stderr, "mask(%s) = %s, want %s\n", in, got, want);
                exit(1);
        }
}

int main(void) {
        check("nothing to hide", "nothing to hide");
        log_add_secret("hunter2");
        log_add_secret("ab"); /* too short to mask: it would eat ordinary text */
        check("password=hunter2 twice hunter2", "password=*** twice ***");
        check("abc", "abc");
        /* Shell-quoted, as the run-step wrapper writes env values. */
        log_add_secret("it's secret");
        check("X='it'\\''s secret' Y=it's secret", "X='***' Y=***");
        log_add_secret("hunter2"); /* registering twice is harmless */
        check("hunter2", "***");
        /* Double-quoted or JSON-escaped, and each line of a multi-line value (output is masked
         * line by line), the whole value before its lines. */
        log_add_secret("pa\"ss\\wd-1\n-----MIDDLE-----\nlast-line");
        check("x=\"pa\\\"ss\\\\wd-1\"", "x=\"***\""); /* x="pa\"ss\\wd-1" */
        check("{\"t\": \"pa\\\"ss\\\\wd-1\\n-----MIDDLE-----\\nlast-line\"}", "{\"t\": \"***\"}");
        check("pa\"ss\\wd-1\n-----MIDDLE-----\nlast-line", "***");
        check("pa\"ss\\wd-1", "***");
        check("  -----MIDDLE-----", "  ***");
        check("last-line.", "***.");
        log_clear_secrets();
        check("hunter2", "hunter2");
        check(NULL, "");
        printf("ok\n");
        return 0;
}
