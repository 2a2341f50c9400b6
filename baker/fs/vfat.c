#include "vfat.h"

#include <fcntl.h>

#include <ctype.h>
#include <inttypes.h>

#include "log.h"
#include "process.h"

/* mtools reads ~/.mtoolsrc and /etc/mtools.conf, and asks about filesystem oddities; none of
 * that may change what baker writes. FAT times are local time: pin the zone to UTC, or the
 * caller's TZ ends up in every timestamp. */
static char **mtools_env(uint64_t epoch) {
        static char epoch_var[64];
        static char *env[] = { (char *) "MTOOLSRC=/dev/null", (char *) "MTOOLS_SKIP_CHECK=1",
                               (char *) "MTOOLS_LOWER_CASE=0", (char *) "TZ=UTC0", epoch_var, NULL };
        snprintf(epoch_var, sizeof epoch_var, "SOURCE_DATE_EPOCH=%" PRIu64, epoch);
        return env;
}

/* mtools' "image@@offset" names a filesystem inside a bigger file. */
static char *mtools_image(const char *image_path, uint64_t offset) {
        return xasprintf("%s@@%" PRIu64, image_path, offset);
}

static char *mtools_path(const char *path) {
        return xasprintf("::%s", path);
}

static int write_temp_file(const void *data, size_t size, char **ret_path) {
        _cleanup_free_ char *path = tmp_template("baker-vfat");
        _cleanup_close_ int fd = mkstemp(path);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, size);
        if (r < 0) {
                unlink(path);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

typedef struct DirSet {
        char **dirs;
        size_t n;
} DirSet;

static bool dirset_has(const DirSet *s, const char *d) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->dirs[i], d))
                        return true;
        return false;
}

static void dirset_done(DirSet *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->dirs[i]);
        free(s->dirs);
}

/* Creates `dir` and its missing parents, remembering what exists already. */
static int make_dirs(const char *img, char **env, DirSet *known, const char *dir) {
        _cleanup_free_ char *copy = xstrdup(dir);
        for (char *slash = copy + 1;; slash++) {
                bool end = *slash == 0;
                if (*slash != '/' && !end)
                        continue;
                *slash = 0;
                if (copy[1] && !dirset_has(known, copy)) {
                        _cleanup_free_ char *target = mtools_path(copy);
                        char *argv[] = { (char *) "mmd", (char *) "-i", (char *) img, target, NULL };
                        _cleanup_free_ char *out = NULL;
                        int r = process_run(argv, env, &out);
                        /* mmd fails quietly on an existing directory (vfat_add on a filled
                         * filesystem): that is fine when mdir can list it. */
                        if (r > 0) {
                                char *probe[] = { (char *) "mdir", (char *) "-b", (char *) "-i", (char *) img, target,
                                                  NULL };
                                r = process_run(probe, env, NULL) == 0 ? 0 : -EPROTO;
                        }
                        if (r == -ENOENT)
                                return log_error_errno(r, "'mmd' is not installed (Debian package 'mtools')");
                        if (r < 0) {
                                log_error("failed to create directory '%s' on the fat filesystem: %s", copy,
                                          out ? process_last_lines(out, 3) : strerror(-r));
                                return r;
                        }
                        known->dirs = xrealloc(known->dirs, (known->n + 1) * sizeof(char *));
                        known->dirs[known->n++] = xstrdup(copy);
                }
                if (end)
                        break;
                *slash = '/';
        }
        return 0;
}

static int add_entries(const char *image_path, uint64_t offset, uint64_t epoch, const VfatEntry *entries,
                       size_t n_entries) {
        _cleanup_free_ char *img = mtools_image(image_path, offset);
        char **env = mtools_env(epoch);
        _cleanup_(dirset_done) DirSet known = {};
        int r;

        for (size_t i = 0; i < n_entries; i++) {
                const VfatEntry *e = entries + i;
                if (!e->path || e->path[0] != '/' || strstr(e->path, "/../") || endswith(e->path, "/.."))
                        return log_error_errno(-EINVAL, "fat entry '%s' is not an absolute path",
                                               e->path ?: "(null)");
                if (e->is_dir) {
                        r = make_dirs(img, env, &known, e->path);
                        if (r < 0)
                                return r;
                        continue;
                }
                _cleanup_free_ char *parent = xstrdup(e->path);
                char *slash = strrchr(parent, '/');
                if (slash != parent) {
                        *slash = 0;
                        r = make_dirs(img, env, &known, parent);
                        if (r < 0)
                                return r;
                }

                _cleanup_unlink_ char *temp = NULL;
                const char *source = e->host_file;
                if (!source) {
                        r = write_temp_file(e->data, e->size, &temp);
                        if (r < 0)
                                return log_error_errno(r, "failed to write temporary file for '%s': %m", e->path);
                        source = temp;
                }
                _cleanup_free_ char *target = mtools_path(e->path);
                /* -o: overwrite; no -m, so the time is SOURCE_DATE_EPOCH, not the host file's. */
                char *argv[] = { (char *) "mcopy", (char *) "-o", (char *) "-i", img, (char *) source, target, NULL };
                _cleanup_free_ char *what = xasprintf("copy '%s' onto the fat filesystem", e->path);
                r = process_run_checked(argv, env, what, "mtools");
                if (r < 0)
                        return r;
        }
        return 0;
}

