#include "ext4-read.h"

#include <ext2fs/ext2fs.h>
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "log.h"

typedef struct Reader {
        ext2_filsys fs;
        const char *image;
        Tree *tree;
        /* Inodes of regular files with more than one link: ino -> the first path met (open addressing). */
        ext2_ino_t *link_ino;
        char **link_path;
        size_t n_links, cap_links;
} Reader;

static int err_to_errno(errcode_t err) {
        return err > 0 && err < 256 ? -(int) err : -EIO;
}

static char **link_slot(Reader *rd, ext2_ino_t ino) {
        if (rd->cap_links == 0 || (rd->n_links + 1) * 2 > rd->cap_links) {
                size_t cap = MAX(rd->cap_links * 2, (size_t) 1024);
                ext2_ino_t *ki = xcalloc(cap, sizeof(ext2_ino_t));
                char **kp = xcalloc(cap, sizeof(char *));
                for (size_t i = 0; i < rd->cap_links; i++)
                        if (rd->link_ino[i]) {
                                size_t h = (rd->link_ino[i] * 2654435761u) % cap;
                                while (ki[h])
                                        h = (h + 1) % cap;
                                ki[h] = rd->link_ino[i];
                                kp[h] = rd->link_path[i];
                        }
                free(rd->link_ino);
                free(rd->link_path);
                rd->link_ino = ki;
                rd->link_path = kp;
                rd->cap_links = cap;
        }
        size_t h = (ino * 2654435761u) % rd->cap_links;
        while (rd->link_ino[h] && rd->link_ino[h] != ino)
                h = (h + 1) % rd->cap_links;
        if (!rd->link_ino[h]) {
                rd->link_ino[h] = ino;
                rd->n_links++;
        }
        return &rd->link_path[h];
}

static void reader_done(Reader *rd) {
        for (size_t i = 0; i < rd->cap_links; i++)
                free(rd->link_path[i]);
        free(rd->link_ino);
        free(rd->link_path);
        if (rd->fs)
                ext2fs_close_free(&rd->fs);
}

/* ---- xattrs ---- */

typedef struct XattrSet {
        TreeXattr *v;
        size_t n;
} XattrSet;

static void xattr_set_done(XattrSet *x) {
        for (size_t i = 0; i < x->n; i++) {
                free(x->v[i].name);
                free(x->v[i].value);
        }
        free(x->v);
        *x = (XattrSet) {};
}

static void xattr_push(XattrSet *x, const char *name, const void *value, size_t size) {
        x->v = xrealloc(x->v, (x->n + 1) * sizeof(TreeXattr));
        void *copy = xmalloc(size ? size : 1);
        memcpy(copy, value, size);
        x->v[x->n++] = (TreeXattr) { xstrdup(name), copy, size };
}

typedef struct AclEntry {
        uint16_t tag, perm;
        uint32_t id;
} AclEntry;

enum { ACL_TAG_USER_OBJ = 0x01, ACL_TAG_USER = 0x02, ACL_TAG_GROUP_OBJ = 0x04, ACL_TAG_GROUP = 0x08,
       ACL_TAG_MASK = 0x10, ACL_TAG_OTHER = 0x20 };

static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint16_t get_le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

/* A POSIX ACL as ext4 stores it (version 1: short entries without an id for the *_OBJ, MASK and OTHER
 * tags) or in the kernel's xattr format (version 2: every entry 8 bytes), re-encoded the way tree.c
 * keeps ACLs from tar's SCHILY.acl records: version 2, entries sorted by tag then id, id 0xffffffff
 * where there is none; an access ACL only when it says more than the mode does. Returns false when
 * there is nothing to keep (or the value is not an ACL: then it is kept as it is). */
