/* Importing a host file or directory into a Tree (the copy step). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "log.h"
#include "tree-internal.h"

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

static const char *host_file_kind(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFIFO: return "FIFO";
        case S_IFSOCK: return "socket";
        case S_IFCHR: return "character device";
        case S_IFBLK: return "block device";
        default: return "special file";
        }
}

/* Where a host directory copied to dest puts its contents: dest itself when it is a directory in
 * the tree already (which keeps its metadata: copying an overlay onto "/" must not change the
 * root's mode), or the directory a symlink at dest names inside the tree (a merged-/usr image's
 * "lib -> usr/lib" stays a symlink); *ret NULL when the directory must be made (or replace what is
 * at dest). */
static int dir_destination(Tree *t, const char *dest, char **ret) {
        *ret = NULL;
        Entry *old = hash_find(t, dest);
        if (old && old->pub.type == TREE_DIR) {
                *ret = xstrdup(dest);
                return 0;
        }
        if (!old || old->pub.type != TREE_SYMLINK)
                return 0;
        _cleanup_free_ char *resolved = NULL;
        int r = tree_resolve(t, dest, true, &resolved);
        if (r == -ELOOP)
                return log_error_errno(r, "cannot copy to '/%s': too many levels of symlinks", dest);
        if (r < 0)
                return log_error_errno(r, "cannot copy to '/%s': %m", dest);
        const Entry *target = hash_find(t, resolved);
        if (target && target->pub.type == TREE_DIR)
                *ret = TAKE_PTR(resolved);
        return 0;
}

static int add_host_one(Tree *t, int at_fd, const char *name, const char *host_path, const char *dest,
                        int uid, int gid, bool top) {
        /* The top is followed when it is a symlink (a `path:` input naming a directory through a
         * link is that directory, as it was planned); nothing below it is. */
        int nofollow = top ? 0 : O_NOFOLLOW;
        struct stat st;
        if (fstatat(at_fd, name, &st, top ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(-errno, "cannot read '%s': %m", host_path);
        TreeEntryType type;
        switch (st.st_mode & S_IFMT) {
        case S_IFREG: type = TREE_REG; break;
        case S_IFDIR: type = TREE_DIR; break;
        case S_IFLNK: type = TREE_SYMLINK; break;
        default: /* what the input's digest cannot cover either */
                return log_error_errno(-EBADFD, "cannot copy '%s': it is a %s; a folder holds only regular files, "
                                       "directories and symlinks", host_path, host_file_kind(st.st_mode));
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
                _cleanup_close_ int fd = openat(at_fd, name, O_RDONLY | O_CLOEXEC | nofollow);
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
                _cleanup_free_ char *into = NULL;
                r = dir_destination(t, dest, &into);
                if (r < 0)
                        return r;
                if (!into) {
                        into = xstrdup(dest);
                        r = put_logged(t, TAKE_PTR(e), "cannot copy to ");
                        if (r < 0)
                                return r;
                }
                _cleanup_close_ int dfd = openat(at_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | nofollow);
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
                        _cleanup_free_ char *dp = into[0] ? path_join(into, de->d_name) : xstrdup(de->d_name);
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
        if (r >= 0)
                r = resolve_logged(t, d, true, &d);
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
