/* The digest memo: a file untouched since it was hashed is not read again; any change to it
 * (content, size, a same-size rewrite with its old mtime put back, a rename over it) is read
 * again; a file changed in the current clock tick is not remembered. */
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

#include "digest-memo.h"
#include "log.h"
#include "test-lib.h"

static char *cache_root;

static void write_text(const char *path, const char *text) {
        assert_se(write_file_atomic(path, text, strlen(text), 0644) == 0);
}

static size_t memo_count(void) {
        _cleanup_free_ char *pattern = xasprintf("%s/refs/filedigest-*", cache_root);
        glob_t g;
        size_t n = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
        globfree(&g);
        return n;
}

/* Makes the file's ctime a tick old, as any file is a moment after it was written. */
static void let_settle(void) {
        (void) usleep(30 * 1000);
}

static void test_remembered_and_trusted(Cache *c, const char *path) {
        uint8_t d[DIGEST_SIZE], want[DIGEST_SIZE];
        uint64_t size = 0;
        write_text(path, "first version\n");
        digest_buffer("first version\n", 14, want);
        let_settle();
        assert_se(digest_memo_file(c, path, d, &size) == 0);
        assert_se(size == 14 && memcmp(d, want, DIGEST_SIZE) == 0);
        assert_se(memo_count() == 1);

        /* Proof that the second answer comes from the memo, not from reading: a memo that says
         * something else is believed while the stamps match. */
        _cleanup_free_ char *pattern = xasprintf("%s/refs/filedigest-*", cache_root);
        glob_t g;
        assert_se(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1);
        uint8_t other[DIGEST_SIZE];
        digest_buffer("x", 1, other);
        char s[DIGEST_STRING_MAX];
        digest_to_string(other, s);
        _cleanup_free_ char *line = xasprintf("%s\n", s);
        assert_se(write_file_atomic(g.gl_pathv[0], line, strlen(line), 0600) == 0);
        assert_se(digest_memo_file(c, path, d, &size) == 0 && memcmp(d, other, DIGEST_SIZE) == 0);
        globfree(&g);
}

static void test_changes_are_seen(Cache *c, const char *path) {
        uint8_t d[DIGEST_SIZE], want[DIGEST_SIZE];
        uint64_t size = 0;
        struct stat st;
        assert_se(stat(path, &st) == 0);

        /* Same size, old mtime put back: ctime still moves. */
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_se(fd >= 0 && pwrite(fd, "FIRST", 5, 0) == 5);
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        assert_se(futimens(fd, times) == 0);
        digest_buffer("FIRST version\n", 14, want);
        assert_se(digest_memo_file(c, path, d, &size) == 0 && memcmp(d, want, DIGEST_SIZE) == 0);

        /* A new file renamed over it (a new inode). */
        write_text(path, "second version\n");
        digest_buffer("second version\n", 15, want);
        assert_se(digest_memo_file(c, path, d, &size) == 0 && size == 15 && memcmp(d, want, DIGEST_SIZE) == 0);
}

static void test_fresh_files(Cache *c, const char *path) {
        /* Written this very tick: read, but not remembered (a write later in the tick would keep
         * the same ctime). Several tries, as the tick may turn between the write and the read. */
        size_t before = memo_count(), remembered = 0;
        for (int i = 0; i < 20; i++) {
                _cleanup_free_ char *text = xasprintf("fresh %d\n", i);
                write_text(path, text);
                uint8_t d[DIGEST_SIZE];
                assert_se(digest_memo_file(c, path, d, NULL) == 0);
                remembered += memo_count() - before;
                before = memo_count();
        }
        assert_se(remembered < 20);

        /* What baker has just written and hashed itself is remembered after a tick's wait. */
        write_text(path, "output\n");
        uint8_t d[DIGEST_SIZE], want[DIGEST_SIZE];
        digest_buffer("output\n", 7, want);
        before = memo_count();
        digest_memo_remember(c, path, want);
        assert_se(memo_count() == before + 1);
        assert_se(digest_memo_file(c, path, d, NULL) == 0 && memcmp(d, want, DIGEST_SIZE) == 0);

        /* No cache: always read. */
        assert_se(digest_memo_file(NULL, path, d, NULL) == 0 && memcmp(d, want, DIGEST_SIZE) == 0);
        assert_se(digest_memo_file(c, "/nonexistent/file", d, NULL) == -ENOENT);
}

/* The path of the only memo ref in the cache (there must be exactly one). */
static char *only_memo(void) {
        _cleanup_free_ char *refs = path_join(cache_root, "refs");
        DIR *d = opendir(refs);
        assert_se(d);
        char *found = NULL;
        for (struct dirent *de; (de = readdir(d));)
                if (startswith(de->d_name, "filedigest-")) {
                        assert_se(!found);
                        found = path_join(refs, de->d_name);
                }
        closedir(d);
        assert_se(found);
        return found;
}

static void set_mtime_days_ago(const char *path, int days) {
        struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = time(NULL) - (time_t) days * 24 * 3600 } };
        assert_se(utimensat(AT_FDCWD, path, t, 0) == 0);
}

/* cache gc drops memos unused for DIGEST_MEMO_MAX_AGE_DAYS; using one keeps it. */
static void test_expire(void) {
        _cleanup_free_ char *root = test_path("expire-cache"), *path = test_path("kept.raw");
        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(root, &c) == 0);
        char *saved = cache_root;
        cache_root = root;
        write_text(path, "kept\n");
        uint8_t d[DIGEST_SIZE];
        digest_buffer("kept\n", 5, d);
        digest_memo_remember(c, path, d);
        _cleanup_free_ char *memo = only_memo();
        assert_se(digest_memo_expire(c) == 0); /* fresh */
        set_mtime_days_ago(memo, DIGEST_MEMO_MAX_AGE_DAYS - 1);
        assert_se(digest_memo_expire(c) == 0);
        set_mtime_days_ago(memo, DIGEST_MEMO_MAX_AGE_DAYS + 1);
        assert_se(digest_memo_file(c, path, d, NULL) == 0); /* a hit: used now */
        assert_se(digest_memo_expire(c) == 0 && access(memo, F_OK) == 0);
        set_mtime_days_ago(memo, DIGEST_MEMO_MAX_AGE_DAYS + 1);
        assert_se(digest_memo_expire(c) == 1 && access(memo, F_OK) < 0);
        cache_root = saved;
}

int main(void) {
        if (getenv("TEST_DEBUG"))
                log_set_max_level(LOG_LEVEL_DEBUG);
        cache_root = test_path("cache");
        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(cache_root, &c) == 0);
        _cleanup_free_ char *path = test_path("output.raw");
        test_remembered_and_trusted(c, path);
        test_changes_are_seen(c, path);
        test_fresh_files(c, path);
        test_expire();
        printf("ok\n");
        return 0;
}
