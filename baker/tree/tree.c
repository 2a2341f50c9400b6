#include "tree.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sys/stat.h>

#include "log.h"
#include "sparse.h"
#include "tree-internal.h"

static const char *const type_names[_TREE_TYPE_MAX] = {
        [TREE_REG] = "file",   [TREE_DIR] = "directory", [TREE_SYMLINK] = "symlink",
        [TREE_HARDLINK] = "hardlink", [TREE_CHR] = "char-device", [TREE_BLK] = "block-device",
        [TREE_FIFO] = "fifo",  [TREE_SOCK] = "socket",
};

const char *tree_entry_type_to_string(TreeEntryType t) {
        return t < _TREE_TYPE_MAX ? type_names[t] : NULL;
}

Entry *entry_free(Entry *e) {
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

Entry *entry_new(const char *path, TreeEntryType type, uint32_t mode) {
        Entry *e = xcalloc(1, sizeof(Entry));
        e->path = xstrdup(path);
        e->pub.path = e->path;
        e->pub.type = type;
        e->pub.mode = mode & 07777;
        e->backing = -1;
        return e;
}

void entry_set_link(Entry *e, const char *link) {
        free(e->link);
        e->link = link ? xstrdup(link) : NULL;
        e->pub.link_target = e->link;
}

static int xattr_cmp(const void *a, const void *b) {
        return strcmp(((const TreeXattr *) a)->name, ((const TreeXattr *) b)->name);
}

void entry_set_xattr(Entry *e, const char *name, const void *value, size_t size) {
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
 * library's own callers name paths in the image as "/etc/x"; archive entries must not) with -EINVAL;
 * a component over 255 bytes or a path over PATH_MAX with -ENAMETOOLONG. */
int path_normalize(const char *in, bool allow_absolute, char **ret) {
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
                if (len > TREE_NAME_MAX) { /* ext4 and tar readers cut longer names silently */
                        free(out);
                        return -ENAMETOOLONG;
                }
                if (o > 0)
                        out[o++] = '/';
                memcpy(out + o, s, len);
                o += len;
        }
        out[o] = 0;
        if (o + 2 > PATH_MAX) { /* "/" + path + NUL */
                free(out);
                return -ENAMETOOLONG;
        }
        *ret = out;
        return 0;
}

const char *path_refusal(int r, const char *name) {
        if (r == -ENAMETOOLONG)
                return strlen(name) + 2 > PATH_MAX ? "the path is longer than PATH_MAX (4096 bytes)"
                                                   : "a name component is longer than 255 bytes";
        return name[0] == '/' ? "absolute names are not allowed" : "'..' components are not allowed";
}

/* ---- the index ---- */

static uint64_t hash_path(const char *s) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 1099511628211ULL;
        return h;
}

