/* The cache: blobs verified on commit, entries committed atomically by concurrent writers, killed
 * writers leave nothing committed, gc evicts least recently used first and spares locked items. */
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cache.h"
#include "log.h"
#include "test-lib.h"

static char *root;

static void put_blob(Cache *c, const char *data, size_t size, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
        assert_se(cache_blob_writer_begin(c, NULL, &w) == 0);
        assert_se(cache_blob_writer_write(w, data, size) == 0);
        assert_se(cache_blob_writer_commit(w, NULL, ret, NULL) == 0);
}

static void set_atime(const char *path, time_t t) {
        struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
        assert_se(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void test_blobs(void) {
        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(root, &c) == 0);
        uint8_t d[DIGEST_SIZE], want[DIGEST_SIZE];
        digest_buffer("hello", 5, want);
        _cleanup_free_ char *p = NULL;
        assert_se(cache_blob_path(c, want, &p) == -ENOENT);

        /* Wrong expectation: -EBADMSG, actual digest available, nothing stored, no temp left. */
        uint8_t wrong[DIGEST_SIZE] = { 1 };
        {
                _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
                assert_se(cache_blob_writer_begin(c, NULL, &w) == 0);
                assert_se(cache_blob_writer_write(w, "hello", 5) == 0);
                assert_se(cache_blob_writer_commit(w, wrong, d, NULL) == -EBADMSG);
                assert_se(memcmp(cache_blob_writer_digest(w), want, DIGEST_SIZE) == 0);
        }
        assert_se(!cache_blob_exists(c, want));
        _cleanup_free_ char *tmp = path_join(root, "tmp");
        assert_se(test_count_entries(tmp, true) == 0);

        /* Right one, twice (the second writer of the same bytes succeeds and discards its copy). */
        for (int i = 0; i < 2; i++) {
                _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
                _cleanup_free_ char *path = NULL;
                assert_se(cache_blob_writer_begin(c, NULL, &w) == 0);
                assert_se(cache_blob_writer_write(w, "hel", 3) == 0);
                assert_se(cache_blob_writer_write(w, "lo", 2) == 0);
                assert_se(cache_blob_writer_commit(w, want, d, &path) == 0);
                assert_se(memcmp(d, want, DIGEST_SIZE) == 0);
                assert_se(endswith(path, "/blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        }
        assert_se(cache_blob_path(c, want, &p) == 0);
        char *data;
        assert_se(read_full_file(p, &data, NULL) == 0 && streq(data, "hello"));
        free(data);
        assert_se(test_count_entries(tmp, true) == 0);

        /* Resumable writer: kept across free, hashed from its start when resumed. */
        {
                _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
                assert_se(cache_blob_writer_begin(c, "abc123", &w) == 0);
                assert_se(cache_blob_writer_offset(w) == 0);
                assert_se(cache_blob_writer_write(w, "wor", 3) == 0);
        }
        {
                _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
                assert_se(cache_blob_writer_begin(c, "abc123", &w) == 0);
                assert_se(cache_blob_writer_offset(w) == 3);
                assert_se(cache_blob_writer_write(w, "ld", 2) == 0);
                digest_buffer("world", 5, want);
                assert_se(cache_blob_writer_commit(w, want, d, NULL) == 0);
        }
        _cleanup_free_ char *partial = path_join(root, "partial");
        assert_se(test_count_entries(partial, true) == 0);
        assert_se(cache_blob_exists(c, want));
        assert_se(cache_entry_lookup(c, "../etc", "00", &p) == -EINVAL);
        assert_se(cache_entry_lookup(c, "steps", "xyz", &p) == -EINVAL);
}

static void test_concurrent_entries(void) {
        const char *key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        enum { N = 4 };
        pid_t pids[N];
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                assert_se(pids[i] >= 0);
                if (pids[i] == 0) {
                        Cache *c;
                        if (cache_open(root, &c) < 0)
                                _exit(1);
                        char *tmp;
                        if (cache_entry_begin(c, "steps", key, &tmp) < 0)
                                _exit(2);
                        char *f = path_join(tmp, "state");
                        char content[64];
                        int len = snprintf(content, sizeof content, "writer %d\n", i);
                        if (write_file_atomic(f, content, (size_t) len, 0644) < 0)
                                _exit(3);
                        usleep(20000);
                        char *dir;
                        if (cache_entry_commit(c, "steps", key, tmp, &dir) < 0)
                                _exit(4);
                        char *g = path_join(dir, "state"), *data;
                        if (read_full_file(g, &data, NULL) < 0 || !startswith(data, "writer "))
                                _exit(5);
                        cache_free(c);
                        _exit(0);
                }
        }
        for (int i = 0; i < N; i++) {
                int st;
                assert_se(waitpid(pids[i], &st, 0) == pids[i]);
                assert_se(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(root, &c) == 0);
        _cleanup_free_ char *dir = NULL;
        assert_se(cache_entry_lookup(c, "steps", key, &dir) == 0);
        assert_se(test_count_entries(dir, true) == 1);
        _cleanup_free_ char *tmp = path_join(root, "tmp");
        assert_se(test_count_entries(tmp, true) == 0);
}

static void test_interrupted_writer(void) {
        const char *key = "dead";
        pid_t pid = fork();
        assert_se(pid >= 0);
        if (pid == 0) {
                Cache *c;
                char *tmp;
                if (cache_open(root, &c) < 0 || cache_entry_begin(c, "bakes", key, &tmp) < 0)
                        _exit(1);
                char *f = path_join(tmp, "image.raw");
                write_file_atomic(f, "half", 4, 0644);
                CacheWriter *w;
                if (cache_blob_writer_begin(c, NULL, &w) < 0)
                        _exit(1);
                cache_blob_writer_write(w, "half a blob", 11);
                kill(getpid(), SIGKILL); /* no cleanup runs, as with a real kill */
                _exit(1);
        }
        int st;
        assert_se(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st));

        _cleanup_free_ char *tmp = path_join(root, "tmp");
        assert_se(test_count_entries(tmp, true) == 2); /* the debris of the killed writer, nothing else */
        {
                _cleanup_(cache_freep) Cache *c = NULL;
                assert_se(cache_open(root, &c) == 0);
                _cleanup_free_ char *dir = NULL;
                assert_se(cache_entry_lookup(c, "bakes", key, &dir) == -ENOENT);
                assert_se(test_count_entries(tmp, true) == 2); /* too young to be called abandoned */
        }
        /* Ten minutes later the next open clears it. */
        DIR *d = opendir(tmp);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = path_join(tmp, de->d_name);
                struct timespec ts[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
                assert_se(utimensat(AT_FDCWD, p, ts, 0) == 0);
        }
        closedir(d);
        /* ... unless its writer still holds it: a live writer's old temp dir survives. */
        _cleanup_(cache_freep) Cache *live = NULL;
        assert_se(cache_open(root, &live) == 0);
        _cleanup_free_ char *live_tmp = NULL;
        assert_se(cache_entry_begin(live, "bakes", "beef", &live_tmp) == 0);
        struct timespec old[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
        assert_se(utimensat(AT_FDCWD, live_tmp, old, 0) == 0);
        {
                _cleanup_(cache_freep) Cache *c = NULL;
                assert_se(cache_open(root, &c) == 0);
                assert_se(test_count_entries(tmp, true) == 1);
                assert_se(access(live_tmp, F_OK) == 0);
        }
        cache_entry_abort(live, live_tmp);
        assert_se(test_count_entries(tmp, true) == 0);
}

static void test_gc(void) {
        _cleanup_free_ char *gcroot = path_join(root, "gc");
        uint8_t a[DIGEST_SIZE], b[DIGEST_SIZE], e[DIGEST_SIZE];
        static char big[3][40000];
        for (int i = 0; i < 3; i++)
                memset(big[i], 'a' + i, sizeof big[i]);
        {
                _cleanup_(cache_freep) Cache *c = NULL;
                assert_se(cache_open(gcroot, &c) == 0);
                put_blob(c, big[0], sizeof big[0], a);
                put_blob(c, big[1], sizeof big[1], b);
                put_blob(c, big[2], sizeof big[2], e);
                _cleanup_free_ char *tmp = NULL;
                assert_se(cache_entry_begin(c, "steps", "0a", &tmp) == 0);
                _cleanup_free_ char *f = path_join(tmp, "x");
                assert_se(write_file_atomic(f, big[0], sizeof big[0], 0644) == 0);
                assert_se(cache_entry_commit(c, "steps", "0a", tmp, NULL) == 0);
        }
        /* Last use: blob a oldest, then the entry, then b, then e. */
        time_t now = time(NULL);
        char hex[DIGEST_HEX_SIZE + 1];
        const uint8_t *order[] = { a, NULL, b, e };
        for (int i = 0; i < 4; i++) {
                _cleanup_free_ char *p = NULL;
                if (order[i]) {
                        digest_to_hex(order[i], hex);
                        p = xasprintf("%s/blobs/sha256/%s", gcroot, hex);
                } else
                        p = xasprintf("%s/steps/0a", gcroot);
                set_atime(p, now - 1000 + i * 100);
        }

        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(gcroot, &c) == 0);
        CacheItem *items;
        size_t n;
        assert_se(cache_list(c, &items, &n) == 0);
        assert_se(n == 4);
        assert_se(streq(items[0].ns, "blobs") && streq(items[1].ns, "steps") && streq(items[1].key, "0a"));
        uint64_t each = items[3].size;
        assert_se(each >= 40000);
        cache_items_free(items, n);

        /* Another process (here: another Cache, i.e. another open file description) uses blob a. */
        _cleanup_(cache_freep) Cache *user = NULL;
        assert_se(cache_open(gcroot, &user) == 0);
        _cleanup_free_ char *pa = NULL;
        assert_se(cache_blob_path(user, a, &pa) == 0);
        set_atime(pa, now - 1000); /* using it made it the newest; make it the oldest again */

        uint64_t freed, remaining;
        assert_se(cache_gc(c, 2 * each, &freed, &remaining) == 0);
        /* a is locked and stays; the entry and b (next oldest) go; e (newest) stays. */
        assert_se(cache_blob_exists(c, a));
        assert_se(!cache_blob_exists(c, b));
        assert_se(cache_blob_exists(c, e));
        _cleanup_free_ char *dir = NULL;
        assert_se(cache_entry_lookup(c, "steps", "0a", &dir) == -ENOENT);
        assert_se(remaining == 2 * each && freed >= 2 * each);

        cache_free(TAKE_PTR(user));
        assert_se(cache_gc(c, 0, &freed, &remaining) == 0);
        assert_se(!cache_blob_exists(c, a) && !cache_blob_exists(c, e) && remaining == 0);
}

/* A ref is the one thing replaced in place: the last set wins, gc leaves it, names are checked. */
static void test_refs(void) {
        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(root, &c) == 0);
        uint8_t a[DIGEST_SIZE], b[DIGEST_SIZE], got[DIGEST_SIZE];
        digest_buffer("a", 1, a);
        digest_buffer("b", 1, b);
        assert_se(cache_ref_get(c, "results", "0b", got) == -ENOENT);
        assert_se(cache_ref_set(c, "results", "0b", a) == 0);
        assert_se(cache_ref_get(c, "results", "0b", got) == 0 && memcmp(got, a, DIGEST_SIZE) == 0);
        assert_se(cache_ref_set(c, "results", "0b", b) == 0);
        assert_se(cache_ref_get(c, "results", "0b", got) == 0 && memcmp(got, b, DIGEST_SIZE) == 0);
        assert_se(cache_ref_get(c, "urls", "0b", got) == -ENOENT);
        assert_se(cache_ref_set(c, "../x", "0b", a) == -EINVAL);
        assert_se(cache_ref_get(c, "results", "zz", got) == -EINVAL);
        assert_se(cache_entry_lookup(c, "refs", "0b", &(char *) { NULL }) == -EINVAL);
        _cleanup_free_ char *p = xasprintf("%s/refs/results-0b", root);
        struct stat st;
        assert_se(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
        assert_se(cache_gc(c, 0, NULL, NULL) == 0);
        assert_se(cache_ref_get(c, "results", "0b", got) == 0 && memcmp(got, b, DIGEST_SIZE) == 0);
        assert_se(write_file_atomic(p, "garbage\n", 8, 0600) == 0);
        assert_se(cache_ref_get(c, "results", "0b", got) == -EBADMSG);
}

/* A file of the caller's moved in as a blob: the same digest as written through a writer, the
 * file gone, the bytes there; the same bytes again leave one blob; another file system: -EXDEV
 * and the file untouched. */
static void test_adopt(void) {
        _cleanup_(cache_freep) Cache *c = NULL;
        assert_se(cache_open(root, &c) == 0);
        static const char text[] = "a root filesystem tarball";
        uint8_t want[DIGEST_SIZE], d[DIGEST_SIZE];
        digest_buffer(text, sizeof text - 1, want);
        _cleanup_free_ char *src = test_path("adopt.tar");
        for (int round = 0; round < 2; round++) {
                assert_se(write_file_atomic(src, text, sizeof text - 1, 0644) == 0);
                _cleanup_free_ char *p = NULL, *data = NULL;
                assert_se(cache_blob_adopt(c, src, d, &p) == 0);
                assert_se(memcmp(d, want, DIGEST_SIZE) == 0);
                assert_se(access(src, F_OK) < 0 && errno == ENOENT);
                size_t size;
                assert_se(read_full_file(p, &data, &size) == 0 && size == sizeof text - 1);
                assert_se(memcmp(data, text, size) == 0);
                struct stat st;
                assert_se(stat(p, &st) == 0 && (st.st_mode & 0777) == 0400);
        }
        _cleanup_free_ char *tmp = path_join(root, "tmp");
        assert_se(test_count_entries(tmp, false) == 0);
        /* /dev/shm is another file system than the scratch directory on most machines. */
        struct stat a, b;
        if (stat("/dev/shm", &a) == 0 && stat(root, &b) == 0 && a.st_dev != b.st_dev && access("/dev/shm", W_OK) == 0) {
                _cleanup_free_ char *other = xasprintf("/dev/shm/baker-test-adopt-%d", (int) getpid());
                assert_se(write_file_atomic(other, "x", 1, 0644) == 0);
                _cleanup_free_ char *p = NULL;
                assert_se(cache_blob_adopt(c, other, d, &p) == -EXDEV);
                assert_se(access(other, F_OK) == 0);
                (void) unlink(other);
        }
}

int main(void) {
        if (getenv("TEST_DEBUG"))
                log_set_max_level(LOG_LEVEL_DEBUG);
        root = test_path("cache");
        test_blobs();
        test_concurrent_entries();
        test_interrupted_writer();
        test_gc();
        test_refs();
        test_adopt();
        printf("ok\n");
        return 0;
}
