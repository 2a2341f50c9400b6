/* Image diff of two ext4 filesystems, read offline through libext2fs: superblock fields, then
 * every path's presence, metadata, xattrs and content (files whose blocks are all in equal bytes are
 * not read), and as a last resort where the same files are placed. */
#include "imagediff-internal.h"

#include <ext2fs/ext2fs.h>
#include <inttypes.h>

#include "digest.h"
#include "log.h"
#include "strv.h"

typedef enum { SB_NUM, SB_UUID, SB_STR, SB_HEX, SB_ARRAY32 } SbKind;
static const struct {
        const char *name;
        size_t offset, size;
        SbKind kind;
} sb_fields[] = {
#define F(f, k) { #f, offsetof(struct ext2_super_block, f), sizeof(((struct ext2_super_block *) 0)->f), k }
        F(s_uuid, SB_UUID), F(s_hash_seed, SB_UUID), F(s_volume_name, SB_STR), F(s_last_mounted, SB_STR),
        F(s_journal_uuid, SB_UUID), F(s_checksum_seed, SB_NUM), F(s_mkfs_time, SB_NUM), F(s_mkfs_time_hi, SB_NUM),
        F(s_wtime, SB_NUM), F(s_wtime_hi, SB_NUM), F(s_mtime, SB_NUM), F(s_mtime_hi, SB_NUM),
        F(s_lastcheck, SB_NUM), F(s_lastcheck_hi, SB_NUM), F(s_mnt_count, SB_NUM), F(s_max_mnt_count, SB_NUM),
        F(s_checkinterval, SB_NUM), F(s_state, SB_NUM), F(s_errors, SB_NUM), F(s_kbytes_written, SB_NUM),
        F(s_inodes_count, SB_NUM), F(s_blocks_count, SB_NUM), F(s_blocks_count_hi, SB_NUM),
        F(s_r_blocks_count, SB_NUM), F(s_r_blocks_count_hi, SB_NUM), F(s_free_blocks_count, SB_NUM),
        F(s_free_blocks_hi, SB_NUM), F(s_free_inodes_count, SB_NUM), F(s_first_data_block, SB_NUM),
        F(s_log_block_size, SB_NUM), F(s_log_cluster_size, SB_NUM), F(s_blocks_per_group, SB_NUM),
        F(s_clusters_per_group, SB_NUM), F(s_inodes_per_group, SB_NUM), F(s_inode_size, SB_NUM),
        F(s_first_ino, SB_NUM), F(s_rev_level, SB_NUM), F(s_minor_rev_level, SB_NUM), F(s_creator_os, SB_NUM),
        F(s_def_resuid, SB_NUM), F(s_def_resgid, SB_NUM), F(s_feature_compat, SB_HEX),
        F(s_feature_incompat, SB_HEX), F(s_feature_ro_compat, SB_HEX), F(s_default_mount_opts, SB_HEX),
        F(s_flags, SB_HEX), F(s_mount_opts, SB_STR), F(s_def_hash_version, SB_NUM), F(s_desc_size, SB_NUM),
        F(s_reserved_gdt_blocks, SB_NUM), F(s_journal_inum, SB_NUM), F(s_journal_dev, SB_NUM),
        F(s_last_orphan, SB_NUM), F(s_jnl_backup_type, SB_NUM), F(s_jnl_blocks, SB_ARRAY32),
        F(s_min_extra_isize, SB_NUM), F(s_want_extra_isize, SB_NUM), F(s_log_groups_per_flex, SB_NUM),
        F(s_checksum_type, SB_NUM), F(s_raid_stride, SB_NUM), F(s_raid_stripe_width, SB_NUM),
        F(s_mmp_update_interval, SB_NUM), F(s_mmp_block, SB_NUM), F(s_first_meta_bg, SB_NUM),
        F(s_overhead_clusters, SB_NUM), F(s_backup_bgs, SB_ARRAY32), F(s_lpf_ino, SB_NUM), F(s_encoding, SB_NUM),
        F(s_encoding_flags, SB_NUM), F(s_orphan_file_inum, SB_NUM), F(s_error_count, SB_NUM),
        F(s_first_error_time, SB_NUM), F(s_last_error_time, SB_NUM), F(s_usr_quota_inum, SB_NUM),
        F(s_grp_quota_inum, SB_NUM), F(s_prj_quota_inum, SB_NUM), F(s_encrypt_algos, SB_HEX),
        F(s_encrypt_pw_salt, SB_UUID),
#undef F
};

