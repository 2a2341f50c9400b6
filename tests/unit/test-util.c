#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "util.h"

static void test_shell_quote(void) {
        static const struct {
                const char *in, *word;
        } cases[] = {
                { "", "''" },
                { "plain", "'plain'" },
                { "it's", "'it'\\''s'" },
                { "$HOME \"x\" `y`", "'$HOME \"x\" `y`'" },
                { "''", "''\\'''\\'''" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *w = shell_quote(cases[i].in);
                assert(streq(w, cases[i].word));
                _cleanup_free_ char *inner = shell_quote_inner(cases[i].in);
                assert(strlen(inner) + 2 == strlen(w) && strncmp(inner, w + 1, strlen(inner)) == 0);
        }
}

static void check_xdg(const char *xdg, const char *home, const char *cache, const char *config) {
        if (xdg) {
                setenv("XDG_CACHE_HOME", xdg, 1);
                setenv("XDG_CONFIG_HOME", xdg, 1);
        } else {
                unsetenv("XDG_CACHE_HOME");
                unsetenv("XDG_CONFIG_HOME");
        }
        if (home)
                setenv("HOME", home, 1);
        else
                unsetenv("HOME");
        _cleanup_free_ char *a = xdg_cache_path("baker"), *b = xdg_config_path("baker/auth.json");
        assert(streq(a, cache));
        assert(streq(b, config));
}

static void test_xdg(void) {
        check_xdg("/x", "/home/u", "/x/baker", "/x/baker/auth.json");
        check_xdg(NULL, "/home/u", "/home/u/.cache/baker", "/home/u/.config/baker/auth.json");
        /* Relative or empty: ignored (XDG Base Directory spec). */
        check_xdg("rel", "/home/u", "/home/u/.cache/baker", "/home/u/.config/baker/auth.json");
        check_xdg("", "/home/u", "/home/u/.cache/baker", "/home/u/.config/baker/auth.json");
        check_xdg(NULL, NULL, "/root/.cache/baker", "/root/.config/baker/auth.json");
}

static void test_pread_pwrite(void) {
        _cleanup_free_ char *path = tmp_template("test-util");
        _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
        assert(fd >= 0);
        (void) unlink(path);
        assert(pwrite_all(fd, "hello world", 11, 100) == 0);
        char buf[32];
        assert(pread_exact(fd, buf, 5, 106) == 0 && memcmp(buf, "world", 5) == 0);
        assert(pread_exact(fd, buf, 6, 106) == -ENODATA);
        assert(pread_full(fd, buf, sizeof buf, 106) == 5);
        assert(pread_full(fd, buf, 4, 0) == 4 && memcmp(buf, "\0\0\0\0", 4) == 0);
        assert(pread_full(fd, buf, 4, 1000) == 0);
        assert(pread_exact(-1, buf, 1, 0) == -EBADF && pwrite_all(-1, buf, 1, 0) == -EBADF);
}

static void test_copy_file(void) {
        _cleanup_free_ char *dir = tmp_template("test-util");
        assert(mkdtemp(dir));
        _cleanup_free_ char *a = path_join(dir, "a"), *b = path_join(dir, "b");
        size_t size = 200 * 1024 + 7; /* more than one buffer */
        _cleanup_free_ char *data = xmalloc(size);
        for (size_t i = 0; i < size; i++)
                data[i] = (char) (i * 7);
        assert(write_file_atomic(a, data, size, 0644) == 0);
        assert(copy_file(a, b, O_EXCL, 0600) == 0);
        _cleanup_free_ char *back = NULL;
        size_t n;
        assert(read_full_file(b, &back, &n) == 0 && n == size && memcmp(back, data, size) == 0);
        struct stat st;
        assert(stat(b, &st) == 0 && (st.st_mode & 0777) == 0600);
        assert(copy_file(a, b, O_EXCL, 0600) == -EEXIST);
        assert(copy_file(a, b, O_TRUNC, 0600) == 0);
        _cleanup_free_ char *missing = path_join(dir, "missing");
        assert(copy_file(missing, b, O_TRUNC, 0600) == -ENOENT);
        assert(rm_rf(dir) >= 0);
}

int main(void) {
        assert(unhexchar('0') == 0 && unhexchar('9') == 9 && unhexchar('a') == 10 && unhexchar('F') == 15);
        assert(unhexchar('g') == -EINVAL && unhexchar(0) == -EINVAL);
        test_copy_file();
        test_shell_quote();
        test_xdg();
        test_pread_pwrite();
        return 0;
}