int vfat_add(const char *image_path, uint64_t offset, uint64_t epoch, const VfatEntry *entries, size_t n_entries) {
        return add_entries(image_path, offset, epoch, entries, n_entries);
}

/* Copies size bytes of fd into image_path at offset; all-zero blocks become holes. */
static int copy_into(int fd, const char *image_path, uint64_t offset, uint64_t size) {
        _cleanup_close_ int out = open(image_path, O_WRONLY | O_CLOEXEC);
        if (out < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", image_path);
        const size_t chunk = 1 << 20;
        _cleanup_free_ uint8_t *buf = xmalloc(chunk);
        for (uint64_t pos = 0; pos < size;) {
                size_t want = (size_t) MIN((uint64_t) chunk, size - pos);
                ssize_t n = pread(fd, buf, want, (off_t) pos);
                if (n <= 0)
                        return log_error_errno(n < 0 ? -errno : -EIO, "failed to read the fat filesystem: %m");
                bool zero = buf[0] == 0 && memcmp(buf, buf + 1, (size_t) n - 1) == 0;
                if (zero && fallocate(out, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t) (offset + pos), n) >= 0) {
                        pos += (uint64_t) n;
                        continue;
                }
                if (pwrite(out, buf, (size_t) n, (off_t) (offset + pos)) != n)
                        return log_error_errno(-errno, "failed to write '%s': %m", image_path);
                pos += (uint64_t) n;
        }
        return 0;
}

int vfat_write(const char *image_path, uint64_t offset, uint64_t size, const VfatOptions *o,
               const VfatEntry *entries, size_t n_entries) {
        if (offset % 512 != 0 || size < 1024 * 1024)
                return log_error_errno(-EINVAL, "fat filesystem at %" PRIu64 " of %" PRIu64 " bytes is not possible",
                                       offset, size);
        char label[12] = "NO NAME";
        if (o->label) {
                if (strlen(o->label) > 11)
                        return log_error_errno(-EINVAL, "fat label '%s' is longer than 11 characters", o->label);
                size_t i = 0;
                for (; o->label[i]; i++)
                        label[i] = (char) toupper((unsigned char) o->label[i]);
                label[i] = 0;
        }
        unsigned bits = o->fat_bits ?: size >= 48 * 1024 * 1024 ? 32 : 0;

        /* mkfs.vfat --offset takes part of its geometry from the whole file's size (it fails or
         * makes a broken FAT once the disk is ~1 GiB), so the filesystem is made and filled in a
         * file of exactly its own size, then copied into place. */
        _cleanup_free_ char *tmp = tmp_template("baker-vfat");
        _cleanup_close_ int tfd = mkostemp(tmp, O_CLOEXEC);
        if (tfd < 0)
                return log_error_errno(-errno, "failed to create a temporary file: %m");
        int r = ftruncate(tfd, (off_t) size) < 0 ? -errno : 0;
        if (r >= 0) {
                char volid[9], blocks[32], fat_arg[16];
                snprintf(volid, sizeof volid, "%08" PRIx32, o->volume_id);
                snprintf(blocks, sizeof blocks, "%" PRIu64, size / 1024);
                snprintf(fat_arg, sizeof fat_arg, "-F%u", bits);
                char *argv[16] = { (char *) "mkfs.vfat", (char *) "--invariant", (char *) "-i", volid, (char *) "-n", label };
                size_t k = 6;
                if (bits)
                        argv[k++] = fat_arg;
                argv[k++] = tmp;
                argv[k++] = blocks;
                argv[k] = NULL;
                r = process_run_checked(argv, NULL, "make the fat filesystem", "dosfstools");
                if (r >= 0)
                        r = add_entries(tmp, 0, o->epoch, entries, n_entries);
                if (r >= 0)
                        r = copy_into(tfd, image_path, offset, size);
        }
        (void) unlink(tmp);
        return r;
}