static bool acl_normalize(const uint8_t *v, size_t size, bool is_default, uint8_t **ret, size_t *ret_size) {
        if (size < 4)
                return false;
        uint32_t version = get_le32(v);
        if (version != 1 && version != 2)
                return false;
        _cleanup_free_ AclEntry *e = xcalloc(size / 4 + 1, sizeof(AclEntry));
        size_t k = 0, off = 4;
        bool extended = false;
        while (off < size) {
                if (off + 4 > size)
                        return false;
                AclEntry a = { get_le16(v + off), (uint16_t) (get_le16(v + off + 2) & 7), UINT32_MAX };
                bool has_id = a.tag == ACL_TAG_USER || a.tag == ACL_TAG_GROUP;
                if (version == 2 || has_id) {
                        if (off + 8 > size)
                                return false;
                        if (has_id)
                                a.id = get_le32(v + off + 4);
                        off += 8;
                } else
                        off += 4;
                if (a.tag == ACL_TAG_USER || a.tag == ACL_TAG_GROUP || a.tag == ACL_TAG_MASK)
                        extended = true;
                if (a.tag == ACL_TAG_USER_OBJ || a.tag == ACL_TAG_GROUP_OBJ || a.tag == ACL_TAG_OTHER || extended)
                        e[k++] = a;
        }
        if (k == 0 || (!extended && !is_default))
                return false;
        for (size_t i = 1; i < k; i++)
                for (size_t j = i; j > 0 && (e[j - 1].tag > e[j].tag || (e[j - 1].tag == e[j].tag && e[j - 1].id > e[j].id)); j--) {
                        AclEntry tmp = e[j];
                        e[j] = e[j - 1];
                        e[j - 1] = tmp;
                }
        size_t n = 4 + 8 * k;
        uint8_t *out = xmalloc(n);
        uint32_t ver = 2;
        memcpy(out, &ver, 4); /* little-endian hosts, as tree.c */
        for (size_t i = 0; i < k; i++) {
                memcpy(out + 4 + 8 * i, &e[i].tag, 2);
                memcpy(out + 6 + 8 * i, &e[i].perm, 2);
                memcpy(out + 8 + 8 * i, &e[i].id, 4);
        }
        *ret = out;
        *ret_size = n;
        return true;
}

typedef struct XattrCollect {
        XattrSet *set;
        bool is_dir;
} XattrCollect;

static int collect_xattr(char *name, char *value, size_t value_len, void *priv) {
        XattrCollect *c = priv;
        if (streq(name, "system.data"))
                return 0; /* inline data's own record, not an xattr anyone sees */
        bool access = streq(name, "system.posix_acl_access"), dflt = streq(name, "system.posix_acl_default");
        if (access || dflt) {
                if (dflt && !c->is_dir)
                        return 0;
                _cleanup_free_ uint8_t *acl = NULL;
                size_t n;
                if (acl_normalize((const uint8_t *) value, value_len, dflt, &acl, &n))
                        xattr_push(c->set, name, acl, n);
                return 0;
        }
        xattr_push(c->set, name, value, value_len);
        return 0;
}

static int read_xattrs(Reader *rd, ext2_ino_t ino, const char *path, bool is_dir, XattrSet *ret) {
        struct ext2_xattr_handle *h = NULL;
        errcode_t err = ext2fs_xattrs_open(rd->fs, ino, &h);
        if (!err)
                /* The raw values: libext2fs' own ACL translation writes ids differently from tree.c. */
                err = ext2fs_xattrs_flags(h, &(unsigned) { XATTR_HANDLE_FLAG_RAW }, NULL);
        if (!err)
                err = ext2fs_xattrs_read(h);
        XattrCollect c = { ret, is_dir };
        if (!err)
                err = ext2fs_xattrs_iterate(h, collect_xattr, &c);
        if (h)
                ext2fs_xattrs_close(&h);
        if (err)
                return log_error_errno(err_to_errno(err), "ext4 '%s': cannot read the xattrs of '/%s': %s", rd->image, path,
                                       error_message(err));
        return 0;
}

/* libarchive reads tar's SCHILY.acl.access as the mode's bits: user:: -> owner, group:: -> group (not
 * the mask, which the kernel shows there), other:: -> other. tar-out + tree_load give that mode, so
 * the read-back gives it too. */
static void acl_apply_mode(const XattrSet *xs, uint32_t *mode) {
        for (size_t i = 0; i < xs->n; i++) {
                if (!streq(xs->v[i].name, "system.posix_acl_access"))
                        continue;
                const uint8_t *v = xs->v[i].value;
                for (size_t off = 4; off + 8 <= xs->v[i].size; off += 8) {
                        uint16_t tag = get_le16(v + off), perm = get_le16(v + off + 2) & 7;
                        if (tag == ACL_TAG_USER_OBJ)
                                *mode = (*mode & ~0700u) | (uint32_t) perm << 6;
                        else if (tag == ACL_TAG_GROUP_OBJ)
                                *mode = (*mode & ~0070u) | (uint32_t) perm << 3;
                        else if (tag == ACL_TAG_OTHER)
                                *mode = (*mode & ~0007u) | perm;
                }
        }
}

/* ---- file data ---- */

typedef struct FileSource {
        Reader *rd;
        ext2_file_t f;
        const char *path;
} FileSource;

