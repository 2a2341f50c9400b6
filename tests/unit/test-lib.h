/* What the C tests (tests/unit, tests/security) share: assert_se(), which is evaluated even with
 * NDEBUG and names file:line and the expression; one scratch directory per test under $TMPDIR
 * (else /var/tmp), removed at exit unless an assertion failed (then its path is printed, to look
 * at); skipping with exit status 77; running a shell command and reading its output or a file.
 * Header only: include it last, after the headers of the module under test. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define assert_se(expr)                                                                \
        do {                                                                           \
                if (__builtin_expect(!(expr), 0))                                      \
                        test_assert_failed(__FILE__, __LINE__, __func__, #expr);       \
        } while (false)

/* The scratch directory, once test_scratch() made it (kept when an assertion fails), and the
 * process that made it: forked children that exit leave it alone. */
static char *test_scratch_path;
static pid_t test_scratch_owner;

static inline void test_scratch_remove(void) {
        if (test_scratch_path && getpid() == test_scratch_owner)
                (void) rm_rf(test_scratch_path);
}

_noreturn_ static inline void test_assert_failed(const char *file, int line, const char *func, const char *expr) {
        fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", file, line, func, expr);
        if (test_scratch_path)
                fprintf(stderr, "scratch directory kept: %s\n", test_scratch_path);
        fflush(NULL);
        abort(); /* no atexit handlers: the scratch directory stays */
}

/* Prints "skip: REASON" and exits with 77, which ctest reports as skipped. */
_noreturn_ _printf_(1, 2) static inline void test_skip(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("skip: ", stdout);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        exit(77);
}

/* The test's scratch directory, "$TMPDIR/test-NAME-XXXXXX", made on the first call and removed
 * (with everything in it) when the process that made it exits normally. */
static inline const char *test_scratch(void) {
        if (test_scratch_path)
                return test_scratch_path;
        char *path = tmp_template(program_invocation_short_name);
        assert_se(mkdtemp(path));
        test_scratch_path = path;
        test_scratch_owner = getpid();
        assert_se(atexit(test_scratch_remove) == 0);
        return path;
}

/* NAME inside the scratch directory (made by this call if needed); free the result. */
static inline char *test_path(const char *name) {
        return path_join(test_scratch(), name);
}

/* The whole content of a file that must exist, NUL-terminated; free it. */
static inline char *test_read_file(const char *path, size_t *ret_size) {
        char *data = NULL;
        int r = read_full_file(path, &data, ret_size);
        if (r < 0) {
                fprintf(stderr, "cannot read '%s': %s\n", path, strerror(-r));
                assert_se(r >= 0);
        }
        return data;
}

/* Runs a shell command (printf-style) and asserts it exits with status 0. */
_printf_(1, 2) static inline void test_sh(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *cmd = NULL;
        assert_se(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        int status = system(cmd);
        if (status != 0) {
                fprintf(stderr, "command failed (status %d): %s\n", status, cmd);
                assert_se(status == 0);
        }
}

#ifdef TESTS_DIR
/* tests/integration/make-test-rootfs.py: a root filesystem tarball with every kind of entry, and
 * the JSON manifest it describes it with (an independent record to check readers against). */
static inline void test_make_rootfs(const char *tarball, const char *manifest) {
        test_sh("python3 %s/integration/make-test-rootfs.py %s %s", TESTS_DIR, tarball, manifest);
}
#endif

/* Whether a shell command (printf-style) exits with status 0; its output goes to stderr. */
_printf_(1, 2) static inline bool test_sh_ok(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *cmd = NULL, *quiet = NULL;
        assert_se(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        quiet = xasprintf("{ %s; } >&2", cmd);
        return system(quiet) == 0;
}

/* Whether every program named (space-separated) is on $PATH. */
static inline bool test_have(const char *programs) {
        return test_sh_ok("command -v %s >/dev/null", programs);
}

/* The standard output of a shell command (NUL-terminated; its length in *ret_size), whatever its
 * exit status; free it. */
static inline char *test_output(const char *cmd, size_t *ret_size) {
        FILE *f = popen(cmd, "r");
        assert_se(f);
        size_t cap = 4096, len = 0, n;
        char *buf = xmalloc(cap);
        while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
                len += n;
                if (len + 1 >= cap)
                        buf = xrealloc(buf, cap *= 2);
        }
        buf[len] = 0;
        (void) pclose(f);
        if (ret_size)
                *ret_size = len;
        return buf;
}

/* Entries in a directory, not counting "." and ".."; with skip_hidden, none whose name starts
 * with a dot. */
static inline size_t test_count_entries(const char *dir, bool skip_hidden) {
        DIR *d = opendir(dir);
        assert_se(d);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (skip_hidden ? de->d_name[0] != '.' : !streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

/* Seconds on the monotonic clock. */
static inline double test_now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