static char *sb_value(const uint8_t *sb, size_t offset, size_t size, SbKind kind) {
        const uint8_t *p = sb + offset;
        if (kind == SB_NUM && size <= 8) {
                uint64_t v = 0;
                for (size_t i = 0; i < size; i++)
                        v |= (uint64_t) p[i] << (8 * i);
                return xasprintf("%" PRIu64, v);
        }
        if (kind == SB_UUID && size == 16) {
                char s[37];
                partition_guid_to_string(p, s);
                return xstrdup(s);
        }
        if (kind == SB_STR)
                return xasprintf("'%.*s'", (int) strnlen((const char *) p, size), (const char *) p);
        char *s = xmalloc(2 * size + 3), *q = s;
        q += sprintf(q, "0x");
        for (size_t i = size; i > 0; i--) /* little-endian numbers read naturally */
                q += sprintf(q, "%02x", p[i - 1]);
        return s;
}

static void diff_superblock(Ctx *c, unsigned part, const char *where, const char *fstype, const uint8_t *a,
                            const uint8_t *b) {
        size_t before = c->d->n_entries;
        for (size_t i = 0; i < ELEMENTSOF(sb_fields); i++) {
                size_t off = sb_fields[i].offset, size = sb_fields[i].size;
                if (memcmp(a + off, b + off, size) == 0)
                        continue;
                if (sb_fields[i].kind == SB_ARRAY32) { /* name the first differing element */
                        size_t k = 0;
                        while (memcmp(a + off + 4 * k, b + off + 4 * k, 4) == 0)
                                k++;
                        _cleanup_free_ char *field = xasprintf("%s[%zu]", sb_fields[i].name, k);
                        _cleanup_free_ char *va = sb_value(a, off + 4 * k, 4, SB_NUM);
                        _cleanup_free_ char *vb = sb_value(b, off + 4 * k, 4, SB_NUM);
                        diff_add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, fstype, field, va, vb);
                        continue;
                }
                _cleanup_free_ char *va = sb_value(a, off, size, sb_fields[i].kind);
                _cleanup_free_ char *vb = sb_value(b, off, size, sb_fields[i].kind);
                diff_add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, fstype, sb_fields[i].name, va, vb);
        }
        /* The checksum follows everything else; it is news only when nothing else explains it. */
        size_t coff = offsetof(struct ext2_super_block, s_checksum);
        if (c->d->n_entries == before && memcmp(a, b, SUPERBLOCK_SIZE) != 0) {
                size_t first = 0;
                while (a[first] == b[first])
                        first++;
                _cleanup_free_ char *field = first >= coff ? xstrdup("s_checksum") : xasprintf("byte %zu", first);
                _cleanup_free_ char *va = sb_value(a, first >= coff ? coff : first, first >= coff ? 4 : 1, SB_HEX);
                _cleanup_free_ char *vb = sb_value(b, first >= coff ? coff : first, first >= coff ? 4 : 1, SB_HEX);
                diff_add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, fstype, field, va, vb);
        }
}

typedef struct FsEntry {
        char *path;
        ext2_ino_t ino;
} FsEntry;

typedef struct FsList {
        FsEntry *entries;
        size_t n, cap;
        /* dir_iterate's callback collects children here before recursing */
        FsEntry *children;
        size_t n_children, cap_children;
        const char *parent;
} FsList;

static void fs_list_done(FsList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->entries[i].path);
        free(l->entries);
        free(l->children);
}

