#include "vfat.h"

#include <ctype.h>
#include <inttypes.h>

#include "log.h"
#include "process.h"

/* mtools reads ~/.mtoolsrc and /etc/mtools.conf, and asks about filesystem oddities; none of
 * that may change what baker writes. */
static char **mtools_env(uint64_t epoch) {
        static char epoch_var[64];
        static char *env[] = { (char *) "MTOOLSRC=/dev/null", (char *) "MTOOLS_SKIP_CHECK=1",
                               (char *) "MTOOLS_LOWER_CASE=0", epoch_var, NULL };
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
        _cleanup_free_ char *path = xasprintf("%s/baker-vfat-XXXXXX", getenv("TMPDIR") ?: "/tmp");
        _cleanup_close_ int fd = mkstemp(path);
        if (fd < 0)
                return -errno;
        const uint8_t *p = data;
        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        int r = -errno;
                        unlink(path);
                        return r;
                }
                p += n, size -= (size_t) n;
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

        char volid[9], offset_arg[64], blocks[32], fat_arg[16];
        snprintf(volid, sizeof volid, "%08" PRIx32, o->volume_id);
        snprintf(offset_arg, sizeof offset_arg, "--offset=%" PRIu64, offset / 512);
        snprintf(blocks, sizeof blocks, "%" PRIu64, size / 1024);
        snprintf(fat_arg, sizeof fat_arg, "-F%u", bits);
        char *argv[16] = { (char *) "mkfs.vfat", (char *) "--invariant", (char *) "-i", volid, (char *) "-n",
                           label, offset_arg };
        size_t k = 7;
        if (bits)
                argv[k++] = fat_arg;
        argv[k++] = (char *) image_path;
        argv[k++] = blocks;
        argv[k] = NULL;
        int r = process_run_checked(argv, NULL, "make the fat filesystem", "dosfstools");
        if (r < 0)
                return r;
        return add_entries(image_path, offset, o->epoch, entries, n_entries);
}
