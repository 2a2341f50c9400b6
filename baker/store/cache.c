/* The content-addressed cache; layout and locking rules in cache.h. */
#include "cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/statvfs.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "log.h"

typedef struct HeldLock {
        int fd;
        char *path;
} HeldLock;

struct Cache {
        char *dir;
        HeldLock *held;
        size_t n_held;
};

struct CacheWriter {
        Cache *cache;
        int fd;
        char *path; /* NULL once committed or removed */
        bool partial;
        Digest *digest;
        uint64_t offset;
        bool have_actual;
        uint8_t actual[DIGEST_SIZE];
        bool discard;          /* remove even a resumable partial file */
        uint64_t next_space_check;
};

static bool is_hex(const char *s, size_t min, size_t max) {
        size_t n = strlen(s);
        if (n < min || n > max)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static bool ns_valid(const char *ns) {
        if (!ns || !*ns || strlen(ns) > 64 || streq(ns, "blobs") || streq(ns, "partial") || streq(ns, "tmp") ||
            streq(ns, "refs"))
                return false;
        for (const char *p = ns; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

static char *default_dir(void) {
        const char *e = getenv("BAKER_CACHE");
        if (e && *e)
                return xstrdup(e);
        return xdg_cache_path("baker");
}

const char *cache_dir(const Cache *c) {
        return c->dir;
}

/* Marks an item as used now: its atime is the LRU clock. Best effort (a shared cache may hold
 * another user's files). */
static void touch_fd(int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return;
        /* A directory's atime moves whenever someone lists it (relatime), cache ls included, so
         * an entry's last use is its mtime instead: committed entries never change otherwise. */
        struct timespec ts[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_OMIT } };
        if (S_ISDIR(st.st_mode))
                ts[0].tv_nsec = UTIME_OMIT, ts[1].tv_nsec = UTIME_NOW;
        (void) futimens(fd, ts);
}

/* Opens and flocks path, then checks that the name still refers to what was locked (gc may have
 * removed it between open and flock). */
static int open_locked(const char *path, int how, int *ret_fd) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (flock(fd, how) < 0)
                return -errno;
        struct stat a, b;
        if (fstat(fd, &a) < 0)
                return -errno;
        if (stat(path, &b) < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                return -ENOENT;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void hold(Cache *c, int fd, const char *path) {
        c->held = xrealloc(c->held, (c->n_held + 1) * sizeof(HeldLock));
        c->held[c->n_held++] = (HeldLock) { .fd = fd, .path = xstrdup(path) };
}

static void release(Cache *c, const char *path) {
        for (size_t i = 0; i < c->n_held; i++)
                if (streq(c->held[i].path, path)) {
                        close(c->held[i].fd);
                        free(c->held[i].path);
                        c->held[i] = c->held[--c->n_held];
                        return;
                }
}

static bool holds(const Cache *c, const char *path) {
        for (size_t i = 0; i < c->n_held; i++)
                if (streq(c->held[i].path, path))
                        return true;
        return false;
}

/* Removes path (file or tree) if nobody holds a lock on it. */
static int remove_unlocked(Cache *c, const char *path, bool rename_first) {
        _cleanup_close_ int fd = -1;
        int r = open_locked(path, LOCK_EX | LOCK_NB, &fd);
        if (r < 0)
                return r; /* -EWOULDBLOCK: in use */
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode) && rename_first) {
                /* Out of sight first, so nobody finds a half-deleted entry. */
                static unsigned counter;
                _cleanup_free_ char *trash = xasprintf("%s/tmp/gc-%d-%u", c->dir, (int) getpid(), counter++);
                if (rename(path, trash) < 0)
                        return -errno;
                return rm_rf(trash);
        }
        return rm_rf(path);
}

static void clean_tmp(Cache *c, time_t max_age) {
        _cleanup_free_ char *tmp = path_join(c->dir, "tmp");
        DIR *d = opendir(tmp);
        if (!d)
                return;
        time_t now = time(NULL);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *p = path_join(tmp, de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0 || now - st.st_mtime < max_age || holds(c, p))
                        continue;
                int r = remove_unlocked(c, p, false);
                if (r >= 0)
                        log_debug("cache: removed abandoned '%s'", p);
        }
        closedir(d);
}

