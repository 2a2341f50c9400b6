/* The tar codec, writing: a Tree as a normalised pax tar. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "tar-header.h"
#include "tree-internal.h"

/* ---- the normalised tar: writing ---- */

typedef struct Pax {
        char *buf;
        size_t len;
} Pax;

static void pax_add(Pax *p, const char *key, const void *value, size_t vlen) {
        size_t base = strlen(key) + vlen + 3; /* ' ' '=' '\n' */
        size_t total = base + 1;
        for (;;) {
                size_t digits = (size_t) snprintf(NULL, 0, "%zu", total);
                if (base + digits == total)
                        break;
                total = base + digits;
        }
        p->buf = xrealloc(p->buf, p->len + total);
        int n = sprintf(p->buf + p->len, "%zu %s=", total, key);
        memcpy(p->buf + p->len + n, value, vlen);
        p->buf[p->len + total - 1] = '\n';
        p->len += total;
}

static void make_header(uint8_t h[512], const char *name, char type, uint32_t mode, uint32_t uid, uint32_t gid,
                        uint64_t size, int64_t mtime, const char *link, uint64_t rdev) {
        /* Numbers that do not fit are 0 here: the pax header before carries them. */
        tar_header_encode(&(TarHeader) { .name = name, .type = type, .mode = mode, .uid = uid, .gid = gid,
                                         .size = size, .mtime = mtime, .link = link, .device_numbers = true,
                                         .devmajor = major(rdev), .devminor = minor(rdev) },
                          h);
}

static int write_padded(int fd, const void *data, size_t len) {
        static const uint8_t zeros[512];
        int r = write_all(fd, data, len);
        if (r < 0 || len % 512 == 0)
                return r;
        return write_all(fd, zeros, 512 - len % 512);
}

/* The pax records an entry needs beyond what its ustar header holds. */
static void entry_pax(Pax *pax, const TreeEntry *p, const char *name, const char *link, uint64_t size, int64_t mtime,
                      uint32_t nsec) {
        char v[64];
        if (strlen(name) > 100)
                pax_add(pax, "path", name, strlen(name));
        if (link && strlen(link) > 100)
                pax_add(pax, "linkpath", link, strlen(link));
        if (!tar_octal_fits(size, 12))
                pax_add(pax, "size", v, (size_t) sprintf(v, "%" PRIu64, size));
        if (!tar_octal_fits(p->uid, 8))
                pax_add(pax, "uid", v, (size_t) sprintf(v, "%" PRIu32, p->uid));
        if (!tar_octal_fits(p->gid, 8))
                pax_add(pax, "gid", v, (size_t) sprintf(v, "%" PRIu32, p->gid));
        if (nsec > 0 || mtime < 0 || !tar_octal_fits((uint64_t) mtime, 12)) {
                int n = nsec > 0 ? sprintf(v, "%" PRId64 ".%09" PRIu32, mtime, nsec) : sprintf(v, "%" PRId64, mtime);
                pax_add(pax, "mtime", v, (size_t) n);
        }
        if (p->type != TREE_HARDLINK)
                for (size_t i = 0; i < p->n_xattrs; i++) {
                        _cleanup_free_ char *k = xasprintf("SCHILY.xattr.%s", p->xattrs[i].name);
                        pax_add(pax, k, p->xattrs[i].value, p->xattrs[i].size);
                }
}

/* The 'x' header and its records, named after the entry's base name. */
static int write_pax_header(int fd, const TreeEntry *p, const Pax *pax, int64_t mtime) {
        const char *base = strrchr(p->path, '/');
        base = base ? base + 1 : p->path;
        _cleanup_free_ char *pname = xasprintf("PaxHeaders/%.80s", base);
        uint8_t h[512];
        make_header(h, pname, 'x', 0644, 0, 0, pax->len, mtime, NULL, 0);
        int r = write_all(fd, h, 512);
        return r < 0 ? r : write_padded(fd, pax->buf, pax->len);
}

/* [from, to) of a regular file's data: copy_file_range between the backing file and the output
 * (reflinks where the filesystem can), plain reads otherwise. */
static int copy_data(const Tree *t, int fd, const Entry *e, uint64_t from, uint64_t to, char **buf) {
        uint64_t done = from;
        if (e->backing >= 0) {
                int in = t->backings[e->backing];
                while (done < to) {
                        loff_t ioff = (loff_t) (e->data_offset + done);
                        ssize_t n = copy_file_range(in, &ioff, fd, NULL, (size_t) MIN(to - done, (uint64_t) 1 << 30), 0);
                        if (n <= 0)
                                break;
                        done += (uint64_t) n;
                }
        }
        while (done < to) {
                if (!*buf)
                        *buf = xmalloc(1 << 20);
                ssize_t n = tree_read(t, &e->pub, done, *buf, (size_t) MIN(to - done, (uint64_t) 1 << 20));
                if (n <= 0)
                        return n < 0 ? (int) n : -EIO;
                int r = write_all(fd, *buf, (size_t) n);
                if (r < 0)
                        return r;
                done += (uint64_t) n;
        }
        return 0;
}

/* A regular file's data, padded to 512 bytes. Holes stay holes: the output seeks over them, so a
 * sparse member takes the room of its data only, and the tar's bytes are the same. */
