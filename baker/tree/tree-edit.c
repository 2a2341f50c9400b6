/* Adding entries to a Tree: files, directories, symlinks, entries with every field, xattrs. */
#include <inttypes.h>

#include "log.h"
#include "tree-internal.h"

/* ---- edits ---- */

int normalize_arg(const char *path, char **ret) {
        int r = path_normalize(path, true, ret);
        if (r < 0)
                return log_error_errno(r, "invalid path '%s' in the image: %s", path,
                                       r == -ENAMETOOLONG ? path_refusal(r, path) : "'..' is not allowed");
        return 0;
}

int put_logged(Tree *t, Entry *e, const char *what) {
        _cleanup_free_ char *path = xstrdup(e->path);
        int r = tree_put(t, e);
        if (r == -ENOTDIR)
                return log_error_errno(r, "%s'%s': a parent is not a directory in the image", what, path);
        if (r == -ENOENT)
                return log_error_errno(r, "%s'%s': hardlink target does not exist", what, path);
        if (r == -EISDIR)
                return log_error_errno(r, "%s'%s': the root can only be a directory", what, path);
        if (r == -ENAMETOOLONG)
                return log_error_errno(r, "%s'%s': the path or the link target is longer than PATH_MAX (4096 bytes)",
                                       what, path);
        if (r < 0)
                return log_error_errno(r, "%s'%s': %m", what, path);
        return 0;
}

int resolve_logged(Tree *t, const char *path, bool follow_last, char **ret) {
        char *resolved = NULL;
        int r = follow_last ? tree_resolve(t, path, true, &resolved) : tree_resolve_parent(t, path, &resolved);
        if (r == -ELOOP)
                return log_error_errno(r, "cannot resolve '/%s' in the image: too many levels of symlinks", path);
        if (r < 0)
                return log_error_errno(r, "cannot resolve '/%s' in the image: %m", path);
        if (!streq(resolved, path))
                log_debug("'/%s' is '/%s' in the image (symlinks followed)", path, resolved);
        free(*ret);
        *ret = resolved;
        return 0;
}

int tree_add_file(Tree *t, const char *path, const void *data, size_t size, uint32_t mode, uint32_t uid,
                  uint32_t gid, int64_t mtime) {
        _cleanup_free_ char *p = NULL;
        int r = normalize_arg(path, &p);
        if (r < 0)
                return r;
        r = resolve_logged(t, p, false, &p);
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
