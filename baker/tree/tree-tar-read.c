/* The tar codec, reading: indexing a tar in place, file data left in the tar. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base64.h"
#include "log.h"
#include "tree-internal.h"

/* ---- the normalised tar: indexing in place ---- */

static int parse_number(const uint8_t *f, size_t len, uint64_t *ret) {
        if (f[0] & 0x80) { /* base-256 (GNU) */
                uint64_t v = f[0] & 0x3f;
                for (size_t i = 1; i < len; i++) {
                        if (v >> 56)
                                return -ERANGE;
                        v = (v << 8) | f[i];
                }
                *ret = v;
                return 0;
        }
        uint64_t v = 0;
        size_t i = 0;
        while (i < len && f[i] == ' ')
                i++;
        for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
                if (v >> 60)
                        return -ERANGE;
                v = v * 8 + (uint64_t) (f[i] - '0');
        }
        if (i < len && f[i] != 0 && f[i] != ' ')
                return -EBADMSG;
        *ret = v;
        return 0;
}

typedef struct Pending {
        char *path, *link;
        bool have_size, have_uid, have_gid, have_mtime;
        uint64_t size, uid, gid;
        int64_t mtime;
        uint32_t mtime_nsec;
        TreeXattr *xattrs;
        size_t n_xattrs;
} Pending;

static void pending_clear(Pending *p) {
        free(p->path);
        free(p->link);
        for (size_t i = 0; i < p->n_xattrs; i++) {
                free(p->xattrs[i].name);
                free(p->xattrs[i].value);
        }
        free(p->xattrs);
        *p = (Pending) {};
}

static char *url_decode(const char *s, size_t len) {
        char *out = xmalloc(len + 1);
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
                unsigned v;
                if (s[i] == '%' && i + 2 < len && sscanf(s + i + 1, "%2x", &v) == 1) {
                        out[o++] = (char) v;
                        i += 2;
                        continue;
                }
                out[o++] = s[i];
        }
        out[o] = 0;
        return out;
}

static void pending_xattr(Pending *p, char *name, void *value, size_t size) {
        for (size_t i = 0; i < p->n_xattrs; i++)
                if (streq(p->xattrs[i].name, name)) {
                        free(name);
                        free(value);
                        return;
                }
        p->xattrs = xrealloc(p->xattrs, (p->n_xattrs + 1) * sizeof(TreeXattr));
        p->xattrs[p->n_xattrs++] = (TreeXattr) { name, value, size };
}

static int parse_pax(Pending *p, const char *buf, size_t len) {
        size_t off = 0;
        while (off < len) {
                size_t reclen = 0, i = off;
                while (i < len && buf[i] >= '0' && buf[i] <= '9') {
                        reclen = reclen * 10 + (size_t) (buf[i] - '0');
                        if (reclen > len)
                                return -EBADMSG;
                        i++;
                }
                if (i >= len || buf[i] != ' ' || reclen == 0 || off + reclen > len || buf[off + reclen - 1] != '\n')
                        return -EBADMSG;
                const char *kv = buf + i + 1, *end = buf + off + reclen - 1;
                const char *eq = memchr(kv, '=', (size_t) (end - kv));
                if (!eq)
                        return -EBADMSG;
                size_t klen = (size_t) (eq - kv), vlen = (size_t) (end - eq - 1);
                const char *v = eq + 1;
                if (memchr(kv, 0, klen))
                        return -EBADMSG; /* a NUL in a key: the copies below would be shorter than klen */
                _cleanup_free_ char *key = xstrndup(kv, klen);
                _cleanup_free_ char *val = xstrndup(v, vlen);
                if ((streq(key, "path") || streq(key, "linkpath")) && memchr(v, 0, vlen))
                        return -EBADMSG; /* a name cut short at a NUL is another name */
                if (streq(key, "path")) {
                        free(p->path);
                        p->path = TAKE_PTR(val);
                } else if (streq(key, "linkpath")) {
                        free(p->link);
                        p->link = TAKE_PTR(val);
                } else if (streq(key, "size")) {
                        p->size = strtoull(val, NULL, 10);
                        p->have_size = true;
                } else if (streq(key, "uid")) {
                        p->uid = strtoull(val, NULL, 10);
                        p->have_uid = true;
                } else if (streq(key, "gid")) {
                        p->gid = strtoull(val, NULL, 10);
                        p->have_gid = true;
                } else if (streq(key, "mtime")) {
                        char *dot;
                        p->mtime = strtoll(val, &dot, 10);
                        p->mtime_nsec = 0;
                        if (*dot == '.') {
                                char digits[10] = "000000000";
                                memcpy(digits, dot + 1, MIN(strlen(dot + 1), (size_t) 9));
                                p->mtime_nsec = (uint32_t) strtoul(digits, NULL, 10);
                        }
                        p->have_mtime = true;
                } else if (startswith(key, "SCHILY.xattr.")) {
                        void *copy = xmalloc(vlen ? vlen : 1);
                        memcpy(copy, v, vlen);
                        pending_xattr(p, xstrdup(key + 13), copy, vlen);
                } else if (startswith(key, "LIBARCHIVE.xattr.")) {
                        uint8_t *dec;
                        size_t dlen;
                        if (base64_decode(v, vlen, &dec, &dlen) < 0)
                                return -EBADMSG;
                        pending_xattr(p, url_decode(key + 17, klen - 17), dec, dlen);
                } else if (startswith(key, "GNU.sparse.") || startswith(key, "SCHILY.acl.") ||
                           startswith(key, "LIBARCHIVE.acl"))
                        return -EPROTONOSUPPORT; /* left to libarchive */
                off += reclen;
        }
        return 0;
}

