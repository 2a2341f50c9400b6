/* Importing any archive libarchive reads into a Tree (the unpack step). */
#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

#include "log.h"
#include "units.h"
#include "tree-internal.h"

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

/* A regular member's data into the spill file at the offsets libarchive gives: the holes of a sparse
 * member are never written, so they stay holes. A member whose (apparent) size is over max_size is
 * refused before a byte is written. */
static int read_member_data(Tree *t, struct archive *a, const char *archive_path, const char *name, uint64_t size,
                            uint64_t max_size, Entry *e) {
        if (max_size > 0 && size > max_size) {
                _cleanup_free_ char *has = units_format_size(size), *room = units_format_size(max_size);
                return log_error_errno(-EFBIG, "archive '%s': refusing entry '%s': its size (%s) is more than the whole disk holds (%s)",
                                       archive_path, name, has, room);
        }
        int fd = spill_fd(t);
        if (fd < 0)
                return fd;
        uint64_t base = t->spill_end;
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(a, &buf, &len, &off);
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
        return 0;
}

static int entry_from_archive(Tree *t, struct archive *a, struct archive_entry *ae, const char *archive_path,
                              const char *dest, uint64_t max_file_size, Entry **ret) {
        const char *name = archive_entry_pathname(ae);
        if (!name)
                return log_error_errno(-EBADMSG, "archive '%s': an entry has no name", archive_path);
        _cleanup_free_ char *rel = NULL;
        int r = path_normalize(name, false, &rel);
        if (r < 0)
                return log_error_errno(r, "archive '%s': refusing entry '%s': %s", archive_path, name,
                                       path_refusal(r, name));
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
        la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
        if (uid < 0 || gid < 0 || !tree_id_valid((uint64_t) uid) || !tree_id_valid((uint64_t) gid))
                return log_error_errno(-ERANGE, "archive '%s': refusing entry '%s': owner %lld:%lld does not fit in 32 bits",
                                       archive_path, name, (long long) uid, (long long) gid);
        e->pub.uid = (uint32_t) uid;
        e->pub.gid = (uint32_t) gid;
        e->pub.mtime_sec = archive_entry_mtime(ae);
        e->pub.mtime_nsec = (uint32_t) archive_entry_mtime_nsec(ae);
        if (type == TREE_CHR || type == TREE_BLK)
                e->pub.rdev = makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae));
        if (type == TREE_HARDLINK) {
                _cleanup_free_ char *hl = NULL;
                r = path_normalize(hardlink, false, &hl);
                if (r < 0)
                        return log_error_errno(r, "archive '%s': refusing entry '%s': bad hardlink target '%s': %s",
                                               archive_path, name, hardlink, path_refusal(r, hardlink));
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
                r = read_member_data(t, a, archive_path, name, (uint64_t) archive_entry_size(ae), max_file_size, e);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(e);
        return 0;
}

static void archive_freep(struct archive **a) {
        if (*a)
                archive_read_free(*a);
}

int tree_add_archive(Tree *t, const char *archive_path, const char *dest_dir, uint64_t max_file_size) {
        _cleanup_free_ char *dest = NULL;
        int r = normalize_arg(dest_dir ? dest_dir : "", &dest);
        if (r >= 0)
                r = resolve_logged(t, dest, true, &dest);
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
                r = entry_from_archive(t, a, ae, archive_path, dest, max_file_size, &e);
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