static int collect_child(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset, int blocksize, char *buf, void *priv) {
        FsList *l = priv;
        int len = ext2fs_dirent_name_len(dirent);
        if ((len == 1 && dirent->name[0] == '.') || (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
                return 0;
        if (l->n_children == l->cap_children)
                l->children = xrealloc(l->children, (l->cap_children = l->cap_children * 2 + 16) * sizeof(FsEntry));
        l->children[l->n_children++] = (FsEntry) {
                .path = xasprintf("%s/%.*s", l->parent, len, dirent->name),
                .ino = dirent->inode,
        };
        return 0;
}

static int fs_walk(ext2_filsys fs, ext2_ino_t dir, const char *path, unsigned depth, FsList *l) {
        if (depth > 256)
                return -ELOOP;
        l->parent = path;
        l->n_children = 0;
        if (ext2fs_dir_iterate2(fs, dir, 0, NULL, collect_child, l))
                return -EBADMSG;
        size_t first = l->n, n = l->n_children;
        if (l->n + n > l->cap)
                l->entries = xrealloc(l->entries, (l->cap = MAX(l->cap * 2, l->n + n + 64)) * sizeof(FsEntry));
        memcpy(l->entries + l->n, l->children, n * sizeof(FsEntry));
        l->n += n;
        for (size_t i = first; i < first + n; i++) {
                struct ext2_inode inode;
                ext2_ino_t ino = l->entries[i].ino;
                if (ino == dir || ext2fs_read_inode(fs, ino, &inode) || !LINUX_S_ISDIR(inode.i_mode))
                        continue;
                _cleanup_free_ char *sub = xstrdup(l->entries[i].path);
                int r = fs_walk(fs, ino, sub, depth + 1, l);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_fs_entry(const void *x, const void *y) {
        return strcmp(((const FsEntry *) x)->path, ((const FsEntry *) y)->path);
}

static const char *mode_type(uint16_t mode) {
        switch (mode & LINUX_S_IFMT) {
        case LINUX_S_IFREG: return "regular file";
        case LINUX_S_IFDIR: return "directory";
        case LINUX_S_IFLNK: return "symlink";
        case LINUX_S_IFCHR: return "character device";
        case LINUX_S_IFBLK: return "block device";
        case LINUX_S_IFIFO: return "fifo";
        case LINUX_S_IFSOCK: return "socket";
        default: return "unknown";
        }
}

static char *inode_time(const struct ext2_inode_large *i, uint32_t sec, const uint32_t *extra) {
        int64_t s = (int32_t) sec;
        uint32_t ns = 0;
        size_t extra_off = (size_t) ((const uint8_t *) extra - (const uint8_t *) i);
        if ((size_t) i->i_extra_isize + EXT2_GOOD_OLD_INODE_SIZE >= extra_off + 4) {
                s += (int64_t) (*extra & 3) << 32;
                ns = *extra >> 2;
        }
        return xasprintf("%" PRId64 ".%09u", s, ns);
}

static int file_digest(ext2_filsys fs, ext2_ino_t ino, char ret[DIGEST_STRING_MAX]) {
        ext2_file_t f;
        if (ext2fs_file_open(fs, ino, 0, &f))
                return -EIO;
        _cleanup_(digest_freep) Digest *d = digest_new();
        _cleanup_free_ uint8_t *buf = xmalloc(CHUNK);
        int r = 0;
        for (;;) {
                unsigned got = 0;
                if (ext2fs_file_read(f, buf, CHUNK, &got)) {
                        r = -EIO;
                        break;
                }
                if (got == 0)
                        break;
                digest_update(d, buf, got);
        }
        ext2fs_file_close(f);
        uint8_t h[DIGEST_SIZE];
        digest_final(d, h);
        digest_to_string(h, ret);
        return r;
}

static char *symlink_target(ext2_filsys fs, ext2_ino_t ino, const struct ext2_inode *inode) {
        uint64_t size = EXT2_I_SIZE(inode);
        if (size > 4096)
                return xstrdup("(too long)");
        if (ext2fs_is_fast_symlink((struct ext2_inode *) inode))
                return xstrndup((const char *) inode->i_block, size);
        char *s = xcalloc(size + 1, 1);
        ext2_file_t f;
        if (ext2fs_file_open(fs, ino, 0, &f) == 0) {
                unsigned got = 0;
                (void) ext2fs_file_read(f, s, (unsigned) size, &got);
                ext2fs_file_close(f);
        }
        return s;
}

typedef struct XattrList {
        char **items; /* strv of "name=sha256:…" */
        size_t n;
} XattrList;

static int collect_xattr(char *name, char *value, size_t value_len, void *priv) {
        XattrList *x = priv;
        uint8_t h[DIGEST_SIZE];
        char hs[DIGEST_STRING_MAX];
        digest_buffer(value, value_len, h);
        digest_to_string(h, hs);
        strv_push(&x->items, &x->n, xasprintf("%s=%s", name, hs));
        return 0;
}

static void xattrs_read(ext2_filsys fs, ext2_ino_t ino, XattrList *ret) {
        struct ext2_xattr_handle *h;
        *ret = (XattrList) {};
        if (ext2fs_xattrs_open(fs, ino, &h))
                return;
        if (ext2fs_xattrs_read(h) == 0)
                (void) ext2fs_xattrs_iterate(h, collect_xattr, ret);
        ext2fs_xattrs_close(&h);
        strv_sort(ret->items, ret->n);
}

static void diff_xattrs(Ctx *c, unsigned part, const char *where, const char *path, ext2_filsys fa, ext2_ino_t ia,
                        ext2_filsys fb, ext2_ino_t ib) {
        XattrList xa, xb;
        xattrs_read(fa, ia, &xa);
        xattrs_read(fb, ib, &xb);
        size_t i = 0, j = 0;
        while (i < xa.n || j < xb.n) {
                const char *a = i < xa.n ? xa.items[i] : NULL, *b = j < xb.n ? xb.items[j] : NULL;
                size_t la = a ? strcspn(a, "=") : 0, lb = b ? strcspn(b, "=") : 0;
                int o = !a ? 1 : !b ? -1 : strncmp(a, b, MAX(la, lb));
                if (o == 0 && la != lb)
                        o = la < lb ? -1 : 1;
                if (o == 0) {
                        if (!streq(a + la, b + lb)) {
                                _cleanup_free_ char *field = xasprintf("xattr %.*s", (int) la, a);
                                diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, field, a + la + 1, b + lb + 1);
                        }
                        i++, j++;
                } else if (o < 0) {
                        _cleanup_free_ char *field = xasprintf("xattr %.*s", (int) la, a);
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, field, a + la + 1, "(none)");
                        i++;
                } else {
                        _cleanup_free_ char *field = xasprintf("xattr %.*s", (int) lb, b);
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, field, "(none)", b + lb + 1);
                        j++;
                }
        }
        strv_free(xa.items);
        strv_free(xb.items);
}

typedef struct BlockList {
        blk64_t *blocks;
        size_t n;
} BlockList;

static int collect_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk, int ref_offset,
                         void *priv) {
        BlockList *l = priv;
        if (l->n % 256 == 0)
                l->blocks = xrealloc(l->blocks, (l->n + 256) * sizeof(blk64_t));
        l->blocks[l->n++] = *blocknr;
        return 0;
}