int cache_open(const char *dir, Cache **ret) {
        _cleanup_free_ char *root = dir ? xstrdup(dir) : default_dir();
        static const char *const subdirs[] = { "blobs/sha256", "tmp", "partial" };
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = path_join(root, subdirs[i]);
                int r = mkdir_p(p, 0700);
                if (r < 0)
                        return log_error_errno(r, "failed to create cache directory '%s': %m", p);
        }
        /* Private to its owner (README, "Security model"): a cache made 0755 by an older baker is
         * closed at its root, which keeps every file below it from other users. */
        if (chmod(root, 0700) < 0 && errno != EPERM)
                log_debug("cache: failed to make '%s' private: %m", root);
        Cache *c = xcalloc(1, sizeof(Cache));
        c->dir = TAKE_PTR(root);
        clean_tmp(c, CACHE_TMP_MAX_AGE_SEC);
        *ret = c;
        return 0;
}

Cache *cache_free(Cache *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_held; i++) {
                close(c->held[i].fd);
                free(c->held[i].path);
        }
        free(c->held);
        free(c->dir);
        free(c);
        return NULL;
}

static char *blob_path(const Cache *c, const uint8_t digest[DIGEST_SIZE]) {
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(digest, hex);
        return xasprintf("%s/blobs/sha256/%s", c->dir, hex);
}

/* Locks path shared for the Cache's lifetime and marks it used. */
static int use_item(Cache *c, const char *path) {
        if (holds(c, path))
                return 0;
        int fd;
        int r = open_locked(path, LOCK_SH, &fd);
        if (r < 0)
                return r;
        touch_fd(fd);
        hold(c, fd, path);
        return 0;
}

int cache_blob_path(Cache *c, const uint8_t digest[DIGEST_SIZE], char **ret_path) {
        _cleanup_free_ char *p = blob_path(c, digest);
        int r = use_item(c, p);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(p);
        return 0;
}

bool cache_blob_exists(Cache *c, const uint8_t digest[DIGEST_SIZE]) {
        _cleanup_free_ char *p = blob_path(c, digest);
        return access(p, F_OK) == 0;
}

CacheWriter *cache_blob_writer_free(CacheWriter *w) {
        if (!w)
                return NULL;
        /* A partial file is kept for the next attempt, unless there is nothing in it. */
        if (w->path && (!w->partial || w->offset == 0 || w->discard))
                (void) unlink(w->path);
        if (w->fd >= 0)
                close(w->fd);
        free(w->path);
        digest_free(w->digest);
        free(w);
        return NULL;
}

