#include "tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "log.h"

/* One entry: the public view first, so a TreeEntry* is an Entry*. File data lives in a backing file
 * (data_fd index) at data_offset; nothing but metadata is held in memory. */
typedef struct Entry {
        TreeEntry pub;
        char *path;
        char *link;
        TreeXattr *xattrs;
        int backing; /* index into Tree.backings, -1 = no data (empty) */
        uint64_t data_offset;
        size_t n_hardlinks; /* REG: how many TREE_HARDLINK entries point here */
        size_t idx;         /* position in Tree.entries */
        struct Entry *hnext;
} Entry;

struct Tree {
        Entry **entries; /* NULL slots are removed entries until the next sort */
        size_t n_entries, n_allocated, n_live;
        bool sorted;

        Entry **buckets;
        size_t n_buckets;

        int *backings; /* file descriptors holding data; backings[0] is the spill file once made */
        size_t n_backings;
        int spill; /* index of the spill file in backings, -1 until needed */
        uint64_t spill_end;
};

static const char *const type_names[_TREE_TYPE_MAX] = {
        [TREE_REG] = "file",   [TREE_DIR] = "directory", [TREE_SYMLINK] = "symlink",
        [TREE_HARDLINK] = "hardlink", [TREE_CHR] = "char-device", [TREE_BLK] = "block-device",
        [TREE_FIFO] = "fifo",  [TREE_SOCK] = "socket",
};

const char *tree_entry_type_to_string(TreeEntryType t) {
        return t < _TREE_TYPE_MAX ? type_names[t] : NULL;
}

static Entry *entry_free(Entry *e) {
        if (!e)
                return NULL;
        free(e->path);
        free(e->link);
        for (size_t i = 0; i < e->pub.n_xattrs; i++) {
                free(e->xattrs[i].name);
                free(e->xattrs[i].value);
        }
        free(e->xattrs);
        free(e);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Entry *, entry_free);

static Entry *entry_new(const char *path, TreeEntryType type, uint32_t mode) {
        Entry *e = xcalloc(1, sizeof(Entry));
        e->path = xstrdup(path);
        e->pub.path = e->path;
        e->pub.type = type;
        e->pub.mode = mode & 07777;
        e->backing = -1;
        return e;
}

static void entry_set_link(Entry *e, const char *link) {
        free(e->link);
        e->link = link ? xstrdup(link) : NULL;
        e->pub.link_target = e->link;
}

static int xattr_cmp(const void *a, const void *b) {
        return strcmp(((const TreeXattr *) a)->name, ((const TreeXattr *) b)->name);
}

static void entry_set_xattr(Entry *e, const char *name, const void *value, size_t size) {
        for (size_t i = 0; i < e->pub.n_xattrs; i++)
                if (streq(e->xattrs[i].name, name)) {
                        free(e->xattrs[i].value);
                        if (!value) {
                                free(e->xattrs[i].name);
                                memmove(e->xattrs + i, e->xattrs + i + 1,
                                        (e->pub.n_xattrs - i - 1) * sizeof(TreeXattr));
                                e->pub.n_xattrs--;
                                return;
                        }
                        e->xattrs[i].value = xmalloc(size);
                        memcpy(e->xattrs[i].value, value, size);
                        e->xattrs[i].size = size;
                        return;
                }
        if (!value)
                return;
        e->xattrs = xrealloc(e->xattrs, (e->pub.n_xattrs + 1) * sizeof(TreeXattr));
        TreeXattr *x = &e->xattrs[e->pub.n_xattrs++];
        x->name = xstrdup(name);
        x->value = xmalloc(size);
        memcpy(x->value, value, size);
        x->size = size;
        qsort(e->xattrs, e->pub.n_xattrs, sizeof(TreeXattr), xattr_cmp);
        e->pub.xattrs = e->xattrs;
}

static void entry_copy_xattrs(Entry *dst, const Entry *src) {
        while (dst->pub.n_xattrs > 0)
                entry_set_xattr(dst, dst->xattrs[0].name, NULL, 0);
        for (size_t i = 0; i < src->pub.n_xattrs; i++)
                entry_set_xattr(dst, src->xattrs[i].name, src->xattrs[i].value, src->xattrs[i].size);
}

/* Copies what an inode holds (not the path, type or link) from src to dst. */
static void entry_copy_inode(Entry *dst, const Entry *src) {
        dst->pub.mode = src->pub.mode;
        dst->pub.uid = src->pub.uid;
        dst->pub.gid = src->pub.gid;
        dst->pub.size = src->pub.size;
        dst->pub.mtime_sec = src->pub.mtime_sec;
        dst->pub.mtime_nsec = src->pub.mtime_nsec;
        dst->pub.rdev = src->pub.rdev;
        entry_copy_xattrs(dst, src);
}

/* ---- path normalisation ---- */

/* Makes "./a//b/./c/" into "a/b/c". Refuses ".." components, and absolute names unless allowed (the
 * library's own callers name paths in the image as "/etc/x"; archive entries must not). */
static int path_normalize(const char *in, bool allow_absolute, char **ret) {
        if (in[0] == '/' && !allow_absolute)
                return -EINVAL;
        size_t n = strlen(in);
        char *out = xmalloc(n + 1);
        size_t o = 0;
        const char *p = in;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *s = p;
                while (*p && *p != '/')
                        p++;
                size_t len = (size_t) (p - s);
                if (len == 0 || (len == 1 && s[0] == '.'))
                        continue;
                if (len == 2 && s[0] == '.' && s[1] == '.') {
                        free(out);
                        return -EINVAL;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, s, len);
                o += len;
        }
        out[o] = 0;
        *ret = out;
        return 0;
}

/* ---- the index ---- */

static uint64_t hash_path(const char *s) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return h;
}

static Entry *hash_find(const Tree *t, const char *path) {
        for (Entry *e = t->buckets[hash_path(path) % t->n_buckets]; e; e = e->hnext)
                if (streq(e->path, path))
                        return e;
        return NULL;
}

static void hash_insert(Tree *t, Entry *e) {
        if (t->n_live + 1 > t->n_buckets) {
                size_t nb = t->n_buckets * 2;
                Entry **b = xcalloc(nb, sizeof(Entry *));
                for (size_t i = 0; i < t->n_buckets; i++)
                        for (Entry *x = t->buckets[i], *next; x; x = next) {
                                next = x->hnext;
                                uint64_t h = hash_path(x->path) % nb;
                                x->hnext = b[h];
                                b[h] = x;
                        }
                free(t->buckets);
                t->buckets = b;
                t->n_buckets = nb;
        }
        uint64_t h = hash_path(e->path) % t->n_buckets;
        e->hnext = t->buckets[h];
        t->buckets[h] = e;
}