/* The numbers of a ustar header; -EPROTONOSUPPORT when it is not one this indexer reads (a bad
 * checksum, a number it cannot parse: libarchive then gives the error). */
typedef struct Header {
        char type;
        uint64_t size, mode, uid, gid, mtime;
} Header;

static int parse_header(const uint8_t h[512], Header *ret) {
        uint64_t chk;
        if (parse_number(h + 148, 8, &chk) < 0 || parse_number(h + 124, 12, &ret->size) < 0 ||
            parse_number(h + 100, 8, &ret->mode) < 0 || parse_number(h + 108, 8, &ret->uid) < 0 ||
            parse_number(h + 116, 8, &ret->gid) < 0 || parse_number(h + 136, 12, &ret->mtime) < 0)
                return -EPROTONOSUPPORT;
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += (i >= 148 && i < 156) ? ' ' : h[i];
        if (sum != chk)
                return -EPROTONOSUPPORT;
        ret->type = (char) h[156];
        return 0;
}

/* A pax ('x'), long name ('L') or long link ('K') member: what it says goes to pend, for the entry
 * that follows. */
static int read_meta(int fd, const char *tar_path, char type, uint64_t size, uint64_t data, Pending *pend) {
        if (size > 16 << 20)
                return -EPROTONOSUPPORT;
        _cleanup_free_ char *buf = xmalloc(size + 1);
        int r = pread_exact(fd, buf, size, data);
        if (r < 0)
                return log_error_errno(r, "cannot read '%s': %m", tar_path);
        buf[size] = 0;
        if (type == 'x') {
                pend->have_size = false;
                r = parse_pax(pend, buf, size);
                return r < 0 ? -EPROTONOSUPPORT : 0;
        }
        char **field = type == 'L' ? &pend->path : &pend->link;
        free(*field);
        *field = xstrdup(buf);
        return 0;
}

static int entry_type(char type, const char *name, TreeEntryType *ret) {
        switch (type) {
        case '0': case '\0': case '7': *ret = TREE_REG; break;
        case '1': *ret = TREE_HARDLINK; break;
        case '2': *ret = TREE_SYMLINK; break;
        case '3': *ret = TREE_CHR; break;
        case '4': *ret = TREE_BLK; break;
        case '5': *ret = TREE_DIR; break;
        case '6': *ret = TREE_FIFO; break;
        default: return -EPROTONOSUPPORT;
        }
        if (*ret == TREE_REG && endswith(name, "/") && type == '\0')
                *ret = TREE_DIR; /* old tars: directories as '\0' with a trailing slash */
        return 0;
}

/* The entry a header (and the pax records before it, in pend) describes; its data, if any, is
 * [data, data + size) of the tar, backing index backing. */