int cache_blob_writer_begin(Cache *c, const char *resume_key, CacheWriter **ret) {
        _cleanup_(cache_blob_writer_freep) CacheWriter *w = xcalloc(1, sizeof(CacheWriter));
        w->cache = c;
        w->fd = -1;
        w->digest = digest_new();
        if (!resume_key) {
                w->path = xasprintf("%s/tmp/blob-XXXXXX", c->dir);
                w->fd = mkostemp(w->path, O_CLOEXEC);
                if (w->fd < 0) {
                        int r = -errno;
                        free(TAKE_PTR(w->path));
                        return log_error_errno(r, "failed to create a temporary file in '%s/tmp': %m", c->dir);
                }
                if (flock(w->fd, LOCK_EX) < 0)
                        return log_error_errno(-errno, "failed to lock '%s': %m", w->path);
                *ret = TAKE_PTR(w);
                return 0;
        }
        if (!is_hex(resume_key, 1, 128))
                return -EINVAL;
        w->partial = true;
        w->path = xasprintf("%s/partial/%s", c->dir, resume_key);
        for (;;) {
                /* Another process downloading the same thing holds the lock: wait for it. */
                int fd = open(w->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        return log_error_errno(-errno, "failed to open '%s': %m", w->path);
                if (flock(fd, LOCK_EX) < 0) {
                        int r = -errno;
                        close(fd);
                        return log_error_errno(r, "failed to lock '%s': %m", w->path);
                }
                struct stat a, b;
                if (fstat(fd, &a) == 0 && stat(w->path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
                        w->fd = fd;
                        break;
                }
                close(fd); /* committed or collected while we waited: open afresh */
        }
        /* Hash what an earlier attempt left, so the digest covers the whole blob. */
        static char buf[1 << 16];
        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "failed to read '%s': %m", w->path);
                }
                if (n == 0)
                        break;
                digest_update(w->digest, buf, (size_t) n);
                w->offset += (uint64_t) n;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

/* What a download leaves free on the cache's filesystem: a tenth of it, at most 1 GiB. A server
 * that never stops sending must not fill the disk the rest of the machine needs. */
static int check_space(CacheWriter *w, size_t size) {
        if (w->offset + size < w->next_space_check)
                return 0;
        struct statvfs sv;
        if (fstatvfs(w->fd, &sv) < 0)
                return 0; /* no figures: the write itself will tell */
        uint64_t total = (uint64_t) sv.f_blocks * sv.f_frsize, avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        uint64_t reserve = MIN(total / 10, (uint64_t) 1 << 30);
        if (avail >= reserve + size) {
                /* look again when half the headroom is used (others write to the disk too) */
                uint64_t step = (avail - reserve - size) / 2;
                w->next_space_check = w->offset + size + MAX(MIN(step, (uint64_t) 64 << 20), (uint64_t) 64 << 10);
                return 0;
        }
        w->discard = true;
        return log_error_errno(-ENOSPC, "stopped writing '%s' after %" PRIu64 " bytes: the cache's filesystem has %" PRIu64
                               " MiB free, and %" PRIu64 " MiB are kept in reserve", w->path, w->offset, avail >> 20,
                               reserve >> 20);
}

int cache_blob_writer_write(CacheWriter *w, const void *data, size_t size) {
        int r = check_space(w, size);
        if (r < 0)
                return r;
        r = write_all(w->fd, data, size);
        if (r == -ENOSPC || r == -EDQUOT) {
                w->discard = true; /* a partial file that fills the disk is no help to the next bake */
                return log_error_errno(r, "failed to write '%s' after %" PRIu64 " bytes: the disk is full", w->path,
                                       w->offset);
        }
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", w->path);
        digest_update(w->digest, data, size);
        w->offset += size;
        return 0;
}

void cache_blob_writer_discard(CacheWriter *w) {
        w->discard = true;
}

uint64_t cache_blob_writer_offset(const CacheWriter *w) {
        return w->offset;
}

const char *cache_blob_writer_path(const CacheWriter *w) {
        return w->path;
}

const uint8_t *cache_blob_writer_digest(const CacheWriter *w) {
        return w->have_actual ? w->actual : NULL;
}

int cache_blob_writer_truncate(CacheWriter *w) {
        if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
                return log_error_errno(-errno, "failed to truncate '%s': %m", w->path);
        digest_free(w->digest);
        w->digest = digest_new();
        w->offset = 0;
        return 0;
}

/* Renames tmp (synced, read-only) to the blob of its digest; when that blob exists already (the
 * same bytes stored first by someone else), tmp is removed. */
static int store_blob(Cache *c, const char *tmp, const uint8_t digest[DIGEST_SIZE]) {
        _cleanup_free_ char *final = blob_path(c, digest);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
                int e = errno;
                if (e == EINVAL) /* file system without RENAME_NOREPLACE: link() refuses to replace too */
                        e = link(tmp, final) < 0 ? errno : 0;
                if (e != 0 && e != EEXIST)
                        return log_error_errno(-e, "failed to store '%s': %m", final);
                (void) unlink(tmp);
        }
        return 0;
}

int cache_blob_adopt(Cache *c, const char *path, uint8_t ret_digest[DIGEST_SIZE], char **ret_path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", path);
        struct stat st, tst;
        _cleanup_free_ char *tmpdir = path_join(c->dir, "tmp");
        if (fstat(fd, &st) < 0 || stat(tmpdir, &tst) < 0)
                return log_error_errno(-errno, "failed to stat '%s' or '%s': %m", path, tmpdir);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "'%s' is not a regular file", path);
        if (st.st_dev != tst.st_dev)
                return -EXDEV;
        /* Locked like a writer's temporary file, so a concurrent gc leaves it alone. */
        if (flock(fd, LOCK_EX) < 0)
                return log_error_errno(-errno, "failed to lock '%s': %m", path);
        /* mkostemp() only claims a unique name in tmp/; the rename puts path's file in its place. */
        _cleanup_free_ char *tmp = xasprintf("%s/tmp/blob-XXXXXX", c->dir);
        int name_fd = mkostemp(tmp, O_CLOEXEC);
        if (name_fd < 0)
                return log_error_errno(-errno, "failed to create a temporary file in '%s': %m", tmpdir);
        close(name_fd);
        if (rename(path, tmp) < 0) {
                int e = errno;
                (void) unlink(tmp);
                return e == EXDEV ? -EXDEV : log_error_errno(-e, "failed to move '%s' into the cache: %m", path);
        }
        uint8_t digest[DIGEST_SIZE];
        int r = digest_file(tmp, digest, NULL);
        if (r < 0)
                r = log_error_errno(r, "failed to read '%s': %m", tmp);
        else if (fchmod(fd, 0400) < 0 || fsync(fd) < 0)
                r = log_error_errno(-errno, "failed to sync '%s': %m", tmp);
        else
                r = store_blob(c, tmp, digest);
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        /* Our exclusive lock would keep cache_blob_path()'s shared one waiting. */
        closep(&fd);
        fd = -1;
        r = cache_blob_path(c, digest, ret_path);
        if (r < 0) {
                _cleanup_free_ char *final = blob_path(c, digest);
                return log_error_errno(r, "failed to open the stored blob '%s': %m", final);
        }
        memcpy(ret_digest, digest, DIGEST_SIZE);
        return 0;
}

