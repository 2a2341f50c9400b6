#pragma once
/* Small helpers every module uses: scoped cleanup, ownership hand-over, string helpers. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand an owned pointer over: returns it and leaves NULL behind so the cleanup does nothing. */
#define TAKE_PTR(p)                                  \
        ({                                           \
                typeof(p) _ptr_ = (p);               \
                (p) = NULL;                          \
                _ptr_;                               \
        })
#define TAKE_FD(fd)                                  \
        ({                                           \
                int _fd_ = (fd);                     \
                (fd) = -1;                           \
                _fd_;                                \
        })

/* Thing *thing_free(Thing *) accepting NULL gives thing_freep for _cleanup_(thing_freep). */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)      \
        static inline void func##p(type *p) {        \
                if (*p)                              \
                        func(*p);                    \
        }

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Deletes a file on scope exit unless the path was handed over (TAKE_PTR) or set to NULL:
 * temporary outputs never survive an error path. */
static inline void unlink_and_freep(char **p) {
        if (*p) {
                int saved = errno;
                (void) unlink(*p);
                free(*p);
                errno = saved;
        }
}
#define _cleanup_unlink_ _cleanup_(unlink_and_freep)

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
static inline bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}
static inline bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* The value of a hexadecimal digit (either case), or -EINVAL. */
static inline int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

/* s as one single-quoted shell word ('it'\''s'), newly allocated. */
char *shell_quote(const char *s);
/* What goes between the single quotes of shell_quote(): s with every ' as '\''. */
char *shell_quote_inner(const char *s);

/* Allocation failure is not recoverable in a CLI; abort loudly instead of threading ENOMEM through
 * every call. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);

/* Files. */
/* write() until done, retrying on EINTR; -errno on failure. */
int write_all(int fd, const void *data, size_t size);
/* pwrite() at offset until done, retrying on EINTR; -errno on failure. */
int pwrite_all(int fd, const void *data, size_t size, uint64_t offset);
/* pread() at offset until size bytes or the end of the file, retrying on EINTR: the bytes read
 * (fewer than size only at the end of the file), or -errno. */
ssize_t pread_full(int fd, void *buf, size_t size, uint64_t offset);
/* pread_full() of exactly size bytes: -ENODATA when the file ends before. */
int pread_exact(int fd, void *buf, size_t size, uint64_t offset);
int read_full_file(const char *path, char **ret_data, size_t *ret_size);
/* Copies the file from into a new file to, opened O_WRONLY|O_CREAT|O_CLOEXEC|flags (O_EXCL or
 * O_TRUNC) with mode; -errno on failure (a partial copy may remain). */
int copy_file(const char *from, const char *to, int flags, unsigned mode);
int write_file_atomic(const char *path, const void *data, size_t size, unsigned mode);
int mkdir_p(const char *path, unsigned mode);
/* Removes path and, when it is a directory, everything below it. Never follows a symlink (path itself
 * when a symlink is removed as one), walks with openat()/unlinkat() relative to each directory's
 * descriptor so a symlink swapped in mid-walk leads nowhere, and does not descend into other
 * filesystems mounted below path (-EXDEV). 0 when path does not exist. */
int rm_rf(const char *path);
/* The same for name relative to dir_fd; dev != 0: refuse to enter a directory on another device. */
int rm_rf_at(int dir_fd, const char *name, dev_t dev);
char *path_join(const char *a, const char *b);
/* XDG base directories joined with suffix, newly allocated: $XDG_CACHE_HOME/suffix, else
 * $HOME/.cache/suffix (config: $XDG_CONFIG_HOME, ~/.config). A relative $XDG_* is ignored, as the
 * XDG Base Directory spec says; without $HOME, /root. */
char *xdg_cache_path(const char *suffix);
char *xdg_config_path(const char *suffix);
/* Where scratch files go: $TMPDIR, else /var/tmp (scratch disks are large; /tmp is often a small
 * tmpfs). */
const char *tmp_dir(void);
/* "TMPDIR/NAME-XXXXXX", ready for mkostemp() or mkdtemp(). */
char *tmp_template(const char *name);
/* A unique temporary sibling of path ("DIR/.NAME.tmp-XXXXXX" pattern), for write-then-rename. */
char *tmp_sibling(const char *path);