static void hash_remove(Tree *t, Entry *e) {
        for (Entry **p = &t->buckets[hash_path(e->path) % t->n_buckets]; *p; p = &(*p)->hnext)
                if (*p == e) {
                        *p = e->hnext;
                        return;
                }
}

static void tree_insert(Tree *t, Entry *e) {
        if (t->n_entries == t->n_allocated) {
                t->n_allocated = MAX(t->n_allocated * 2, (size_t) 64);
                t->entries = xrealloc(t->entries, t->n_allocated * sizeof(Entry *));
        }
        e->idx = t->n_entries;
        t->entries[t->n_entries++] = e;
        hash_insert(t, e);
        t->n_live++;
        t->sorted = false;
}

Tree *tree_new(void) {
        Tree *t = xcalloc(1, sizeof(Tree));
        t->n_buckets = 1024;
        t->buckets = xcalloc(t->n_buckets, sizeof(Entry *));
        t->spill = -1;
        Entry *root = entry_new("", TREE_DIR, 0755);
        tree_insert(t, root);
        return t;
}

Tree *tree_free(Tree *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_entries; i++)
                entry_free(t->entries[i]);
        free(t->entries);
        free(t->buckets);
        for (size_t i = 0; i < t->n_backings; i++)
                if (t->backings[i] >= 0)
                        close(t->backings[i]);
        free(t->backings);
        free(t);
        return NULL;
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp((*(Entry *const *) a)->path, (*(Entry *const *) b)->path);
}

static int add_backing(Tree *t, int fd) {
        t->backings = xrealloc(t->backings, (t->n_backings + 1) * sizeof(int));
        t->backings[t->n_backings] = fd;
        return (int) t->n_backings++;
}

/* All entries that are hardlinks to target, in no particular order. */
static size_t find_hardlinks(Tree *t, const Entry *target, Entry ***ret) {
        Entry **v = NULL;
        size_t n = 0;
        for (size_t i = 0; i < t->n_entries; i++) {
                Entry *e = t->entries[i];
                if (e && e->pub.type == TREE_HARDLINK && streq(e->link, target->path)) {
                        v = xrealloc(v, (n + 1) * sizeof(Entry *));
                        v[n++] = e;
                }
        }
        *ret = v;
        return n;
}

/* Makes hardlink hl the holder of its target's data; the old target and every other link to it become
 * hardlinks to hl. Used when the target goes away and to keep the smallest path the holder. */
static void promote_hardlink(Tree *t, Entry *target, Entry *hl) {
        _cleanup_free_ Entry **links = NULL;
        size_t n = find_hardlinks(t, target, &links);
        hl->pub.type = TREE_REG;
        entry_set_link(hl, NULL);
        entry_copy_inode(hl, target);
        hl->backing = target->backing;
        hl->data_offset = target->data_offset;
        hl->n_hardlinks = 0;
        for (size_t i = 0; i < n; i++)
                if (links[i] != hl) {
                        entry_set_link(links[i], hl->path);
                        hl->n_hardlinks++;
                }
        target->n_hardlinks = 0;
}

static void tree_sort(Tree *t) {
        if (t->sorted)
                return;
        size_t o = 0;
        for (size_t i = 0; i < t->n_entries; i++)
                if (t->entries[i])
                        t->entries[o++] = t->entries[i];
        t->n_entries = o;
        qsort(t->entries, t->n_entries, sizeof(Entry *), entry_cmp);
        for (size_t i = 0; i < t->n_entries; i++)
                t->entries[i]->idx = i;
        t->sorted = true;

        /* Canonical hardlinks: the smallest path of a group holds the data, so a tar reader always
         * meets the target before the links. */
        for (size_t i = 0; i < t->n_entries; i++) {
                Entry *e = t->entries[i];
                if (e->pub.type != TREE_HARDLINK || strcmp(e->link, e->path) < 0)
                        continue;
                Entry *target = hash_find(t, e->link);
                if (!target || target->pub.type != TREE_REG)
                        continue;
                promote_hardlink(t, target, e);
                target->pub.type = TREE_HARDLINK;
                entry_set_link(target, e->path);
                target->backing = -1;
                e->n_hardlinks++;
        }
}

/* Removes one entry (not its children). */
static void remove_one(Tree *t, Entry *e) {
        if (e->pub.type == TREE_REG && e->n_hardlinks > 0) {
                _cleanup_free_ Entry **links = NULL;
                size_t n = find_hardlinks(t, e, &links);
                Entry *best = NULL;
                for (size_t i = 0; i < n; i++)
                        if (!best || strcmp(links[i]->path, best->path) < 0)
                                best = links[i];
                if (best)
                        promote_hardlink(t, e, best);
        } else if (e->pub.type == TREE_HARDLINK) {
                Entry *target = hash_find(t, e->link);
                if (target && target->n_hardlinks > 0)
                        target->n_hardlinks--;
        }
        hash_remove(t, e);
        t->entries[e->idx] = NULL;
        t->n_live--;
        t->sorted = false;
        entry_free(e);
}