int cache_blob_writer_commit(CacheWriter *w, const uint8_t *expected, uint8_t ret_digest[DIGEST_SIZE], char **ret_path) {
        if (!w->path)
                return -ESTALE;
        digest_final(w->digest, w->actual);
        w->have_actual = true;
        if (expected && memcmp(expected, w->actual, DIGEST_SIZE) != 0) {
                (void) unlink(w->path); /* a partial that hashes wrong is worthless too */
                free(TAKE_PTR(w->path));
                return -EBADMSG;
        }
        if (fchmod(w->fd, 0400) < 0 || fsync(w->fd) < 0)
                return log_error_errno(-errno, "failed to sync '%s': %m", w->path);
        int r = store_blob(w->cache, w->path, w->actual);
        if (r < 0)
                return r;
        free(TAKE_PTR(w->path));
        close(w->fd); /* drops our exclusive lock on what is now the committed blob */
        w->fd = -1;
        if (ret_path) {
                r = cache_blob_path(w->cache, w->actual, ret_path);
                if (r < 0) {
                        _cleanup_free_ char *final = blob_path(w->cache, w->actual);
                        return log_error_errno(r, "failed to open the committed blob '%s': %m", final);
                }
        }
        if (ret_digest)
                memcpy(ret_digest, w->actual, DIGEST_SIZE);
        return 0;
}

static int entry_path(const Cache *c, const char *ns, const char *key_hex, char **ret) {
        if (!ns_valid(ns) || !key_hex || !is_hex(key_hex, 1, 128))
                return -EINVAL;
        *ret = xasprintf("%s/%s/%s", c->dir, ns, key_hex);
        return 0;
}

int cache_entry_lookup(Cache *c, const char *ns, const char *key_hex, char **ret_dir) {
        _cleanup_free_ char *p = NULL;
        int r = entry_path(c, ns, key_hex, &p);
        if (r < 0)
                return r;
        r = use_item(c, p);
        if (r < 0)
                return r;
        *ret_dir = TAKE_PTR(p);
        return 0;
}

int cache_entry_begin(Cache *c, const char *ns, const char *key_hex, char **ret_tmpdir) {
        _cleanup_free_ char *p = NULL;
        int r = entry_path(c, ns, key_hex, &p);
        if (r < 0)
                return r;
        _cleanup_free_ char *tmp = xasprintf("%s/tmp/entry-%s-XXXXXX", c->dir, ns);
        if (!mkdtemp(tmp))
                return log_error_errno(-errno, "failed to create a temporary directory in '%s/tmp': %m", c->dir);
        int fd;
        r = open_locked(tmp, LOCK_EX, &fd);
        if (r < 0) {
                (void) rmdir(tmp);
                return log_error_errno(r, "failed to lock '%s': %m", tmp);
        }
        /* mkdtemp gives 0700: entries stay private to the cache's owner */
        hold(c, fd, tmp);
        *ret_tmpdir = TAKE_PTR(tmp);
        return 0;
}

void cache_entry_abort(Cache *c, const char *tmpdir) {
        if (!tmpdir)
                return;
        (void) rm_rf(tmpdir);
        release(c, tmpdir);
}