static int write_data(const Tree *t, int fd, const Entry *e) {
        uint64_t size = e->pub.size, pos = 0;
        _cleanup_free_ char *buf = NULL;
        while (pos < size) {
                uint64_t data, data_end;
                int r = tree_next_data(t, &e->pub, pos, &data, &data_end);
                if (r < 0)
                        return r;
                if (data > pos && lseek(fd, (off_t) (data - pos), SEEK_CUR) < 0)
                        return -errno;
                r = copy_data(t, fd, e, data, data_end, &buf);
                if (r < 0)
                        return r;
                pos = MAX(data_end, data);
        }
        if (size % 512 == 0)
                return 0;
        static const uint8_t zeros[512];
        return write_all(fd, zeros, 512 - size % 512);
}

static int write_entry(const Tree *t, int fd, const Entry *e, int64_t epoch) {
        static const char typeflags[_TREE_TYPE_MAX] = {
                [TREE_REG] = '0', [TREE_HARDLINK] = '1', [TREE_SYMLINK] = '2', [TREE_CHR] = '3',
                [TREE_BLK] = '4', [TREE_DIR] = '5', [TREE_FIFO] = '6',
        };
        const TreeEntry *p = &e->pub;
        if (p->type == TREE_SOCK) {
                log_debug("not writing socket '%s': tar cannot hold sockets", p->path);
                return 0;
        }
        _cleanup_free_ char *name = !p->path[0] ? xstrdup("./")
                                    : p->type == TREE_DIR ? xasprintf("%s/", p->path) : xstrdup(p->path);
        int64_t mtime = p->mtime_sec;
        uint32_t nsec = p->mtime_nsec;
        if (mtime > epoch || (mtime == epoch && nsec > 0)) {
                mtime = epoch;
                nsec = 0;
        }
        uint64_t size = p->type == TREE_REG ? p->size : 0;
        const char *link = (p->type == TREE_SYMLINK || p->type == TREE_HARDLINK) ? p->link_target : NULL;

        int r;
        Pax pax = {};
        entry_pax(&pax, p, name, link, size, mtime, nsec);
        if (pax.len > 0) {
                r = write_pax_header(fd, p, &pax, mtime);
                free(pax.buf);
                if (r < 0)
                        return r;
        }
        uint8_t h[512];
        make_header(h, name, typeflags[p->type], p->mode, p->uid, p->gid, size, mtime, link,
                    (p->type == TREE_CHR || p->type == TREE_BLK) ? p->rdev : 0);
        r = write_all(fd, h, 512);
        if (r < 0 || size == 0)
                return r;
        return write_data(t, fd, e);
}

/* Whether path is below prefix ("" = everything); *ret_rel is what follows "prefix/" ("" for prefix). */
static bool below(const char *path, const char *prefix, const char **ret_rel) {
        size_t l = strlen(prefix);
        if (l == 0) {
                *ret_rel = path;
                return true;
        }
        if (strncmp(path, prefix, l) != 0 || (path[l] != '/' && path[l] != 0))
                return false;
        *ret_rel = path[l] == '/' ? path + l + 1 : path + l;
        return true;
}

static int write_tar(const Tree *t, const char *prefix, const char *const *excludes, const char *out_tar,
                     int64_t epoch) {
        tree_sort((Tree *) t);
        _cleanup_unlink_ char *tmp = tmp_sibling(out_tar);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                free(TAKE_PTR(tmp));
                return log_error_errno(-errno, "cannot create '%s': %m", out_tar);
        }
        for (size_t i = 0; i < t->n_entries; i++) {
                const Entry *e = t->entries[i];
                Entry moved;
                if (prefix[0] || excludes) {
                        const char *rel, *sub, *lrel = NULL;
                        if (!below(e->pub.path, prefix, &rel))
                                continue;
                        bool skip = false;
                        /* other filesystems' mount points stay, as empty directories */
                        for (const char *const *x = excludes; x && *x && !skip; x++)
                                skip = below(rel, *x, &sub) && sub[0];
                        if (skip)
                                continue;
                        if (e->pub.type == TREE_HARDLINK && !below(e->pub.link_target, prefix, &lrel)) {
                                log_warning("not writing hardlink '/%s': its target '/%s' is on another filesystem",
                                            e->pub.path, e->pub.link_target);
                                continue;
                        }
                        moved = *e;
                        moved.pub.path = rel;
                        if (lrel)
                                moved.pub.link_target = lrel;
                        e = &moved;
                }
                int r = write_entry(t, fd, e, epoch);
                if (r < 0)
                        return log_error_errno(r, "cannot write '%s' (entry '%s'): %m", out_tar, t->entries[i]->path);
        }
        static const uint8_t zeros[1024];
        int r = write_all(fd, zeros, sizeof(zeros));
        if (r < 0 || fchmod(fd, 0644) < 0 || fsync(fd) < 0)
                return log_error_errno(r < 0 ? r : -errno, "cannot write '%s': %m", out_tar);
        if (rename(tmp, out_tar) < 0)
                return log_error_errno(-errno, "cannot rename into '%s': %m", out_tar);
        free(TAKE_PTR(tmp));
        return 0;
}

int tree_write(const Tree *t, const char *out_tar, int64_t epoch) {
        return write_tar(t, "", NULL, out_tar, epoch);
}

int tree_write_subtree(const Tree *t, const char *prefix, const char *const *excludes, const char *out_tar,
                       int64_t epoch) {
        return write_tar(t, prefix, excludes, out_tar, epoch);
}