/* Index of the first sorted entry >= key. */
static size_t lower_bound(const Tree *t, const char *key) {
        size_t lo = 0, hi = t->n_entries;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (strcmp(t->entries[mid]->path, key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void remove_children(Tree *t, const char *path) {
        tree_sort(t);
        _cleanup_free_ char *prefix = path[0] ? xasprintf("%s/", path) : xstrdup("");
        size_t start = lower_bound(t, prefix), end = start;
        while (end < t->n_entries && startswith(t->entries[end]->path, prefix))
                end++;
        for (size_t i = start; i < end; i++) {
                Entry *e = t->entries[i];
                if (e && e->path[0])
                        remove_one(t, e);
        }
}

static bool has_children(Tree *t, const char *path) {
        tree_sort(t);
        _cleanup_free_ char *prefix = xasprintf("%s/", path);
        size_t i = lower_bound(t, prefix);
        return i < t->n_entries && startswith(t->entries[i]->path, prefix);
}

/* Creates missing parents of path as directories; fails when a parent is not a directory. */
static int ensure_parents(Tree *t, const char *path, int64_t mtime) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                Entry *d = hash_find(t, p);
                if (!d) {
                        d = entry_new(p, TREE_DIR, 0755);
                        d->pub.mtime_sec = mtime;
                        tree_insert(t, d);
                } else if (d->pub.type != TREE_DIR) {
                        *s = '/';
                        return -ENOTDIR;
                }
                *s = '/';
        }
        return 0;
}

/* Puts e (owned) at its path: parents made as needed, an existing entry replaced (a directory over a
 * directory only updates the metadata, like tar). */
static int tree_put(Tree *t, Entry *e_in) {
        _cleanup_(entry_freep) Entry *e = e_in;
        int r;

        if (e->path[0]) {
                r = ensure_parents(t, e->path, e->pub.mtime_sec);
                if (r < 0)
                        return r;
        }
        if (e->pub.type == TREE_HARDLINK) {
                Entry *target = hash_find(t, e->link);
                if (target && target->pub.type == TREE_HARDLINK)
                        target = hash_find(t, target->link);
                if (!target || target == hash_find(t, e->path))
                        return -ENOENT;
                if (target->pub.type == TREE_DIR)
                        return -EPERM;
                if (target->pub.type != TREE_REG) {
                        /* A hardlink to a symlink or device: a copy of that entry does the same job. */
                        e->pub.type = target->pub.type;
                        entry_set_link(e, target->link);
                } else {
                        entry_set_link(e, target->path);
                        target->n_hardlinks++;
                }
                entry_copy_inode(e, target);
        }

        Entry *old = hash_find(t, e->path);
        if (old) {
                if (old->pub.type == TREE_DIR && e->pub.type == TREE_DIR) {
                        entry_copy_inode(old, e);
                        return 0;
                }
                if (old->pub.type == TREE_DIR)
                        remove_children(t, old->path);
                if (!old->path[0])
                        return -EISDIR; /* the root stays a directory */
                /* A hardlink being replaced by a new link to the same file keeps its count right. */
                remove_one(t, old);
        }
        tree_insert(t, TAKE_PTR(e));
        return 0;
}

static int spill_fd(Tree *t) {
        if (t->spill >= 0)
                return t->backings[t->spill];
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir)
                dir = "/var/tmp";
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "failed to create a spill file in '%s': %m", dir);
        t->spill = add_backing(t, fd);
        return fd;
}