/* Every file an entry holds is 0600, whatever its writer made it. */
static void entry_files_private(int dfd) {
        _cleanup_close_ int fd = dup(dfd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return;
        (void) TAKE_FD(fd);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int f = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                struct stat st;
                if (f >= 0 && fstat(f, &st) >= 0 && S_ISREG(st.st_mode))
                        (void) fchmod(f, 0600);
        }
        closedir(d);
}

int cache_entry_commit(Cache *c, const char *ns, const char *key_hex, const char *tmpdir, char **ret_dir) {
        _cleanup_free_ char *p = NULL;
        int r = entry_path(c, ns, key_hex, &p);
        if (r < 0)
                return r;
        _cleanup_free_ char *nsdir = path_join(c->dir, ns);
        r = mkdir_p(nsdir, 0700);
        if (r < 0)
                return log_error_errno(r, "failed to create '%s': %m", nsdir);
        /* Step states may be large trees: flush them before they become visible. */
        _cleanup_close_ int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                entry_files_private(dfd);
                (void) syncfs(dfd);
        }
        bool ours = true;
        if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, p, RENAME_NOREPLACE) < 0) {
                ours = false;
                if (errno == EEXIST || errno == ENOTEMPTY) {
                        /* Another writer committed the same key first: its result stands. */
                        log_debug("cache: '%s/%s' exists already, discarding ours", ns, key_hex);
                        (void) rm_rf(tmpdir);
                } else if (errno == EINVAL && rename(tmpdir, p) >= 0) {
                        /* no RENAME_NOREPLACE here; rename() still refuses a non-empty target */
                        ours = true;
                } else {
                        r = -errno;
                        if (errno == EINVAL)
                                (void) rm_rf(tmpdir);
                        return log_error_errno(r, "failed to commit cache entry '%s': %m", p);
                }
        }
        for (size_t i = 0; ours && i < c->n_held; i++)
                if (streq(c->held[i].path, tmpdir)) {
                        /* Keep it locked, now shared, under its final name: gc can't take it away
                         * between the rename and our use. */
                        (void) flock(c->held[i].fd, LOCK_SH);
                        touch_fd(c->held[i].fd);
                        free(c->held[i].path);
                        c->held[i].path = xstrdup(p);
                }
        release(c, tmpdir);
        if (ret_dir) {
                r = cache_entry_lookup(c, ns, key_hex, ret_dir);
                if (r < 0)
                        return log_error_errno(r, "failed to open committed cache entry '%s': %m", p);
        }
        return 0;
}

static uint64_t tree_size_acc;
static int ref_path(const Cache *c, const char *ns, const char *key_hex, char **ret) {
        if (!ns_valid(ns) || !key_hex || !is_hex(key_hex, 1, 128))
                return -EINVAL;
        *ret = xasprintf("%s/refs/%s-%s", c->dir, ns, key_hex);
        return 0;
}

int cache_ref_get(Cache *c, const char *ns, const char *key_hex, uint8_t ret[DIGEST_SIZE]) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        int r = ref_path(c, ns, key_hex, &p);
        if (r < 0)
                return r;
        size_t size = 0;
        r = read_full_file(p, &text, &size);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = 0;
        return digest_from_string(text, ret) < 0 ? -EBADMSG : 0;
}

int cache_ref_set(Cache *c, const char *ns, const char *key_hex, const uint8_t digest[DIGEST_SIZE]) {
        _cleanup_free_ char *p = NULL, *dir = path_join(c->dir, "refs");
        int r = ref_path(c, ns, key_hex, &p);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return log_error_errno(r, "failed to create '%s': %m", dir);
        char s[DIGEST_STRING_MAX];
        digest_to_string(digest, s);
        _cleanup_free_ char *line = xasprintf("%s\n", s);
        r = write_file_atomic(p, line, strlen(line), 0600);
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", p);
        return 0;
}

void cache_ref_touch(Cache *c, const char *ns, const char *key_hex) {
        _cleanup_free_ char *p = NULL;
        if (ref_path(c, ns, key_hex, &p) >= 0)
                (void) utimensat(AT_FDCWD, p, NULL, 0);
}

unsigned cache_refs_expire(Cache *c, const char *ns, int64_t max_age) {
        _cleanup_free_ char *dir = path_join(c->dir, "refs"), *prefix = xasprintf("%s-", ns);
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        time_t oldest = time(NULL) - (time_t) max_age;
        unsigned removed = 0;
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;
                if (!startswith(de->d_name, prefix) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode) || st.st_mtime >= oldest)
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                        removed++;
        }
        closedir(d);
        return removed;
}