static ssize_t file_data(void *userdata, uint64_t offset, void *buf, size_t size) {
        FileSource *s = userdata;
        errcode_t err = ext2fs_file_llseek(s->f, offset, EXT2_SEEK_SET, NULL);
        unsigned got = 0;
        if (!err)
                err = ext2fs_file_read(s->f, buf, (unsigned) MIN(size, (size_t) 1 << 30), &got);
        if (err)
                return log_error_errno(err_to_errno(err), "ext4 '%s': cannot read '/%s': %s", s->rd->image, s->path,
                                       error_message(err));
        return (ssize_t) got;
}

static int read_link(Reader *rd, ext2_ino_t ino, struct ext2_inode_large *in, const char *path, char **ret) {
        uint64_t size = EXT2_I_SIZE(in);
        if (size > 65536)
                return log_error_errno(-EBADMSG, "ext4 '%s': symlink '/%s' is too long", rd->image, path);
        if (ext2fs_is_fast_symlink((struct ext2_inode *) in)) {
                *ret = xstrndup((const char *) in->i_block, (size_t) size);
                return 0;
        }
        _cleanup_free_ char *s = xcalloc(size + 1, 1);
        ext2_file_t f;
        errcode_t err = ext2fs_file_open2(rd->fs, ino, (struct ext2_inode *) in, 0, &f);
        unsigned got = 0;
        if (!err) {
                err = ext2fs_file_read(f, s, (unsigned) size, &got);
                ext2fs_file_close(f);
        }
        if (err || got != size)
                return log_error_errno(err ? err_to_errno(err) : -EBADMSG, "ext4 '%s': cannot read symlink '/%s'", rd->image, path);
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- the walk ---- */

static int64_t inode_time(uint32_t lo, uint32_t extra, bool has_extra, uint32_t *ret_nsec) {
        int64_t sec = (int32_t) lo;
        *ret_nsec = 0;
        if (has_extra) {
                sec += (int64_t) (extra & EXT4_EPOCH_MASK) << 32;
                *ret_nsec = extra >> EXT4_EPOCH_BITS;
                if (*ret_nsec > 999999999)
                        *ret_nsec = 0;
        }
        return sec;
}

/* The kernel's encodings of a device number: the old 16-bit one in i_block[0], else the new one
 * in i_block[1]. */
static dev_t inode_rdev(const struct ext2_inode_large *in) {
        uint32_t b0 = in->i_block[0], b1 = in->i_block[1];
        return b0 ? makedev((b0 >> 8) & 0xff, b0 & 0xff) : makedev((b1 & 0xfff00) >> 8, (b1 & 0xff) | ((b1 >> 12) & 0xfff00));
}

/* A regular file with bytes: the tree reads them through the open ext4 file. */
static int add_with_content(Reader *rd, ext2_ino_t ino, struct ext2_inode_large *in, const TreeEntry *e) {
        FileSource src = { rd, NULL, e->path };
        errcode_t err = ext2fs_file_open2(rd->fs, ino, (struct ext2_inode *) in, 0, &src.f);
        if (err)
                return log_error_errno(err_to_errno(err), "ext4 '%s': cannot open '/%s': %s", rd->image, e->path,
                                       error_message(err));
        int r = tree_add_entry(rd->tree, e, file_data, &src);
        ext2fs_file_close(src.f);
        return r;
}

static int add_inode(Reader *rd, ext2_ino_t ino, const char *path, bool *ret_is_dir) {
        struct ext2_inode_large in = {};
        errcode_t err = ext2fs_read_inode_full(rd->fs, ino, (struct ext2_inode *) &in, sizeof(in));
        if (err)
                return log_error_errno(err_to_errno(err), "ext4 '%s': cannot read the inode of '/%s': %s", rd->image, path,
                                       error_message(err));
        *ret_is_dir = false;
        TreeEntry e = {
                .path = path,
                .mode = in.i_mode & 07777,
                .uid = inode_uid(in),
                .gid = inode_gid(in),
        };
        bool has_extra = EXT2_INODE_SIZE(rd->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
                         in.i_extra_isize >= offsetof(struct ext2_inode_large, i_mtime_extra) + sizeof(in.i_mtime_extra) -
                                                     EXT2_GOOD_OLD_INODE_SIZE;
        e.mtime_sec = inode_time(in.i_mtime, in.i_mtime_extra, has_extra, &e.mtime_nsec);
        _cleanup_free_ char *link = NULL;
        switch (in.i_mode & LINUX_S_IFMT) {
        case LINUX_S_IFDIR:
                e.type = TREE_DIR;
                *ret_is_dir = true;
                break;
        case LINUX_S_IFREG:
                e.type = TREE_REG;
                e.size = EXT2_I_SIZE(&in);
                if (in.i_links_count > 1) {
                        char **slot = link_slot(rd, ino);
                        if (*slot) {
                                e.type = TREE_HARDLINK;
                                e.link_target = *slot;
                                return tree_add_entry(rd->tree, &e, NULL, NULL);
                        }
                        *slot = xstrdup(path);
                }
                break;
        case LINUX_S_IFLNK: {
                e.type = TREE_SYMLINK;
                int r = read_link(rd, ino, &in, path, &link);
                if (r < 0)
                        return r;
                e.link_target = link;
                break;
        }
        case LINUX_S_IFCHR:
        case LINUX_S_IFBLK: {
                e.type = LINUX_S_ISCHR(in.i_mode) ? TREE_CHR : TREE_BLK;
                e.rdev = inode_rdev(&in);
                break;
        }
        case LINUX_S_IFIFO:
                e.type = TREE_FIFO;
                break;
        case LINUX_S_IFSOCK:
                return 0; /* tar leaves sockets out, and so does the tree */
        default:
                return log_error_errno(-EBADMSG, "ext4 '%s': '/%s' has an unknown file type %o", rd->image, path,
                                       in.i_mode & LINUX_S_IFMT);
        }

        _cleanup_(xattr_set_done) XattrSet xs = {};
        int r = read_xattrs(rd, ino, path, e.type == TREE_DIR, &xs);
        if (r < 0)
                return r;
        e.xattrs = xs.v;
        e.n_xattrs = xs.n;
        acl_apply_mode(&xs, &e.mode);

        if (e.type != TREE_REG || e.size == 0)
                return tree_add_entry(rd->tree, &e, NULL, NULL);
        return add_with_content(rd, ino, &in, &e);
}

typedef struct Child {
        ext2_ino_t ino;
        char *name;
} Child;

typedef struct Children {
        Child *v;
        size_t n;
} Children;

static int collect_child(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset, int blocksize, char *buf,
                         void *priv) {
        Children *c = priv;
        int len = ext2fs_dirent_name_len(dirent);
        if ((len == 1 && dirent->name[0] == '.') || (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
                return 0;
        c->v = xrealloc(c->v, (c->n + 1) * sizeof(Child));
        c->v[c->n++] = (Child) { dirent->inode, xstrndup(dirent->name, (size_t) len) };
        return 0;
}

static int walk(Reader *rd, ext2_ino_t dir, const char *path, unsigned depth) {
        if (depth > 4096)
                return log_error_errno(-ELOOP, "ext4 '%s': directories nested too deep at '/%s'", rd->image, path);
        Children c = {};
        errcode_t err = ext2fs_dir_iterate2(rd->fs, dir, 0, NULL, collect_child, &c);
        int r = 0;
        if (err)
                r = log_error_errno(err_to_errno(err), "ext4 '%s': cannot read directory '/%s': %s", rd->image, path,
                                    error_message(err));
        for (size_t i = 0; r >= 0 && i < c.n; i++) {
                if (!path[0] && streq(c.v[i].name, "lost+found"))
                        continue;
                _cleanup_free_ char *p = path[0] ? xasprintf("%s/%s", path, c.v[i].name) : xstrdup(c.v[i].name);
                bool is_dir;
                r = add_inode(rd, c.v[i].ino, p, &is_dir);
                if (r >= 0 && is_dir)
                        r = walk(rd, c.v[i].ino, p, depth + 1);
        }
        for (size_t i = 0; i < c.n; i++)
                free(c.v[i].name);
        free(c.v);
        return r;
}

int ext4_read_tree(const char *image_path, uint64_t offset, Tree **ret) {
        _cleanup_free_ char *opt = xasprintf("offset=%" PRIu64, offset);
        Reader rd = { .image = image_path };
        errcode_t err = ext2fs_open2(image_path, opt, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &rd.fs);
        if (err)
                return log_error_errno(err_to_errno(err), "cannot open the ext4 filesystem in '%s': %s", image_path,
                                       error_message(err));
        int r;
        if (ext2fs_has_feature_journal_needs_recovery(rd.fs->super)) {
                /* Its journal holds writes the tree would miss: only a cleanly unmounted (or frozen)
                 * filesystem can be read offline. */
                r = log_error_errno(-EUCLEAN, "ext4 '%s' was not cleanly unmounted (its journal needs recovery)", image_path);
                goto finish;
        }
        rd.tree = tree_new();
        bool is_dir;
        r = add_inode(&rd, EXT2_ROOT_INO, "", &is_dir);
        if (r >= 0)
                r = walk(&rd, EXT2_ROOT_INO, "", 0);
        if (r >= 0)
                *ret = TAKE_PTR(rd.tree);
finish:
        tree_free(rd.tree);
        reader_done(&rd);
        return r;
}
