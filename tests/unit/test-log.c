/* log: secrets are masked in every spelling baker prints them in; a capture keeps errors off stderr
 * and hands the last one (masked) to the caller that reports it once. */
#include <fcntl.h>
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

static void test_capture(void) {
        _cleanup_free_ char *errf = path_join(test_scratch(), "stderr");
        fflush(stderr);
        int saved = dup(STDERR_FILENO), fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_se(saved >= 0 && fd >= 0 && dup2(fd, STDERR_FILENO) >= 0);
        log_add_secret("s3cr3t-value");
        log_capture_begin();
        log_error("GET http://reg/v2/x: status 500 one");
        log_capture_begin(); /* nested: the outer end returns */
        log_warning("GET http://reg/v2/x: status 401 s3cr3t-value");
        assert_se(!log_capture_end());
        _cleanup_free_ char *last = log_capture_end();
        log_capture_begin();
        _cleanup_free_ char *none = log_capture_end();
        log_notice("after the capture");
        fflush(stderr);
        assert_se(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd);
        assert_se(streq_ptr(last, "GET http://reg/v2/x: status 401 ***") && !none);
        _cleanup_free_ char *printed = NULL;
        size_t size;
        assert_se(read_full_file(errf, &printed, &size) >= 0);
        assert_se(streq(printed, "after the capture\n"));
        log_clear_secrets();
}

int main(void) {
        test_capture();
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