static int entry_from_header(const char *tar_path, const uint8_t h[512], const Header *hd, Pending *pend,
                             int backing, uint64_t data, Entry **ret) {
        _cleanup_free_ char *hname = NULL;
        if (pend->path)
                hname = TAKE_PTR(pend->path);
        else if (h[345] && memcmp(h + 257, "ustar\0", 6) == 0)
                hname = xasprintf("%.155s/%.100s", (char *) h + 345, (char *) h);
        else
                hname = xstrndup((char *) h, 100);
        _cleanup_free_ char *hlink = pend->link ? TAKE_PTR(pend->link) : xstrndup((char *) h + 157, 100);
        TreeEntryType et;
        int r = entry_type(hd->type, hname, &et);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        r = path_normalize(hname, false, &path);
        if (r < 0)
                return log_error_errno(r, "tar '%s': refusing entry '%s': %s", tar_path, hname, path_refusal(r, hname));
        _cleanup_(entry_freep) Entry *e = entry_new(path, et, (uint32_t) hd->mode);
        uint64_t euid = pend->have_uid ? pend->uid : hd->uid, egid = pend->have_gid ? pend->gid : hd->gid;
        if (!tree_id_valid(euid) || !tree_id_valid(egid))
                return log_error_errno(-ERANGE, "tar '%s': refusing entry '%s': owner %" PRIu64 ":%" PRIu64
                                       " does not fit in 32 bits", tar_path, hname, euid, egid);
        e->pub.uid = (uint32_t) euid;
        e->pub.gid = (uint32_t) egid;
        e->pub.mtime_sec = pend->have_mtime ? pend->mtime : (int64_t) hd->mtime;
        e->pub.mtime_nsec = pend->have_mtime ? pend->mtime_nsec : 0;
        uint64_t dmaj, dmin;
        if ((et == TREE_CHR || et == TREE_BLK) && parse_number(h + 329, 8, &dmaj) >= 0 &&
            parse_number(h + 337, 8, &dmin) >= 0)
                e->pub.rdev = makedev(dmaj, dmin);
        if (et == TREE_SYMLINK) {
                entry_set_link(e, hlink);
                e->pub.size = strlen(hlink);
        } else if (et == TREE_HARDLINK) {
                _cleanup_free_ char *hl = NULL;
                r = path_normalize(hlink, false, &hl);
                if (r < 0)
                        return log_error_errno(r, "tar '%s': refusing entry '%s': bad hardlink target '%s': %s",
                                               tar_path, hname, hlink, path_refusal(r, hlink));
                entry_set_link(e, hl);
        } else if (et == TREE_REG) {
                e->pub.size = hd->size;
                if (hd->size > 0) {
                        e->backing = backing;
                        e->data_offset = data;
                }
        }
        for (size_t i = 0; i < pend->n_xattrs; i++)
                entry_set_xattr(e, pend->xattrs[i].name, pend->xattrs[i].value, pend->xattrs[i].size);
        *ret = TAKE_PTR(e);
        return 0;
}

static bool all_zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static int load_indexed(const char *tar_path, Tree *t) {
        int fd = open(tar_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", tar_path);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return log_error_errno(r, "cannot stat '%s': %m", tar_path);
        }
        int backing = add_backing(t, fd);
        uint64_t file_size = (uint64_t) st.st_size, off = 0;
        _cleanup_(pending_clear) Pending pend = {};
        _cleanup_free_ char *lastname = NULL;
        for (;;) {
                uint8_t h[512];
                if (off + 512 > file_size) {
                        if (off == file_size && off > 0)
                                return 0; /* no end-of-archive blocks: accept like GNU tar does */
                        return log_error_errno(-EBADMSG, "tar '%s' is truncated or not a tar (after entry '%s')", tar_path,
                                               lastname ?: "(none)");
                }
                int r = pread_exact(fd, h, 512, off);
                if (r < 0)
                        return log_error_errno(r, "cannot read '%s': %m", tar_path);
                if (all_zero(h, 512))
                        return 0;
                Header hd;
                r = parse_header(h, &hd);
                if (r < 0)
                        return r;
                if (pend.have_size)
                        hd.size = pend.size;
                if (hd.size > file_size || off + 512 + hd.size > file_size)
                        return log_error_errno(-EBADMSG, "tar '%s' is truncated in entry '%.100s'", tar_path, (char *) h);
                uint64_t data = off + 512;
                off = data + (hd.size + 511) / 512 * 512;
                if (hd.type == 'x' || hd.type == 'L' || hd.type == 'K') {
                        r = read_meta(fd, tar_path, hd.type, hd.size, data, &pend);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (hd.type == 'g')
                        continue;
                Entry *e = NULL;
                r = entry_from_header(tar_path, h, &hd, &pend, backing, data, &e);
                if (r < 0)
                        return r;
                pending_clear(&pend);
                free(lastname);
                lastname = xstrdup(e->path);
                _cleanup_free_ char *what = xasprintf("tar '%s': entry ", tar_path);
                r = put_logged(t, e, what);
                if (r < 0)
                        return r;
        }
}

int tree_load(const char *tar_path, Tree **ret) {
        _cleanup_(tree_freep) Tree *t = tree_new();
        int r = load_indexed(tar_path, t);
        if (r == -EPROTONOSUPPORT) {
                log_debug("'%s' cannot be indexed in place, reading it through libarchive", tar_path);
                tree_free(t);
                t = tree_new();
                r = tree_add_archive(t, tar_path, "", 0);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