static int pwrite_all(int fd, const void *buf, size_t size, uint64_t off) {
        const char *p = buf;
        while (size > 0) {
                ssize_t n = pwrite(fd, p, size, (off_t) off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
                off += (uint64_t) n;
        }
        return 0;
}

/* Appends data to the spill file; returns the offset in *ret_off. */
static int spill_append(Tree *t, const void *data, size_t size, uint64_t *ret_off) {
        int fd = spill_fd(t);
        if (fd < 0)
                return fd;
        uint64_t off = t->spill_end;
        int r = pwrite_all(fd, data, size, off);
        if (r < 0)
                return log_error_errno(r, "failed to write the spill file: %m");
        t->spill_end += size;
        *ret_off = off;
        return 0;
}

/* ---- public lookups ---- */

const TreeEntry *tree_lookup(const Tree *t, const char *path) {
        _cleanup_free_ char *p = NULL;
        if (path_normalize(path, true, &p) < 0)
                return NULL;
        tree_sort((Tree *) t); /* hardlinks in canonical form */
        Entry *e = hash_find(t, p);
        return e ? &e->pub : NULL;
}

ssize_t tree_lookup_index(const Tree *t, const char *path) {
        _cleanup_free_ char *p = NULL;
        if (path_normalize(path, true, &p) < 0)
                return -EINVAL;
        tree_sort((Tree *) t);
        Entry *e = hash_find(t, p);
        return e ? (ssize_t) e->idx : -ENOENT;
}

size_t tree_size(const Tree *t) {
        return t->n_live;
}

const TreeEntry *tree_entry(const Tree *t, size_t i) {
        tree_sort((Tree *) t);
        return i < t->n_entries ? &t->entries[i]->pub : NULL;
}

ssize_t tree_read(const Tree *t, const TreeEntry *pe, uint64_t offset, void *buf, size_t size) {
        const Entry *e = (const Entry *) pe;
        if (e->pub.type == TREE_HARDLINK) {
                e = hash_find(t, e->link);
                if (!e)
                        return -ENOENT;
        }
        if (e->pub.type != TREE_REG)
                return -EINVAL;
        if (offset >= e->pub.size)
                return 0;
        size = (size_t) MIN((uint64_t) size, e->pub.size - offset);
        if (e->backing < 0) {
                memset(buf, 0, size);
                return (ssize_t) size;
        }
        int fd = t->backings[e->backing];
        size_t done = 0;
        while (done < size) {
                ssize_t n = pread(fd, (char *) buf + done, size - done,
                                  (off_t) (e->data_offset + offset + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0) { /* beyond the end of a spill file's trailing hole */
                        memset((char *) buf + done, 0, size - done);
                        break;
                }
                done += (size_t) n;
        }
        return (ssize_t) size;
}

uint64_t tree_data_bytes(const Tree *t, const char *prefix) {
        _cleanup_free_ char *p = NULL;
        if (path_normalize(prefix ? prefix : "", true, &p) < 0)
                return 0;
        size_t plen = strlen(p);
        uint64_t sum = 0;
        for (size_t i = 0; i < t->n_entries; i++) {
                const Entry *e = t->entries[i];
                if (!e || e->pub.type != TREE_REG)
                        continue;
                if (plen > 0 && !(startswith(e->path, p) && (e->path[plen] == '/' || e->path[plen] == 0)))
                        continue;
                sum += e->pub.size;
        }
        return sum;
}

int tree_clamp_times(Tree *t, int64_t epoch) {
        for (size_t i = 0; i < t->n_entries; i++) {
                Entry *e = t->entries[i];
                if (e && e->pub.mtime_sec >= epoch && (e->pub.mtime_sec > epoch || e->pub.mtime_nsec > 0)) {
                        e->pub.mtime_sec = epoch;
                        e->pub.mtime_nsec = 0;
                }
        }
        return 0;
}

/* ---- edits ---- */

static int normalize_arg(const char *path, char **ret) {
        int r = path_normalize(path, true, ret);
        if (r < 0)
                return log_error_errno(r, "invalid path '%s' in the image: '..' is not allowed", path);
        return 0;
}

static int put_logged(Tree *t, Entry *e, const char *what) {
        _cleanup_free_ char *path = xstrdup(e->path);
        int r = tree_put(t, e);
        if (r == -ENOTDIR)
                return log_error_errno(r, "%s'%s': a parent is not a directory in the image", what, path);
        if (r == -ENOENT)
                return log_error_errno(r, "%s'%s': hardlink target does not exist", what, path);
        if (r == -EISDIR)
                return log_error_errno(r, "%s'%s': the root can only be a directory", what, path);
        if (r < 0)
                return log_error_errno(r, "%s'%s': %m", what, path);
        return 0;
}

int tree_add_file(Tree *t, const char *path, const void *data, size_t size, uint32_t mode, uint32_t uid,
                  uint32_t gid, int64_t mtime) {
        _cleanup_free_ char *p = NULL;
        int r = normalize_arg(path, &p);
        if (r < 0)
                return r;
        _cleanup_(entry_freep) Entry *e = entry_new(p, TREE_REG, mode);
        e->pub.uid = uid;
        e->pub.gid = gid;
        e->pub.mtime_sec = mtime;
        e->pub.size = size;
        if (size > 0) {
                r = spill_append(t, data, size, &e->data_offset);
                if (r < 0)
                        return r;
                e->backing = t->spill;
        }
        return put_logged(t, TAKE_PTR(e), "cannot add file ");
}

int tree_add_dir(Tree *t, const char *path, uint32_t mode, uint32_t uid, uint32_t gid, int64_t mtime) {
        _cleanup_free_ char *p = NULL;
        int r = normalize_arg(path, &p);
        if (r < 0)
                return r;
        Entry *e = entry_new(p, TREE_DIR, mode);
        e->pub.uid = uid;
        e->pub.gid = gid;
        e->pub.mtime_sec = mtime;
        return put_logged(t, e, "cannot add directory ");
}

int tree_add_symlink(Tree *t, const char *path, const char *target, uint32_t uid, uint32_t gid,
                     int64_t mtime) {
        _cleanup_free_ char *p = NULL;
        int r = normalize_arg(path, &p);
        if (r < 0)
                return r;
        Entry *e = entry_new(p, TREE_SYMLINK, 0777);
        entry_set_link(e, target);
        e->pub.uid = uid;
        e->pub.gid = gid;
        e->pub.mtime_sec = mtime;
        e->pub.size = strlen(target);
        return put_logged(t, e, "cannot add symlink ");
}

int tree_add_entry(Tree *t, const TreeEntry *pe, TreeDataFn data, void *userdata) {
        _cleanup_free_ char *p = NULL;
        int r = normalize_arg(pe->path, &p);
        if (r < 0)
                return r;
        if (pe->type >= _TREE_TYPE_MAX)
                return -EINVAL;
        _cleanup_(entry_freep) Entry *e = entry_new(p, pe->type, pe->mode);
        e->pub.uid = pe->uid;
        e->pub.gid = pe->gid;
        e->pub.mtime_sec = pe->mtime_sec;
        e->pub.mtime_nsec = pe->mtime_nsec;
        if (pe->type == TREE_CHR || pe->type == TREE_BLK)
                e->pub.rdev = pe->rdev;
        if (pe->type == TREE_SYMLINK || pe->type == TREE_HARDLINK) {
                if (!pe->link_target)
                        return -EINVAL;
                if (pe->type == TREE_HARDLINK) {
                        _cleanup_free_ char *hl = NULL;
                        r = normalize_arg(pe->link_target, &hl);
                        if (r < 0)
                                return r;
                        entry_set_link(e, hl);
                } else {
                        entry_set_link(e, pe->link_target);
                        e->pub.size = strlen(pe->link_target);
                }
        }
        for (size_t i = 0; i < pe->n_xattrs; i++)
                entry_set_xattr(e, pe->xattrs[i].name, pe->xattrs[i].value, pe->xattrs[i].size);
        if (pe->type == TREE_REG && pe->size > 0) {
                int fd = spill_fd(t);
                if (fd < 0)
                        return fd;
                uint64_t base = t->spill_end, done = 0;
                _cleanup_free_ char *buf = data ? xmalloc(1 << 20) : NULL;
                while (data && done < pe->size) {
                        ssize_t n = data(userdata, done, buf, (size_t) MIN(pe->size - done, (uint64_t) 1 << 20));
                        if (n < 0)
                                return (int) n;
                        if (n == 0)
                                return log_error_errno(-EIO, "cannot add file '%s': data ends at %" PRIu64 " of %" PRIu64 " bytes",
                                                       pe->path, done, pe->size);
                        r = pwrite_all(fd, buf, (size_t) n, base + done);
                        if (r < 0)
                                return log_error_errno(r, "failed to write the spill file: %m");
                        done += (uint64_t) n;
                }
                /* Without data the file reads as zeros: the spill file's hole past its end. */
                e->pub.size = pe->size;
                e->backing = t->spill;
                e->data_offset = base;
                t->spill_end = base + pe->size;
                if (!data && ftruncate(fd, (off_t) t->spill_end) < 0)
                        return log_error_errno(-errno, "failed to extend the spill file: %m");
        }
        return put_logged(t, TAKE_PTR(e), "cannot add ");
}

int tree_set_xattr(Tree *t, const char *path, const char *name, const void *value, size_t size) {
        _cleanup_free_ char *p = NULL;
        int r = normalize_arg(path, &p);
        if (r < 0)
                return r;
        Entry *e = hash_find(t, p);
        if (e && e->pub.type == TREE_HARDLINK)
                e = hash_find(t, e->link);
        if (!e)
                return log_error_errno(-ENOENT, "cannot set xattr on '%s': no such entry", path);
        entry_set_xattr(e, name, value, size);
        return 0;
}

int tree_remove(Tree *t, const char *path, bool recursive) {
        _cleanup_free_ char *p = NULL;
        int r = path_normalize(path, true, &p);
        if (r < 0)
                return r;
        Entry *e = hash_find(t, p);
        if (!e)
                return -ENOENT;
        if (e->pub.type == TREE_DIR && has_children(t, p)) {
                if (!recursive)
                        return -ENOTEMPTY;
                remove_children(t, p);
        }
        if (!p[0])
                return 0; /* the root itself stays */
        remove_one(t, e);
        return 0;
}

int tree_set_mode(Tree *t, const char *path, uint32_t mode) {
        _cleanup_free_ char *p = NULL;
        int r = path_normalize(path, true, &p);
        if (r < 0)
                return r;
        Entry *e = hash_find(t, p);
        if (e && e->pub.type == TREE_HARDLINK)
                e = hash_find(t, e->link);
        if (!e)
                return -ENOENT;
        e->pub.mode = mode & 07777;
        return 0;
}

int tree_truncate(Tree *t, const char *path) {
        _cleanup_free_ char *p = NULL;
        int r = path_normalize(path, true, &p);
        if (r < 0)
                return r;
        Entry *e = hash_find(t, p);
        if (e && e->pub.type == TREE_HARDLINK)
                e = hash_find(t, e->link);
        if (!e)
                return -ENOENT;
        if (e->pub.type != TREE_REG)
                return -EINVAL;
        e->pub.size = 0;
        e->backing = -1;
        /* Hardlinks report the target's size. */
        for (size_t i = 0; e->n_hardlinks > 0 && i < t->n_entries; i++) {
                Entry *x = t->entries[i];
                if (x && x->pub.type == TREE_HARDLINK && streq(x->link, e->path))
                        x->pub.size = 0;
        }
        return 0;
}

/* ---- copy from the host ---- */

static int copy_fd_to_spill(Tree *t, int fd, const char *host_path, uint64_t size, uint64_t *ret_off) {
        int sfd = spill_fd(t);
        if (sfd < 0)
                return sfd;
        uint64_t off = t->spill_end, done = 0;
        while (done < size) {
                loff_t in = (loff_t) done, out = (loff_t) (off + done);
                ssize_t n = copy_file_range(fd, &in, sfd, &out, (size_t) MIN(size - done, (uint64_t) 1 << 30), 0);
                if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
                        char buf[65536];
                        n = pread(fd, buf, (size_t) MIN(size - done, sizeof(buf)), (off_t) done);
                        if (n > 0) {
                                int r = pwrite_all(sfd, buf, (size_t) n, off + done);
                                if (r < 0)
                                        return log_error_errno(r, "failed to write the spill file: %m");
                        }
                }
                if (n < 0)
                        return log_error_errno(-errno, "failed to read '%s': %m", host_path);
                if (n == 0)
                        return log_error_errno(-EIO, "file '%s' shrank while being copied", host_path);
                done += (uint64_t) n;
        }
        t->spill_end += size;
        *ret_off = off;
        return 0;
}

static int add_host_one(Tree *t, int at_fd, const char *name, const char *host_path, const char *dest,
                        int uid, int gid, bool top) {
        struct stat st;
        if (fstatat(at_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(-errno, "cannot read '%s': %m", host_path);
        TreeEntryType type;
        switch (st.st_mode & S_IFMT) {
        case S_IFREG: type = TREE_REG; break;
        case S_IFDIR: type = TREE_DIR; break;
        case S_IFLNK: type = TREE_SYMLINK; break;
        case S_IFCHR: type = TREE_CHR; break;
        case S_IFBLK: type = TREE_BLK; break;
        case S_IFIFO: type = TREE_FIFO; break;
        default:
                log_warning("skipping '%s': sockets are not copied", host_path);
                return 0;
        }
        _cleanup_(entry_freep) Entry *e = entry_new(dest, type, st.st_mode);
        e->pub.uid = uid >= 0 ? (uint32_t) uid : st.st_uid;
        e->pub.gid = gid >= 0 ? (uint32_t) gid : st.st_gid;
        e->pub.mtime_sec = st.st_mtim.tv_sec;
        e->pub.mtime_nsec = (uint32_t) st.st_mtim.tv_nsec;
        e->pub.rdev = st.st_rdev;
        int r;
        if (type == TREE_SYMLINK) {
                char buf[PATH_MAX + 1];
                ssize_t n = readlinkat(at_fd, name, buf, PATH_MAX);
                if (n < 0)
                        return log_error_errno(-errno, "cannot read link '%s': %m", host_path);
                buf[n] = 0;
                entry_set_link(e, buf);
                e->pub.size = (uint64_t) n;
        } else if (type == TREE_REG) {
                _cleanup_close_ int fd = openat(at_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return log_error_errno(-errno, "cannot open '%s': %m", host_path);
                e->pub.size = (uint64_t) st.st_size;
                if (st.st_size > 0) {
                        r = copy_fd_to_spill(t, fd, host_path, (uint64_t) st.st_size, &e->data_offset);
                        if (r < 0)
                                return r;
                        e->backing = t->spill;
                }
        }
        if (type == TREE_DIR) {
                /* Existing directories keep their metadata: copying an overlay onto "/" must not
                 * change the root's mode to the overlay directory's. */
                Entry *old = hash_find(t, dest);
                if (!old || old->pub.type != TREE_DIR || (top && !dest[0])) {
                        if (!old || old->pub.type != TREE_DIR) {
                                r = put_logged(t, TAKE_PTR(e), "cannot copy to ");
                                if (r < 0)
                                        return r;
                        }
                }
                _cleanup_close_ int dfd = openat(at_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (dfd < 0)
                        return log_error_errno(-errno, "cannot open directory '%s': %m", host_path);
                DIR *d = fdopendir(dfd);
                if (!d)
                        return log_error_errno(-errno, "cannot open directory '%s': %m", host_path);
                TAKE_FD(dfd);
                struct dirent *de;
                r = 0;
                while ((de = readdir(d))) {
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        _cleanup_free_ char *hp = path_join(host_path, de->d_name);
                        _cleanup_free_ char *dp = dest[0] ? path_join(dest, de->d_name) : xstrdup(de->d_name);
                        r = add_host_one(t, dirfd(d), de->d_name, hp, dp, uid, gid, false);
                        if (r < 0)
                                break;
                }
                closedir(d);
                return r;
        }
        return put_logged(t, TAKE_PTR(e), "cannot copy to ");
}

int tree_add_host_path(Tree *t, const char *host_path, const char *dest, int uid, int gid) {
        _cleanup_free_ char *d = NULL;
        int r = normalize_arg(dest ? dest : "", &d);
        if (r < 0)
                return r;
        struct stat st;
        if (stat(host_path, &st) < 0)
                return log_error_errno(-errno, "cannot copy '%s': %m", host_path);
        if (!S_ISDIR(st.st_mode)) {
                Entry *de = hash_find(t, d);
                if (de && de->pub.type == TREE_DIR) {
                        const char *base = strrchr(host_path, '/');
                        base = base ? base + 1 : host_path;
                        char *n = d[0] ? path_join(d, base) : xstrdup(base);
                        free(d);
                        d = n;
                }
        }
        return add_host_one(t, AT_FDCWD, host_path, host_path, d, uid, gid, true);
}

/* ---- reading archives through libarchive ---- */

/* POSIX ACLs as libarchive reports them, turned into the system.posix_acl_* xattr value the kernel
 * and libext2fs take (version 2, entries sorted by tag then id). */
static void acl_to_xattr(struct archive_entry *ae, int type, Entry *e, const char *xname) {
        int n = archive_entry_acl_reset(ae, type);
        if (n <= 0)
                return;
        struct { uint16_t tag, perm; uint32_t id; } *v = xcalloc((size_t) n, 8);
        size_t k = 0;
        bool extended = false;
        int atype, perm, tag, qual;
        const char *name;
        while (k < (size_t) n && archive_entry_acl_next(ae, type, &atype, &perm, &tag, &qual, &name) == ARCHIVE_OK) {
                uint16_t t;
                switch (tag) {
                case ARCHIVE_ENTRY_ACL_USER_OBJ: t = 0x01; break;
                case ARCHIVE_ENTRY_ACL_USER: t = 0x02; extended = true; break;
                case ARCHIVE_ENTRY_ACL_GROUP_OBJ: t = 0x04; break;
                case ARCHIVE_ENTRY_ACL_GROUP: t = 0x08; extended = true; break;
                case ARCHIVE_ENTRY_ACL_MASK: t = 0x10; extended = true; break;
                case ARCHIVE_ENTRY_ACL_OTHER: t = 0x20; break;
                default: continue;
                }
                v[k].tag = t;
                v[k].perm = (uint16_t) (perm & 7);
                v[k].id = (t == 0x02 || t == 0x08) ? (uint32_t) qual : UINT32_MAX;
                k++;
        }
        if (k > 0 && (extended || type == ARCHIVE_ENTRY_ACL_TYPE_DEFAULT)) {
                /* insertion sort: ACLs are short */
                for (size_t i = 1; i < k; i++)
                        for (size_t j = i; j > 0 && (v[j - 1].tag > v[j].tag ||
                                                     (v[j - 1].tag == v[j].tag && v[j - 1].id > v[j].id)); j--) {
                                typeof(v[0]) tmp = v[j];
                                v[j] = v[j - 1];
                                v[j - 1] = tmp;
                        }
                size_t sz = 4 + 8 * k;
                uint8_t *buf = xmalloc(sz);
                uint32_t ver = 2;
                memcpy(buf, &ver, 4); /* little-endian hosts only, like the kernel ABI here */
                for (size_t i = 0; i < k; i++) {
                        memcpy(buf + 4 + 8 * i, &v[i].tag, 2);
                        memcpy(buf + 6 + 8 * i, &v[i].perm, 2);
                        memcpy(buf + 8 + 8 * i, &v[i].id, 4);
                }
                entry_set_xattr(e, xname, buf, sz);
                free(buf);
        }
        free(v);
}

static int entry_from_archive(Tree *t, struct archive *a, struct archive_entry *ae, const char *archive_path,
                              const char *dest, Entry **ret) {
        const char *name = archive_entry_pathname(ae);
        if (!name)
                return log_error_errno(-EBADMSG, "archive '%s': an entry has no name", archive_path);
        _cleanup_free_ char *rel = NULL;
        int r = path_normalize(name, false, &rel);
        if (r < 0)
                return log_error_errno(-EINVAL, "archive '%s': refusing entry '%s': %s", archive_path, name,
                                       name[0] == '/' ? "absolute names are not allowed" : "'..' components are not allowed");
        _cleanup_free_ char *path = dest[0] ? (rel[0] ? path_join(dest, rel) : xstrdup(dest)) : TAKE_PTR(rel);

        const char *hardlink = archive_entry_hardlink(ae);
        TreeEntryType type;
        if (hardlink)
                type = TREE_HARDLINK;
        else
                switch (archive_entry_filetype(ae)) {
                case AE_IFREG: type = TREE_REG; break;
                case AE_IFDIR: type = TREE_DIR; break;
                case AE_IFLNK: type = TREE_SYMLINK; break;
                case AE_IFCHR: type = TREE_CHR; break;
                case AE_IFBLK: type = TREE_BLK; break;
                case AE_IFIFO: type = TREE_FIFO; break;
                case AE_IFSOCK: type = TREE_SOCK; break;
                default:
                        return log_error_errno(-EBADMSG, "archive '%s': entry '%s' has an unknown file type",
                                               archive_path, name);
                }
        _cleanup_(entry_freep) Entry *e = entry_new(path, type, (uint32_t) archive_entry_perm(ae));
        e->pub.uid = (uint32_t) archive_entry_uid(ae);
        e->pub.gid = (uint32_t) archive_entry_gid(ae);
        e->pub.mtime_sec = archive_entry_mtime(ae);
        e->pub.mtime_nsec = (uint32_t) archive_entry_mtime_nsec(ae);
        if (type == TREE_CHR || type == TREE_BLK)
                e->pub.rdev = makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae));
        if (type == TREE_HARDLINK) {
                _cleanup_free_ char *hl = NULL;
                if (path_normalize(hardlink, false, &hl) < 0)
                        return log_error_errno(-EINVAL, "archive '%s': refusing entry '%s': bad hardlink target '%s'",
                                               archive_path, name, hardlink);
                char *full = dest[0] ? path_join(dest, hl) : TAKE_PTR(hl);
                entry_set_link(e, full);
                free(full);
        }
        if (type == TREE_SYMLINK) {
                const char *target = archive_entry_symlink(ae);
                if (!target)
                        return log_error_errno(-EBADMSG, "archive '%s': symlink '%s' has no target", archive_path, name);
                entry_set_link(e, target);
                e->pub.size = strlen(target);
        }

        const char *xn;
        const void *xv;
        size_t xs;
        archive_entry_xattr_reset(ae);
        while (archive_entry_xattr_next(ae, &xn, &xv, &xs) == ARCHIVE_OK)
                entry_set_xattr(e, xn, xv, xs);
        acl_to_xattr(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, e, "system.posix_acl_access");
        if (type == TREE_DIR)
                acl_to_xattr(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, e, "system.posix_acl_default");

        if (type == TREE_REG) {
                int fd = spill_fd(t);
                if (fd < 0)
                        return fd;
                uint64_t base = t->spill_end, size = (uint64_t) archive_entry_size(ae);
                const void *buf;
                size_t len;
                la_int64_t off;
                for (;;) {
                        r = archive_read_data_block(a, &buf, &len, &off);
                        if (r == ARCHIVE_EOF)
                                break;
                        if (r < ARCHIVE_WARN)
                                return log_error_errno(-EBADMSG, "archive '%s': entry '%s': %s", archive_path, name,
                                                       archive_error_string(a) ?: "read error");
                        if (off < 0 || (uint64_t) off + len > size)
                                return log_error_errno(-EBADMSG, "archive '%s': entry '%s': data beyond its size",
                                                       archive_path, name);
                        r = pwrite_all(fd, buf, len, base + (uint64_t) off);
                        if (r < 0)
                                return log_error_errno(r, "failed to write the spill file: %m");
                }
                e->pub.size = size;
                e->data_offset = base;
                e->backing = t->spill;
                t->spill_end = base + size;
        }
        *ret = TAKE_PTR(e);
        return 0;
}

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

int tree_add_archive(Tree *t, const char *archive_path, const char *dest_dir) {
        _cleanup_free_ char *dest = NULL;
        int r = normalize_arg(dest_dir ? dest_dir : "", &dest);
        if (r < 0)
                return r;
        _cleanup_(archive_freep) struct archive *a = archive_read_new();
        archive_read_support_filter_all(a);
        archive_read_support_format_all(a);
        if (archive_read_open_filename(a, archive_path, 1 << 20) != ARCHIVE_OK)
                return log_error_errno(-EBADMSG, "cannot read archive '%s': %s", archive_path,
                                       archive_error_string(a) ?: "unknown error");
        _cleanup_free_ char *last = NULL;
        for (;;) {
                struct archive_entry *ae;
                r = archive_read_next_header(a, &ae);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        if (last)
                                return log_error_errno(-EBADMSG, "archive '%s' is corrupt or truncated after entry '%s': %s",
                                                       archive_path, last, archive_error_string(a) ?: "read error");
                        return log_error_errno(-EBADMSG, "archive '%s' is corrupt or not an archive: %s", archive_path,
                                               archive_error_string(a) ?: "read error");
                }
                if (r == ARCHIVE_WARN)
                        log_debug("archive '%s': %s", archive_path, archive_error_string(a));
                if (!archive_entry_pathname(ae)) /* a garbled header: say where the damage starts */
                        return log_error_errno(-EBADMSG, "archive '%s' is corrupt after entry '%s': an entry has no name",
                                               archive_path, last ?: "(none)");
                Entry *e = NULL;
                r = entry_from_archive(t, a, ae, archive_path, dest, &e);
                if (r < 0)
                        return r;
                free(last);
                last = xstrdup(archive_entry_pathname(ae));
                _cleanup_free_ char *what = xasprintf("archive '%s': entry ", archive_path);
                r = put_logged(t, e, what);
                if (r < 0)
                        return r;
        }
        return 0;
}

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

static bool octal_fits(uint64_t v, size_t field) {
        /* field - 1 octal digits and a NUL */
        return (field - 1) * 3 >= 64 || v < ((uint64_t) 1 << ((field - 1) * 3));
}

static void put_octal(char *f, size_t field, uint64_t v) {
        snprintf(f, field, "%0*" PRIo64, (int) field - 1, octal_fits(v, field) ? v : 0);
}

static void header_checksum(uint8_t h[512]) {
        memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (int i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
        h[155] = ' ';
}

static void make_header(uint8_t h[512], const char *name, char type, uint32_t mode, uint32_t uid, uint32_t gid,
                        uint64_t size, int64_t mtime, const char *link, uint64_t rdev) {
        memset(h, 0, 512);
        strncpy((char *) h, name, 100);
        put_octal((char *) h + 100, 8, mode);
        put_octal((char *) h + 108, 8, uid);
        put_octal((char *) h + 116, 8, gid);
        put_octal((char *) h + 124, 12, size);
        put_octal((char *) h + 136, 12, mtime < 0 ? 0 : (uint64_t) mtime);
        h[156] = (uint8_t) type;
        if (link)
                strncpy((char *) h + 157, link, 100);
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        put_octal((char *) h + 329, 8, major(rdev));
        put_octal((char *) h + 337, 8, minor(rdev));
        header_checksum(h);
}

static int write_padded(int fd, const void *data, size_t len) {
        static const uint8_t zeros[512];
        int r = write_all(fd, data, len);
        if (r < 0 || len % 512 == 0)
                return r;
        return write_all(fd, zeros, 512 - len % 512);
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

        Pax pax = {};
        if (strlen(name) > 100)
                pax_add(&pax, "path", name, strlen(name));
        if (link && strlen(link) > 100)
                pax_add(&pax, "linkpath", link, strlen(link));
        if (!octal_fits(size, 12)) {
                char v[32];
                pax_add(&pax, "size", v, (size_t) sprintf(v, "%" PRIu64, size));
        }
        if (!octal_fits(p->uid, 8)) {
                char v[32];
                pax_add(&pax, "uid", v, (size_t) sprintf(v, "%" PRIu32, p->uid));
        }
        if (!octal_fits(p->gid, 8)) {
                char v[32];
                pax_add(&pax, "gid", v, (size_t) sprintf(v, "%" PRIu32, p->gid));
        }
        if (nsec > 0 || mtime < 0 || !octal_fits((uint64_t) mtime, 12)) {
                char v[64];
                int n = nsec > 0 ? sprintf(v, "%" PRId64 ".%09" PRIu32, mtime, nsec) : sprintf(v, "%" PRId64, mtime);
                pax_add(&pax, "mtime", v, (size_t) n);
        }
        if (p->type != TREE_HARDLINK)
                for (size_t i = 0; i < p->n_xattrs; i++) {
                        _cleanup_free_ char *k = xasprintf("SCHILY.xattr.%s", p->xattrs[i].name);
                        pax_add(&pax, k, p->xattrs[i].value, p->xattrs[i].size);
                }
        uint8_t h[512];
        int r;
        if (pax.len > 0) {
                const char *base = strrchr(p->path, '/');
                base = base ? base + 1 : p->path;
                _cleanup_free_ char *pname = xasprintf("PaxHeaders/%.80s", base);
                make_header(h, pname, 'x', 0644, 0, 0, pax.len, mtime, NULL, 0);
                r = write_all(fd, h, 512);
                if (r >= 0)
                        r = write_padded(fd, pax.buf, pax.len);
                free(pax.buf);
                if (r < 0)
                        return r;
        }
        make_header(h, name, typeflags[p->type], p->mode, p->uid, p->gid, size, mtime, link,
                    (p->type == TREE_CHR || p->type == TREE_BLK) ? p->rdev : 0);
        r = write_all(fd, h, 512);
        if (r < 0 || size == 0)
                return r;

        /* File data: copy_file_range between the backing file and the output (reflinks where the
         * filesystem can), plain reads otherwise. */
        uint64_t done = 0;
        if (e->backing >= 0) {
                int in = t->backings[e->backing];
                while (done < size) {
                        loff_t ioff = (loff_t) (e->data_offset + done);
                        ssize_t n = copy_file_range(in, &ioff, fd, NULL, (size_t) MIN(size - done, (uint64_t) 1 << 30), 0);
                        if (n <= 0)
                                break;
                        done += (uint64_t) n;
                }
        }
        _cleanup_free_ char *buf = NULL;
        while (done < size) {
                if (!buf)
                        buf = xmalloc(1 << 20);
                ssize_t n = tree_read(t, p, done, buf, (size_t) MIN(size - done, (uint64_t) 1 << 20));
                if (n <= 0)
                        return n < 0 ? (int) n : -EIO;
                r = write_all(fd, buf, (size_t) n);
                if (r < 0)
                        return r;
                done += (uint64_t) n;
        }
        if (size % 512) {
                static const uint8_t zeros[512];
                r = write_all(fd, zeros, 512 - size % 512);
        }
        return r;
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

static int pread_exact(int fd, void *buf, size_t size, uint64_t off) {
        size_t done = 0;
        while (done < size) {
                ssize_t n = pread(fd, (char *) buf + done, size - done, (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EPIPE;
                done += (size_t) n;
        }
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

static int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len) {
        uint8_t *out = xmalloc(len * 3 / 4 + 3);
        size_t o = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < len; i++) {
                char c = in[i];
                int v;
                if (c >= 'A' && c <= 'Z') v = c - 'A';
                else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
                else if (c >= '0' && c <= '9') v = c - '0' + 52;
                else if (c == '+') v = 62;
                else if (c == '/') v = 63;
                else if (c == '=') break;
                else { free(out); return -EBADMSG; }
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[o++] = (uint8_t) (acc >> bits);
                }
        }
        *ret = out;
        *ret_len = o;
        return 0;
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
                _cleanup_free_ char *key = xstrndup(kv, klen);
                _cleanup_free_ char *val = xstrndup(v, vlen);
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
                bool zero = true;
                for (int i = 0; i < 512 && zero; i++)
                        zero = h[i] == 0;
                if (zero)
                        return 0;
                uint64_t chk, size, mode, uid, gid, mtime, dmaj, dmin;
                if (parse_number(h + 148, 8, &chk) < 0 || parse_number(h + 124, 12, &size) < 0 ||
                    parse_number(h + 100, 8, &mode) < 0 || parse_number(h + 108, 8, &uid) < 0 ||
                    parse_number(h + 116, 8, &gid) < 0 || parse_number(h + 136, 12, &mtime) < 0)
                        return -EPROTONOSUPPORT;
                unsigned sum = 0;
                for (int i = 0; i < 512; i++)
                        sum += (i >= 148 && i < 156) ? ' ' : h[i];
                if (sum != chk)
                        return -EPROTONOSUPPORT; /* not a tar we index; libarchive gives the error */
                char type = (char) h[156];
                if (pend.have_size)
                        size = pend.size;
                if (size > file_size || off + 512 + size > file_size)
                        return log_error_errno(-EBADMSG, "tar '%s' is truncated in entry '%.100s'", tar_path, (char *) h);
                uint64_t data = off + 512;
                off = data + (size + 511) / 512 * 512;

                if (type == 'x' || type == 'L' || type == 'K') {
                        if (size > 16 << 20)
                                return -EPROTONOSUPPORT;
                        _cleanup_free_ char *buf = xmalloc(size + 1);
                        r = pread_exact(fd, buf, size, data);
                        if (r < 0)
                                return log_error_errno(r, "cannot read '%s': %m", tar_path);
                        buf[size] = 0;
                        if (type == 'x') {
                                pend.have_size = false;
                                r = parse_pax(&pend, buf, size);
                                if (r < 0)
                                        return r == -EPROTONOSUPPORT ? r : -EPROTONOSUPPORT;
                        } else if (type == 'L') {
                                free(pend.path);
                                pend.path = xstrdup(buf);
                        } else {
                                free(pend.link);
                                pend.link = xstrdup(buf);
                        }
                        continue;
                }
                if (type == 'g')
                        continue;
                bool ustar = memcmp(h + 257, "ustar", 5) == 0;
                _cleanup_free_ char *hname = NULL;
                if (pend.path)
                        hname = TAKE_PTR(pend.path);
                else if (ustar && h[345] && memcmp(h + 257, "ustar\0", 6) == 0)
                        hname = xasprintf("%.155s/%.100s", (char *) h + 345, (char *) h);
                else
                        hname = xstrndup((char *) h, 100);
                _cleanup_free_ char *hlink = pend.link ? TAKE_PTR(pend.link) : xstrndup((char *) h + 157, 100);

                TreeEntryType et;
                switch (type) {
                case '0': case '\0': case '7': et = TREE_REG; break;
                case '1': et = TREE_HARDLINK; break;
                case '2': et = TREE_SYMLINK; break;
                case '3': et = TREE_CHR; break;
                case '4': et = TREE_BLK; break;
                case '5': et = TREE_DIR; break;
                case '6': et = TREE_FIFO; break;
                default: return -EPROTONOSUPPORT;
                }
                if (et == TREE_REG && endswith(hname, "/") && (type == '\0'))
                        et = TREE_DIR; /* old tars: directories as '\0' with a trailing slash */
                _cleanup_free_ char *path = NULL;
                if (path_normalize(hname, false, &path) < 0)
                        return log_error_errno(-EINVAL, "tar '%s': refusing entry '%s': %s", tar_path, hname,
                                               hname[0] == '/' ? "absolute names are not allowed" : "'..' components are not allowed");
                _cleanup_(entry_freep) Entry *e = entry_new(path, et, (uint32_t) mode);
                e->pub.uid = (uint32_t) (pend.have_uid ? pend.uid : uid);
                e->pub.gid = (uint32_t) (pend.have_gid ? pend.gid : gid);
                e->pub.mtime_sec = pend.have_mtime ? pend.mtime : (int64_t) mtime;
                e->pub.mtime_nsec = pend.have_mtime ? pend.mtime_nsec : 0;
                if ((et == TREE_CHR || et == TREE_BLK) && parse_number(h + 329, 8, &dmaj) >= 0 &&
                    parse_number(h + 337, 8, &dmin) >= 0)
                        e->pub.rdev = makedev(dmaj, dmin);
                if (et == TREE_SYMLINK) {
                        entry_set_link(e, hlink);
                        e->pub.size = strlen(hlink);
                } else if (et == TREE_HARDLINK) {
                        _cleanup_free_ char *hl = NULL;
                        if (path_normalize(hlink, false, &hl) < 0)
                                return log_error_errno(-EINVAL, "tar '%s': refusing entry '%s': bad hardlink target '%s'",
                                                       tar_path, hname, hlink);
                        entry_set_link(e, hl);
                } else if (et == TREE_REG) {
                        e->pub.size = size;
                        if (size > 0) {
                                e->backing = backing;
                                e->data_offset = data;
                        }
                }
                for (size_t i = 0; i < pend.n_xattrs; i++)
                        entry_set_xattr(e, pend.xattrs[i].name, pend.xattrs[i].value, pend.xattrs[i].size);
                pending_clear(&pend);
                free(lastname);
                lastname = xstrdup(path);
                _cleanup_free_ char *what = xasprintf("tar '%s': entry ", tar_path);
                r = put_logged(t, TAKE_PTR(e), what);
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
                r = tree_add_archive(t, tar_path, "");
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}