static void block_list(ext2_filsys fs, ext2_ino_t ino, const struct ext2_inode *inode, BlockList *ret) {
        *ret = (BlockList) {};
        if (!ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *) inode))
                return;
        (void) ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL, collect_block, ret);
}

/* Whether a file's content can be taken as equal without reading it: the same blocks on both
 * sides, none of which lies in a differing 4 KiB block of the partition. */
static bool content_provably_equal(ext2_filsys fa, ext2_ino_t ia, const struct ext2_inode *a, ext2_filsys fb,
                                   ext2_ino_t ib, const struct ext2_inode *b, const RangeResult *bytes) {
        if (ia != ib || (a->i_flags & EXT4_INLINE_DATA_FL) || (b->i_flags & EXT4_INLINE_DATA_FL) ||
            fa->blocksize != fb->blocksize)
                return false;
        BlockList la, lb;
        block_list(fa, ia, a, &la);
        block_list(fb, ib, b, &lb);
        bool equal = la.n == lb.n && la.n > 0 && memcmp(la.blocks, lb.blocks, la.n * sizeof(blk64_t)) == 0;
        for (size_t i = 0; equal && i < la.n; i++)
                for (uint64_t off = la.blocks[i] * fa->blocksize; off < (la.blocks[i] + 1) * fa->blocksize;
                     off += 1u << BITMAP_SHIFT)
                        if (range_bitmap_test(bytes, off))
                                equal = false;
        free(la.blocks);
        free(lb.blocks);
        return equal;
}

static void diff_inodes(Ctx *c, unsigned part, const char *where, const char *path, ext2_filsys fa, ext2_ino_t ia,
                        ext2_filsys fb, ext2_ino_t ib, const RangeResult *bytes) {
        struct ext2_inode_large a = {}, b = {};
        if (ext2fs_read_inode_full(fa, ia, (struct ext2_inode *) &a, sizeof a) ||
            ext2fs_read_inode_full(fb, ib, (struct ext2_inode *) &b, sizeof b)) {
                diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "inode", "(unreadable)", "(unreadable)");
                return;
        }
        const struct ext2_inode *sa = (struct ext2_inode *) &a, *sb = (struct ext2_inode *) &b;
        if ((a.i_mode & LINUX_S_IFMT) != (b.i_mode & LINUX_S_IFMT)) {
                diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "type", mode_type(a.i_mode), mode_type(b.i_mode));
                return; /* nothing else compares meaningfully */
        }
        char va[64], vb[64];