Entry *hash_find(const Tree *t, const char *path) {
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

int add_backing(Tree *t, int fd) {
        t->backings = xrealloc(t->backings, (t->n_backings + 1) * sizeof(int));
        t->backings[t->n_backings] = fd;
        return (int) t->n_backings++;
}

static bool is_hardlink_to(const Entry *e, const Entry *target) {
        return e && e->pub.type == TREE_HARDLINK && streq(e->link, target->path);
}

/* All entries that are hardlinks to target, in no particular order. Counted first, then allocated
 * once: growing the list one entry at a time copied it on every link (quadratic: 65,000 links to
 * one file took minutes under ASan, whose realloc always moves). */
static size_t find_hardlinks(Tree *t, const Entry *target, Entry ***ret) {
        size_t n = 0;
        for (size_t i = 0; i < t->n_entries; i++)
                n += is_hardlink_to(t->entries[i], target);
        Entry **v = n > 0 ? xcalloc(n, sizeof(Entry *)) : NULL;
        size_t k = 0;
        for (size_t i = 0; i < t->n_entries; i++)
                if (is_hardlink_to(t->entries[i], target))
                        v[k++] = t->entries[i];
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

void tree_sort(Tree *t) {
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

/* "a/b" + "c" -> "a/b/c"; "" + "c" -> "c". */
static char *join_rel(const char *a, const char *b, size_t blen) {
        return a[0] ? xasprintf("%s/%.*s", a, (int) blen, b) : xstrndup(b, blen);
}

int tree_resolve(const Tree *t, const char *path, bool follow_last, char **ret) {
        _cleanup_free_ char *resolved = NULL, *pending = NULL;
        int r = path_normalize(path, true, &pending);
        if (r < 0)
                return r;
        resolved = xstrdup("");
        unsigned links = 0;
        while (pending[0]) {
                size_t clen = strcspn(pending, "/");
                const char *rest = pending + clen + (pending[clen] == '/');
                if ((clen == 1 && pending[0] == '.') || clen == 0) {
                        memmove(pending, rest, strlen(rest) + 1);
                        continue;
                }
                if (clen == 2 && pending[0] == '.' && pending[1] == '.') { /* never above the root */
                        char *slash = strrchr(resolved, '/');
                        *(slash ? slash : resolved) = 0;
                        memmove(pending, rest, strlen(rest) + 1);
                        continue;
                }
                _cleanup_free_ char *next = join_rel(resolved, pending, clen);
                const Entry *e = hash_find(t, next);
                if (e && e->pub.type == TREE_SYMLINK && (rest[0] || follow_last)) {
                        if (++links > 40)
                                return -ELOOP;
                        const char *target = e->link;
                        if (target[0] == '/') /* absolute: from the tree's root, not the host's */
                                resolved[0] = 0;
                        char *n = rest[0] ? xasprintf("%s/%s", target, rest) : xstrdup(target);
                        free(pending);
                        pending = n;
                        while (pending[0] == '/')
                                memmove(pending, pending + 1, strlen(pending));
                        continue;
                }
                free(resolved);
                resolved = TAKE_PTR(next);
                memmove(pending, rest, strlen(rest) + 1);
        }
        if (strlen(resolved) + 2 > PATH_MAX)
                return -ENAMETOOLONG;
        *ret = TAKE_PTR(resolved);
        return 0;
}

int tree_resolve_parent(const Tree *t, const char *path, char **ret) {
        _cleanup_free_ char *p = NULL;
        int r = path_normalize(path, true, &p);
        if (r < 0)
                return r;
        char *slash = strrchr(p, '/');
        if (!slash) {
                *ret = TAKE_PTR(p);
                return 0;
        }
        *slash = 0;
        _cleanup_free_ char *parent = NULL;
        r = tree_resolve(t, p, true, &parent);
        if (r < 0)
                return r;
        *ret = join_rel(parent, slash + 1, strlen(slash + 1));
        return 0;
}

/* Puts e (owned) at its path: parents made as needed, an existing entry replaced (a directory over a
 * directory only updates the metadata, like tar). */
int tree_put(Tree *t, Entry *e_in) {
        _cleanup_(entry_freep) Entry *e = e_in;
        int r;

        /* A destination directory joined to an archive's names can make a path too long; a link
         * text longer than PATH_MAX is no symlink the kernel follows. */
        if (strlen(e->path) + 2 > PATH_MAX || (e->link && strlen(e->link) + 1 > PATH_MAX))
                return -ENAMETOOLONG;
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

int spill_fd(Tree *t) {
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


/* Appends data to the spill file; returns the offset in *ret_off. */
int spill_append(Tree *t, const void *data, size_t size, uint64_t *ret_off) {
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

/* The regular file whose data pe has (a hardlink's target): -ENOENT, -EINVAL for no regular file. */
static int data_entry(const Tree *t, const TreeEntry *pe, const Entry **ret) {
        const Entry *e = (const Entry *) pe;
        if (e->pub.type == TREE_HARDLINK) {
                e = hash_find(t, e->link);
                if (!e)
                        return -ENOENT;
        }
        if (e->pub.type != TREE_REG)
                return -EINVAL;
        *ret = e;
        return 0;
}

ssize_t tree_read(const Tree *t, const TreeEntry *pe, uint64_t offset, void *buf, size_t size) {
        const Entry *e = NULL;
        int r = data_entry(t, pe, &e);
        if (r < 0)
                return r;
        if (offset >= e->pub.size)
                return 0;
        size = (size_t) MIN((uint64_t) size, e->pub.size - offset);
        if (e->backing < 0) {
                memset(buf, 0, size);
                return (ssize_t) size;
        }
        int fd = t->backings[e->backing];
        ssize_t n = pread_full(fd, buf, size, e->data_offset + offset);
        if (n < 0)
                return n;
        /* Beyond the end of a spill file's trailing hole: zeros. */
        memset((char *) buf + n, 0, size - (size_t) n);
        return (ssize_t) size;
}

int tree_next_data(const Tree *t, const TreeEntry *pe, uint64_t offset, uint64_t *ret_data, uint64_t *ret_data_end) {
        const Entry *e = NULL;
        int r = data_entry(t, pe, &e);
        if (r < 0)
                return r;
        uint64_t size = e->pub.size;
        if (offset >= size || e->backing < 0) {
                *ret_data = *ret_data_end = size;
                return 0;
        }
        uint64_t data, data_end;
        r = sparse_next_data(t->backings[e->backing], e->data_offset + offset, e->data_offset + size, &data,
                                 &data_end);
        if (r < 0)
                return r;
        *ret_data = data - e->data_offset;
        *ret_data_end = data_end - e->data_offset;
        return 0;
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
