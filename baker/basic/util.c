#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                abort();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                abort();
        return p;
}

void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                abort();
        return p;
}

char *xstrdup(const char *s) {
        char *p = strdup(s);
        if (!p)
                abort();
        return p;
}

char *xstrndup(const char *s, size_t n) {
        char *p = strndup(s, n);
        if (!p)
                abort();
        return p;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                abort();
        return s;
}

int read_full_file(const char *path, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        size_t cap = S_ISREG(st.st_mode) ? (size_t) st.st_size + 1 : 4096, len = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        for (;;) {
                if (len + 1 >= cap)
                        buf = xrealloc(buf, cap *= 2);
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = len;
        return 0;
}

static char *xdg_path(const char *variable, const char *fallback, const char *suffix) {
        const char *e = getenv(variable);
        if (e && *e == '/')
                return path_join(e, suffix);
        e = getenv("HOME");
        return xasprintf("%s/%s/%s", e && *e ? e : "/root", fallback, suffix);
}

char *xdg_cache_path(const char *suffix) {
        return xdg_path("XDG_CACHE_HOME", ".cache", suffix);
}

char *xdg_config_path(const char *suffix) {
        return xdg_path("XDG_CONFIG_HOME", ".config", suffix);
}

char *shell_quote_inner(const char *s) {
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += *p == '\'' ? 4 : 1;
        char *q = xmalloc(n + 1), *o = q;
        for (const char *p = s; *p; p++)
                if (*p == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else
                        *o++ = *p;
        *o = 0;
        return q;
}

char *shell_quote(const char *s) {
        _cleanup_free_ char *inner = shell_quote_inner(s);
        return xasprintf("'%s'", inner);
}

const char *tmp_dir(void) {
        const char *e = getenv("TMPDIR");
        return e && *e == '/' ? e : "/var/tmp";
}

char *tmp_template(const char *name) {
        return xasprintf("%s/%s-XXXXXX", tmp_dir(), name);
}

char *tmp_sibling(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return xasprintf(".%s.tmp-XXXXXX", path);
        return xasprintf("%.*s/.%s.tmp-XXXXXX", (int) (slash - path), path, slash + 1);
}

int write_all(int fd, const void *data, size_t size) {
        const char *p = data;
        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int pwrite_all(int fd, const void *data, size_t size, uint64_t offset) {
        const char *p = data;
        while (size > 0) {
                ssize_t n = pwrite(fd, p, size, (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

ssize_t pread_full(int fd, void *buf, size_t size, uint64_t offset) {
        size_t done = 0;
        while (done < size) {
                ssize_t n = pread(fd, (char *) buf + done, size - done, (off_t) (offset + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

int pread_exact(int fd, void *buf, size_t size, uint64_t offset) {
        ssize_t n = pread_full(fd, buf, size, offset);
        if (n < 0)
                return (int) n;
        return (size_t) n < size ? -ENODATA : 0;
}

int copy_file(const char *from, const char *to, int flags, unsigned mode) {
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        _cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_CLOEXEC | flags, (mode_t) mode);
        if (out < 0)
                return -errno;
        char buf[64 * 1024];
        for (;;) {
                ssize_t n = read(in, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                int r = write_all(out, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

int write_file_atomic(const char *path, const void *data, size_t size, unsigned mode) {
        _cleanup_unlink_ char *tmp = tmp_sibling(path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                free(TAKE_PTR(tmp));
                return -errno;
        }
        int r = write_all(fd, data, size);
        if (r < 0)
                return r;
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
                return -errno;
        if (rename(tmp, path) < 0)
                return -errno;
        free(TAKE_PTR(tmp));
        return 0;
}

int mkdir_p(const char *path, unsigned mode) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* Removes what is inside the directory dfd, never following a symlink and never leaving the
 * filesystem dfd is on: every name is looked up relative to its directory's descriptor, so a
 * directory swapped for a symlink while the walk runs is removed as the symlink it has become. */
static int rm_rf_children(int dfd, dev_t dev) {
        int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return -errno;
        DIR *d = fdopendir(dup_fd);
        if (!d) {
                int r = -errno;
                close(dup_fd);
                return r;
        }
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int k = rm_rf_at(dfd, de->d_name, dev);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        return r;
}

int rm_rf_at(int dir_fd, const char *name, dev_t dev) {
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (dev != 0 && st.st_dev != dev)
                return -EXDEV; /* a mount point: not ours to empty */
        int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno != ENOTDIR && errno != ELOOP)
                        return -errno;
                /* swapped for a symlink or file since the fstatat: remove that instead */
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        }
        int r = rm_rf_children(fd, st.st_dev);
        close(fd);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int rm_rf(const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        while (slash && slash > copy && slash[1] == 0) { /* "dir/" */
                *slash = 0;
                slash = strrchr(copy, '/');
        }
        const char *name = slash ? slash + 1 : copy;
        _cleanup_close_ int parent = -1;
        if (slash) {
                *slash = 0;
                parent = open(slash == copy ? "/" : copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0)
                        return errno == ENOENT ? 0 : -errno;
        }
        return rm_rf_at(slash ? parent : AT_FDCWD, name, 0);
}

char *path_join(const char *a, const char *b) {
        if (!a || !*a)
                return xstrdup(b);
        while (*b == '/')
                b++;
        size_t la = strlen(a);
        return xasprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}