static int tree_size_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        tree_size_acc += (uint64_t) st->st_blocks * 512;
        return 0;
}

static uint64_t item_size(const char *path, const struct stat *st) {
        if (!S_ISDIR(st->st_mode))
                return (uint64_t) st->st_blocks * 512;
        tree_size_acc = 0;
        (void) nftw(path, tree_size_cb, 16, FTW_PHYS);
        return tree_size_acc;
}

static void list_dir(const char *dir, const char *ns, bool want_dirs, size_t key_min, CacheItem **items, size_t *n) {
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!is_hex(de->d_name, key_min, 128))
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0 || S_ISDIR(st.st_mode) != want_dirs)
                        continue;
                *items = xrealloc(*items, (*n + 1) * sizeof(CacheItem));
                (*items)[(*n)++] = (CacheItem) {
                        .ns = xstrdup(ns),
                        .key = xstrdup(de->d_name),
                        .size = item_size(p, &st),
                        .last_use = S_ISDIR(st.st_mode) ? st.st_mtime : st.st_atime,
                };
        }
        closedir(d);
}

static int item_cmp(const void *a, const void *b) {
        const CacheItem *x = a, *y = b;
        if (x->last_use != y->last_use)
                return x->last_use < y->last_use ? -1 : 1;
        int r = strcmp(x->ns, y->ns);
        return r != 0 ? r : strcmp(x->key, y->key);
}

int cache_list(Cache *c, CacheItem **ret_items, size_t *ret_n) {
        CacheItem *items = NULL;
        size_t n = 0;
        _cleanup_free_ char *blobs = path_join(c->dir, "blobs/sha256");
        list_dir(blobs, "blobs", false, DIGEST_HEX_SIZE, &items, &n);
        _cleanup_free_ char *partial = path_join(c->dir, "partial");
        list_dir(partial, "partial", false, 1, &items, &n);
        DIR *d = opendir(c->dir);
        if (!d) {
                int r = -errno;
                cache_items_free(items, n);
                return log_error_errno(r, "failed to read cache directory '%s': %m", c->dir);
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!ns_valid(de->d_name))
                        continue;
                _cleanup_free_ char *p = path_join(c->dir, de->d_name);
                list_dir(p, de->d_name, true, 1, &items, &n);
        }
        closedir(d);
        qsort(items, n, sizeof(CacheItem), item_cmp);
        *ret_items = items;
        *ret_n = n;
        return 0;
}

void cache_items_free(CacheItem *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(items[i].ns);
                free(items[i].key);
        }
        free(items);
}

int cache_gc(Cache *c, uint64_t max_size, uint64_t *ret_freed, uint64_t *ret_remaining) {
        _cleanup_free_ char *lockpath = path_join(c->dir, "gc.lock");
        _cleanup_close_ int lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lfd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", lockpath);
        if (flock(lfd, LOCK_EX) < 0)
                return log_error_errno(-errno, "failed to lock '%s': %m", lockpath);

        /* Debris of killed writers first; a minute's grace covers a writer between mkdtemp and flock. */
        clean_tmp(c, 60);

        CacheItem *items;
        size_t n;
        int r = cache_list(c, &items, &n);
        if (r < 0)
                return r;
        uint64_t total = 0, freed = 0;
        for (size_t i = 0; i < n; i++)
                total += items[i].size;
        for (size_t i = 0; i < n && total > max_size; i++) {
                _cleanup_free_ char *p = streq(items[i].ns, "blobs") ?
                        xasprintf("%s/blobs/sha256/%s", c->dir, items[i].key) :
                        xasprintf("%s/%s/%s", c->dir, items[i].ns, items[i].key);
                if (holds(c, p))
                        continue;
                r = remove_unlocked(c, p, true);
                if (r == -EWOULDBLOCK || r == -ENOENT) {
                        log_debug("cache: '%s/%s' is in use, kept", items[i].ns, items[i].key);
                        continue;
                }
                if (r < 0) {
                        log_warning_errno(r, "failed to remove '%s': %m", p);
                        continue;
                }
                log_debug("cache: evicted '%s/%s'", items[i].ns, items[i].key);
                total -= items[i].size;
                freed += items[i].size;
        }
        cache_items_free(items, n);
        if (ret_freed)
                *ret_freed = freed;
        if (ret_remaining)
                *ret_remaining = total;
        return 0;
}