#define CMP_NUM(name, fmt, x, y)                                                         \
        do {                                                                             \
                snprintf(va, sizeof va, fmt, x);                                         \
                snprintf(vb, sizeof vb, fmt, y);                                         \
                if (!streq(va, vb))                                                      \
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, name, va, vb);   \
        } while (0)
        CMP_NUM("mode", "%04o", a.i_mode & 07777u, b.i_mode & 07777u);
        CMP_NUM("uid", "%u", inode_uid(a), inode_uid(b));
        CMP_NUM("gid", "%u", inode_gid(a), inode_gid(b));
        CMP_NUM("size", "%" PRIu64, (uint64_t) EXT2_I_SIZE(&a), (uint64_t) EXT2_I_SIZE(&b));
        CMP_NUM("links", "%u", a.i_links_count, b.i_links_count);
        CMP_NUM("flags", "0x%x", a.i_flags & ~EXT4_INLINE_DATA_FL, b.i_flags & ~EXT4_INLINE_DATA_FL);
        CMP_NUM("generation", "%u", a.i_generation, b.i_generation);
#undef CMP_NUM
        static const struct {
                const char *name;
                size_t sec, extra;
        } times[] = {
                { "mtime", offsetof(struct ext2_inode_large, i_mtime), offsetof(struct ext2_inode_large, i_mtime_extra) },
                { "ctime", offsetof(struct ext2_inode_large, i_ctime), offsetof(struct ext2_inode_large, i_ctime_extra) },
                { "atime", offsetof(struct ext2_inode_large, i_atime), offsetof(struct ext2_inode_large, i_atime_extra) },
                { "crtime", offsetof(struct ext2_inode_large, i_crtime), offsetof(struct ext2_inode_large, i_crtime_extra) },
        };
        for (size_t i = 0; i < ELEMENTSOF(times); i++) {
                const uint8_t *pa = (const uint8_t *) &a, *pb = (const uint8_t *) &b;
                _cleanup_free_ char *ta = inode_time(&a, *(const uint32_t *) (pa + times[i].sec),
                                                     (const uint32_t *) (pa + times[i].extra));
                _cleanup_free_ char *tb = inode_time(&b, *(const uint32_t *) (pb + times[i].sec),
                                                     (const uint32_t *) (pb + times[i].extra));
                if (!streq(ta, tb))
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, times[i].name, ta, tb);
        }
        if (LINUX_S_ISLNK(a.i_mode)) {
                _cleanup_free_ char *la = symlink_target(fa, ia, sa), *lb = symlink_target(fb, ib, sb);
                if (!streq(la, lb))
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "target", la, lb);
        } else if (LINUX_S_ISCHR(a.i_mode) || LINUX_S_ISBLK(a.i_mode)) {
                if (memcmp(a.i_block, b.i_block, 2 * sizeof(uint32_t)) != 0) {
                        snprintf(va, sizeof va, "0x%x/0x%x", a.i_block[0], a.i_block[1]);
                        snprintf(vb, sizeof vb, "0x%x/0x%x", b.i_block[0], b.i_block[1]);
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "rdev", va, vb);
                }
        }
        diff_xattrs(c, part, where, path, fa, ia, fb, ib);
        if (LINUX_S_ISREG(a.i_mode) && !content_provably_equal(fa, ia, sa, fb, ib, sb, bytes)) {
                char da[DIGEST_STRING_MAX], db[DIGEST_STRING_MAX];
                if (file_digest(fa, ia, da) < 0)
                        strcpy(da, "(unreadable)");
                if (file_digest(fb, ib, db) < 0)
                        strcpy(db, "(unreadable)");
                if (!streq(da, db))
                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "content", da, db);
        }
}

/* Last resort, when no field explains differing bytes: where the same files live. */
static void diff_placement(Ctx *c, unsigned part, const char *where, const char *path, ext2_filsys fa,
                           ext2_ino_t ia, ext2_filsys fb, ext2_ino_t ib) {
        char va[32], vb[32];
        if (ia != ib) {
                snprintf(va, sizeof va, "%u", ia);
                snprintf(vb, sizeof vb, "%u", ib);
                diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "inode", va, vb);
                return;
        }
        struct ext2_inode a, b;
        if (ext2fs_read_inode(fa, ia, &a) || ext2fs_read_inode(fb, ib, &b))
                return;
        BlockList la, lb;
        block_list(fa, ia, &a, &la);
        block_list(fb, ib, &b, &lb);
        if (la.n != lb.n || (la.n > 0 && memcmp(la.blocks, lb.blocks, la.n * sizeof(blk64_t)) != 0)) {
                size_t k = 0;
                while (k < la.n && k < lb.n && la.blocks[k] == lb.blocks[k])
                        k++;
                snprintf(va, sizeof va, k < la.n ? "%llu" : "-", k < la.n ? (unsigned long long) la.blocks[k] : 0ULL);
                snprintf(vb, sizeof vb, k < lb.n ? "%llu" : "-", k < lb.n ? (unsigned long long) lb.blocks[k] : 0ULL);
                _cleanup_free_ char *field = xasprintf("block %zu", k);
                diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, field, va, vb);
        }
        free(la.blocks);
        free(lb.blocks);
}

static int ext_open(const Side *s, uint64_t offset, ext2_filsys *ret) {
        _cleanup_free_ char *opt = xasprintf("offset=%" PRIu64, offset);
        errcode_t err = ext2fs_open2(s->path, opt, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
                                     unix_io_manager, ret);
        return err ? -EBADMSG : 0;
}

void diff_ext(Ctx *c, unsigned part, const char *where, const char *fstype, uint64_t a_off, uint64_t b_off,
              const RangeResult *bytes) {
        ext2_filsys fa = NULL, fb = NULL;
        if (ext_open(&c->a, a_off, &fa) < 0 || ext_open(&c->b, b_off, &fb) < 0) {
                log_warning("%s: cannot open the %s filesystem, comparing bytes only", where, fstype);
                if (fa)
                        ext2fs_close_free(&fa);
                return;
        }
        size_t before = c->d->n_entries;
        diff_superblock(c, part, where, fstype, (const uint8_t *) fa->super, (const uint8_t *) fb->super);

        FsList la = {}, lb = {};
        int ra = fs_walk(fa, EXT2_ROOT_INO, "", 0, &la), rb = fs_walk(fb, EXT2_ROOT_INO, "", 0, &lb);
        if (ra < 0 || rb < 0)
                log_warning("%s: cannot read every directory of the %s filesystem", where, fstype);
        if (la.n > 1)
                qsort(la.entries, la.n, sizeof(FsEntry), cmp_fs_entry);
        if (lb.n > 1)
                qsort(lb.entries, lb.n, sizeof(FsEntry), cmp_fs_entry);
        c->last_path = NULL;
        size_t paths_before = c->d->n_paths + c->d->paths_omitted;
        for (size_t i = 0, j = 0; i < la.n || j < lb.n;) {
                int o = i >= la.n ? 1 : j >= lb.n ? -1 : strcmp(la.entries[i].path, lb.entries[j].path);
                if (o < 0)
                        diff_add_path(c, IMAGE_DIFF_ONLY_A, part, where, la.entries[i++].path, NULL, NULL, NULL);
                else if (o > 0)
                        diff_add_path(c, IMAGE_DIFF_ONLY_B, part, where, lb.entries[j++].path, NULL, NULL, NULL);
                else {
                        diff_inodes(c, part, where, la.entries[i].path, fa, la.entries[i].ino, fb, lb.entries[j].ino, bytes);
                        i++, j++;
                }
        }
        if (c->d->n_entries == before && c->d->n_paths + c->d->paths_omitted == paths_before) {
                c->last_path = NULL;
                for (size_t i = 0, j = 0; i < la.n && j < lb.n; i++, j++)
                        diff_placement(c, part, where, la.entries[i].path, fa, la.entries[i].ino, fb, lb.entries[j].ino);
        }
        c->last_path = NULL; /* the lists go away */
        fs_list_done(&la);
        fs_list_done(&lb);
        ext2fs_close_free(&fa);
        ext2fs_close_free(&fb);
}
