/* Image diff: cheap byte comparison first (region by region, holes skipped), structure only where
 * bytes differ. */
#include "imagediff.h"

#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "digest.h"
#include "fsprobe.h"
#include "log.h"
#include "partition.h"
#include "process.h"
#include "sparse.h"

#define CHUNK (UINT64_C(1) << 20)
#define BITMAP_SHIFT 12 /* differing bytes are recorded per 4 KiB block */
#define MAX_BYTE_RUNS 3

static const char *const kind_names[_IMAGE_DIFF_KIND_MAX] = {
        [IMAGE_DIFF_TABLE] = "table",     [IMAGE_DIFF_SUPERBLOCK] = "superblock", [IMAGE_DIFF_ONLY_A] = "only-in-a",
        [IMAGE_DIFF_ONLY_B] = "only-in-b", [IMAGE_DIFF_FILE] = "file",            [IMAGE_DIFF_BYTES] = "bytes",
};

const char *image_diff_kind_to_string(ImageDiffKind k) {
        return k < _IMAGE_DIFF_KIND_MAX ? kind_names[k] : NULL;
}

ImageDiff *image_diff_free(ImageDiff *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_entries; i++) {
                ImageDiffEntry *e = d->entries + i;
                free(e->where), free(e->path), free(e->field), free(e->a), free(e->b);
        }
        free(d->entries);
        free(d->a_path), free(d->b_path);
        free(d);
        return NULL;
}

/* One side of the comparison. */
typedef struct Side {
        const char *path;
        int fd;
        uint64_t size;
        DiskLayout *layout;
        /* SEEK_DATA/SEEK_HOLE cache: [ext_start, ext_end) is a hole or data */
        uint64_t ext_start, ext_end;
        bool ext_hole;
        uint8_t *buf;
} Side;

typedef struct Ctx {
        ImageDiff *d;
        Side a, b;
        /* the current partition's state for path counting */
        const char *last_path;
        bool last_path_listed;
} Ctx;

static ImageDiffEntry *add_entry(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where) {
        ImageDiff *d = c->d;
        d->entries = xrealloc(d->entries, (d->n_entries + 1) * sizeof *d->entries);
        ImageDiffEntry *e = d->entries + d->n_entries++;
        *e = (ImageDiffEntry) { .kind = kind, .partition = partition, .where = xstrdup(where) };
        return e;
}

static void add_field(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where, const char *fs,
                      const char *field, const char *a, const char *b) {
        ImageDiffEntry *e = add_entry(c, kind, partition, where);
        e->fs = fs;
        e->field = xstrdup(field);
        e->a = a ? xstrdup(a) : NULL;
        e->b = b ? xstrdup(b) : NULL;
}

/* Path findings are capped by distinct path: the first finding of a path decides whether it is
 * listed; the caller passes paths in order, so one comparison is enough. */
static void add_path(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where, const char *path,
                     const char *field, const char *a, const char *b) {
        if (!c->last_path || !streq(c->last_path, path)) {
                c->last_path = path;
                c->last_path_listed = c->d->n_paths < IMAGE_DIFF_MAX_PATHS;
                if (c->last_path_listed)
                        c->d->n_paths++;
                else
                        c->d->paths_omitted++;
        }
        if (!c->last_path_listed)
                return;
        ImageDiffEntry *e = add_entry(c, kind, partition, where);
        e->path = xstrdup(path);
        e->field = field ? xstrdup(field) : NULL;
        e->a = a ? xstrdup(a) : NULL;
        e->b = b ? xstrdup(b) : NULL;
}

static size_t entries_for(const Ctx *c, unsigned partition) {
        size_t n = 0;
        for (size_t i = 0; i < c->d->n_entries; i++)
                if (c->d->entries[i].partition == partition)
                        n++;
        return n;
}

/* ---- bytes ---- */

static int side_extent(Side *s, uint64_t pos) {
        if (pos >= s->ext_start && pos < s->ext_end)
                return 0;
        if (pos >= s->size) {
                s->ext_start = pos, s->ext_end = UINT64_MAX, s->ext_hole = true; /* past the end: zeros */
                return 0;
        }
        uint64_t data, data_end;
        int r = sparse_next_data(s->fd, pos, s->size, &data, &data_end);
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", s->path);
        s->ext_start = pos;
        s->ext_hole = data > pos;
        s->ext_end = s->ext_hole ? data : data_end;
        return 0;
}

static int side_read(Side *s, uint64_t pos, size_t n) {
        uint8_t *p = s->buf;
        memset(p, 0, n);
        if (pos >= s->size)
                return 0;
        ssize_t k = pread_full(s->fd, p, (size_t) MIN((uint64_t) n, s->size - pos), pos);
        if (k < 0)
                return log_error_errno((int) k, "failed to read '%s': %m", s->path);
        return 0;
}

typedef struct Run {
        uint64_t offset, length; /* relative to the start of the compared range */
} Run;

typedef struct RangeResult {
        bool differ;
        Run runs[MAX_BYTE_RUNS];
        size_t n_runs;
        uint8_t *bitmap; /* one bit per 4 KiB block of the range that differs; NULL unless asked for */
} RangeResult;

static void note_difference(RangeResult *res, uint64_t start, uint64_t end) {
        res->differ = true;
        if (res->bitmap)
                for (uint64_t blk = start >> BITMAP_SHIFT; blk <= (end - 1) >> BITMAP_SHIFT; blk++)
                        res->bitmap[blk >> 3] |= (uint8_t) (1u << (blk & 7));
        /* differences less than a block apart make one run */
        if (res->n_runs > 0 && res->runs[res->n_runs - 1].offset + res->runs[res->n_runs - 1].length + (1u << BITMAP_SHIFT) > start) {
                res->runs[res->n_runs - 1].length = end - res->runs[res->n_runs - 1].offset;
                return;
        }
        if (res->n_runs < MAX_BYTE_RUNS)
                res->runs[res->n_runs++] = (Run) { start, end - start };
}

/* Compares size bytes of a from a_off with b from b_off. Holes on both sides are skipped unread;
 * with want_all false it stops at the first difference. */
static int compare_range(Ctx *c, uint64_t a_off, uint64_t b_off, uint64_t size, bool want_all, bool want_bitmap,
                         RangeResult *res) {
        *res = (RangeResult) {};
        if (want_bitmap)
                res->bitmap = xcalloc(((size >> BITMAP_SHIFT) + 8) / 8 + 1, 1);
        uint64_t pos = 0;
        while (pos < size) {
                int r = side_extent(&c->a, a_off + pos);
                if (r >= 0)
                        r = side_extent(&c->b, b_off + pos);
                if (r < 0)
                        return r;
                uint64_t step = MIN(size - pos, CHUNK);
                step = MIN(step, c->a.ext_end - (a_off + pos));
                step = MIN(step, c->b.ext_end - (b_off + pos));
                if (c->a.ext_hole && c->b.ext_hole) {
                        pos += step;
                        continue;
                }
                r = side_read(&c->a, a_off + pos, step);
                if (r >= 0)
                        r = side_read(&c->b, b_off + pos, step);
                if (r < 0)
                        return r;
                if (memcmp(c->a.buf, c->b.buf, step) != 0) {
                        /* exact start, then 4 KiB granularity */
                        for (uint64_t i = 0; i < step;) {
                                uint64_t blk_end = MIN(step, ((((pos + i) >> BITMAP_SHIFT) + 1) << BITMAP_SHIFT) - pos);
                                if (memcmp(c->a.buf + i, c->b.buf + i, blk_end - i) != 0) {
                                        uint64_t first = i, last = blk_end - 1;
                                        while (c->a.buf[first] == c->b.buf[first])
                                                first++;
                                        while (c->a.buf[last] == c->b.buf[last])
                                                last--;
                                        note_difference(res, pos + first, pos + last + 1);
                                        if (!want_all)
                                                return 0;
                                }
                                i = blk_end;
                        }
                }
                pos += step;
        }
        return 0;
}

static bool bitmap_test(const RangeResult *res, uint64_t byte_offset) {
        uint64_t blk = byte_offset >> BITMAP_SHIFT;
        return res->bitmap[blk >> 3] & (1u << (blk & 7));
}

static void add_byte_runs(Ctx *c, unsigned partition, const char *where, const char *region, uint64_t a_off,
                          const RangeResult *res) {
        for (size_t i = 0; i < res->n_runs; i++) {
                ImageDiffEntry *e = add_entry(c, IMAGE_DIFF_BYTES, partition, where);
                e->field = xstrdup(region);
                e->offset = a_off + res->runs[i].offset;
                e->length = res->runs[i].length;
        }
}

/* ---- partition table ---- */

static char *partition_where(const DiskLayout *l, size_t i) {
        const char *label = l && i < l->n_partitions ? l->partitions[i].label : "";
        return label && *label ? xasprintf("partition %zu (%s)", i + 1, label) : xasprintf("partition %zu", i + 1);
}

static void cmp_u64(Ctx *c, unsigned part, const char *where, const char *field, uint64_t a, uint64_t b) {
        if (a == b)
                return;
        char sa[32], sb[32];
        snprintf(sa, sizeof sa, "%" PRIu64, a);
        snprintf(sb, sizeof sb, "%" PRIu64, b);
        add_field(c, IMAGE_DIFF_TABLE, part, where, NULL, field, sa, sb);
}

static void cmp_str(Ctx *c, ImageDiffKind kind, unsigned part, const char *where, const char *fs, const char *field,
                    const char *a, const char *b) {
        if (!streq(a, b))
                add_field(c, kind, part, where, fs, field, a, b);
}

static void diff_table(Ctx *c) {
        const DiskLayout *a = c->a.layout, *b = c->b.layout;
        cmp_u64(c, 0, "disk", "disk_size", c->a.size, c->b.size);
        if (!a || !b) {
                if (a || b)
                        add_field(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "table",
                                  a ? partition_table_type_to_string(a->table) : "none",
                                  b ? partition_table_type_to_string(b->table) : "none");
                return;
        }
        if (a->table != b->table) {
                add_field(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "table", partition_table_type_to_string(a->table),
                          partition_table_type_to_string(b->table));
                return;
        }
        if (a->table == PARTITION_TABLE_GPT)
                cmp_str(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "disk_guid", a->disk_guid_string,
                        b->disk_guid_string);
        else if (a->mbr_signature != b->mbr_signature) {
                char sa[16], sb[16];
                snprintf(sa, sizeof sa, "%08x", a->mbr_signature);
                snprintf(sb, sizeof sb, "%08x", b->mbr_signature);
                add_field(c, IMAGE_DIFF_TABLE, 0, "partition table", NULL, "mbr_signature", sa, sb);
        }
        cmp_u64(c, 0, "partition table", "partitions", a->n_partitions, b->n_partitions);
        for (size_t i = 0; i < MIN(a->n_partitions, b->n_partitions); i++) {
                const Partition *pa = a->partitions + i, *pb = b->partitions + i;
                _cleanup_free_ char *where = partition_where(a, i);
                unsigned n = (unsigned) i + 1;
                cmp_str(c, IMAGE_DIFF_TABLE, n, where, NULL, "type", pa->type_string, pb->type_string);
                if (a->table == PARTITION_TABLE_GPT)
                        cmp_str(c, IMAGE_DIFF_TABLE, n, where, NULL, "partuuid", pa->uuid_string, pb->uuid_string);
                cmp_u64(c, n, where, "offset", pa->offset, pb->offset);
                cmp_u64(c, n, where, "size", pa->size, pb->size);
                cmp_str(c, IMAGE_DIFF_TABLE, n, where, NULL, "name", pa->label, pb->label);
                if (pa->attributes != pb->attributes) {
                        char sa[32], sb[32];
                        snprintf(sa, sizeof sa, "0x%" PRIx64, pa->attributes);
                        snprintf(sb, sizeof sb, "0x%" PRIx64, pb->attributes);
                        add_field(c, IMAGE_DIFF_TABLE, n, where, NULL, "attributes", sa, sb);
                }
        }
}

/* ---- ext4 ---- */

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
                        add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, fstype, field, va, vb);
                        continue;
                }
                _cleanup_free_ char *va = sb_value(a, off, size, sb_fields[i].kind);
                _cleanup_free_ char *vb = sb_value(b, off, size, sb_fields[i].kind);
                add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, fstype, sb_fields[i].name, va, vb);
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
                add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, fstype, field, va, vb);
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
        char **items; /* "name=sha256:…" */
        size_t n;
} XattrList;

static int collect_xattr(char *name, char *value, size_t value_len, void *priv) {
        XattrList *x = priv;
        uint8_t h[DIGEST_SIZE];
        char hs[DIGEST_STRING_MAX];
        digest_buffer(value, value_len, h);
        digest_to_string(h, hs);
        x->items = xrealloc(x->items, (x->n + 1) * sizeof(char *));
        x->items[x->n++] = xasprintf("%s=%s", name, hs);
        return 0;
}

static int cmp_strp(const void *x, const void *y) {
        return strcmp(*(char *const *) x, *(char *const *) y);
}

static void xattrs_read(ext2_filsys fs, ext2_ino_t ino, XattrList *ret) {
        struct ext2_xattr_handle *h;
        *ret = (XattrList) {};
        if (ext2fs_xattrs_open(fs, ino, &h))
                return;
        if (ext2fs_xattrs_read(h) == 0)
                (void) ext2fs_xattrs_iterate(h, collect_xattr, ret);
        ext2fs_xattrs_close(&h);
        if (ret->n > 1)
                qsort(ret->items, ret->n, sizeof(char *), cmp_strp);
}

static void xattrs_done(XattrList *x) {
        for (size_t i = 0; i < x->n; i++)
                free(x->items[i]);
        free(x->items);
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
                                add_path(c, IMAGE_DIFF_FILE, part, where, path, field, a + la + 1, b + lb + 1);
                        }
                        i++, j++;
                } else if (o < 0) {
                        _cleanup_free_ char *field = xasprintf("xattr %.*s", (int) la, a);
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, field, a + la + 1, "(none)");
                        i++;
                } else {
                        _cleanup_free_ char *field = xasprintf("xattr %.*s", (int) lb, b);
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, field, "(none)", b + lb + 1);
                        j++;
                }
        }
        xattrs_done(&xa);
        xattrs_done(&xb);
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
                        if (bitmap_test(bytes, off))
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
                add_path(c, IMAGE_DIFF_FILE, part, where, path, "inode", "(unreadable)", "(unreadable)");
                return;
        }
        const struct ext2_inode *sa = (struct ext2_inode *) &a, *sb = (struct ext2_inode *) &b;
        if ((a.i_mode & LINUX_S_IFMT) != (b.i_mode & LINUX_S_IFMT)) {
                add_path(c, IMAGE_DIFF_FILE, part, where, path, "type", mode_type(a.i_mode), mode_type(b.i_mode));
                return; /* nothing else compares meaningfully */
        }
        char va[64], vb[64];
#define CMP_NUM(name, fmt, x, y)                                                         \
        do {                                                                             \
                snprintf(va, sizeof va, fmt, x);                                         \
                snprintf(vb, sizeof vb, fmt, y);                                         \
                if (!streq(va, vb))                                                      \
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, name, va, vb);   \
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
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, times[i].name, ta, tb);
        }
        if (LINUX_S_ISLNK(a.i_mode)) {
                _cleanup_free_ char *la = symlink_target(fa, ia, sa), *lb = symlink_target(fb, ib, sb);
                if (!streq(la, lb))
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, "target", la, lb);
        } else if (LINUX_S_ISCHR(a.i_mode) || LINUX_S_ISBLK(a.i_mode)) {
                if (memcmp(a.i_block, b.i_block, 2 * sizeof(uint32_t)) != 0) {
                        snprintf(va, sizeof va, "0x%x/0x%x", a.i_block[0], a.i_block[1]);
                        snprintf(vb, sizeof vb, "0x%x/0x%x", b.i_block[0], b.i_block[1]);
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, "rdev", va, vb);
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
                        add_path(c, IMAGE_DIFF_FILE, part, where, path, "content", da, db);
        }
}

/* Last resort, when no field explains differing bytes: where the same files live. */
static void diff_placement(Ctx *c, unsigned part, const char *where, const char *path, ext2_filsys fa,
                           ext2_ino_t ia, ext2_filsys fb, ext2_ino_t ib) {
        char va[32], vb[32];
        if (ia != ib) {
                snprintf(va, sizeof va, "%u", ia);
                snprintf(vb, sizeof vb, "%u", ib);
                add_path(c, IMAGE_DIFF_FILE, part, where, path, "inode", va, vb);
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
                add_path(c, IMAGE_DIFF_FILE, part, where, path, field, va, vb);
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

static void diff_ext(Ctx *c, unsigned part, const char *where, const char *fstype, uint64_t a_off, uint64_t b_off,
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
                        add_path(c, IMAGE_DIFF_ONLY_A, part, where, la.entries[i++].path, NULL, NULL, NULL);
                else if (o > 0)
                        add_path(c, IMAGE_DIFF_ONLY_B, part, where, lb.entries[j++].path, NULL, NULL, NULL);
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

/* ---- FAT, through mtools ---- */

static int vfat_extract(const Side *s, uint64_t offset, const char *dir) {
        _cleanup_free_ char *img = xasprintf("%s@@%" PRIu64, s->path, offset);
        char *argv[] = { (char *) "mcopy", (char *) "-s", (char *) "-n", (char *) "-m", (char *) "-i", img,
                         (char *) "::/*", (char *) dir, NULL };
        char *env[] = { (char *) "MTOOLS_SKIP_CHECK=1", NULL };
        _cleanup_free_ char *out = NULL;
        int r = process_run(argv, env, &out);
        if (r != 0 && !(out && strstr(out, "No match"))) /* an empty filesystem */
                return r < 0 ? r : -EPROTO;
        return 0;
}

typedef struct HostList {
        char **paths;
        size_t n;
        size_t prefix;
} HostList;

static HostList *walk_target;

static int walk_add(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftw) {
        if (ftw->level == 0)
                return 0;
        walk_target->paths = xrealloc(walk_target->paths, (walk_target->n + 1) * sizeof(char *));
        walk_target->paths[walk_target->n++] = xstrdup(fpath + walk_target->prefix);
        return 0;
}

static void host_list(const char *dir, HostList *ret) {
        *ret = (HostList) { .prefix = strlen(dir) };
        walk_target = ret;
        (void) nftw(dir, walk_add, 16, FTW_PHYS);
        walk_target = NULL;
        if (ret->n > 1)
                qsort(ret->paths, ret->n, sizeof(char *), cmp_strp);
}

static void host_list_done(HostList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->paths[i]);
        free(l->paths);
}

static void diff_vfat(Ctx *c, unsigned part, const char *where, const FsInfo *ia, const FsInfo *ib, uint64_t a_off,
                      uint64_t b_off) {
        cmp_str(c, IMAGE_DIFF_SUPERBLOCK, part, where, "vfat", "volume_id", ia->uuid, ib->uuid);
        cmp_str(c, IMAGE_DIFF_SUPERBLOCK, part, where, "vfat", "label", ia->label, ib->label);
        if (ia->fat_bits != ib->fat_bits) {
                char sa[8], sb[8];
                snprintf(sa, sizeof sa, "%u", ia->fat_bits);
                snprintf(sb, sizeof sb, "%u", ib->fat_bits);
                add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, "vfat", "fat_bits", sa, sb);
        }
        const char *tmp = tmp_dir();
        _cleanup_free_ char *top = tmp_template("baker-diff");
        if (!mkdtemp(top)) {
                log_warning("cannot make a temporary directory in '%s': %m", tmp);
                return;
        }
        _cleanup_free_ char *da = path_join(top, "a"), *db = path_join(top, "b");
        HostList la = {}, lb = {};
        if (mkdir(da, 0700) < 0 || mkdir(db, 0700) < 0 || vfat_extract(&c->a, a_off, da) < 0 ||
            vfat_extract(&c->b, b_off, db) < 0) {
                log_warning("%s: cannot list the fat filesystem with mtools, comparing bytes only", where);
                goto finish;
        }
        host_list(da, &la);
        host_list(db, &lb);
        c->last_path = NULL;
        for (size_t i = 0, j = 0; i < la.n || j < lb.n;) {
                int o = i >= la.n ? 1 : j >= lb.n ? -1 : strcmp(la.paths[i], lb.paths[j]);
                if (o < 0) {
                        add_path(c, IMAGE_DIFF_ONLY_A, part, where, la.paths[i++], NULL, NULL, NULL);
                        continue;
                }
                if (o > 0) {
                        add_path(c, IMAGE_DIFF_ONLY_B, part, where, lb.paths[j++], NULL, NULL, NULL);
                        continue;
                }
                const char *path = la.paths[i];
                _cleanup_free_ char *pa = path_join(da, path), *pb = path_join(db, path);
                struct stat sa, sb;
                if (lstat(pa, &sa) == 0 && lstat(pb, &sb) == 0) {
                        char va[64], vb[64];
                        if (S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode))
                                add_path(c, IMAGE_DIFF_FILE, part, where, path, "type",
                                         S_ISDIR(sa.st_mode) ? "directory" : "regular file",
                                         S_ISDIR(sb.st_mode) ? "directory" : "regular file");
                        else if (!S_ISDIR(sa.st_mode)) {
                                snprintf(va, sizeof va, "%lld", (long long) sa.st_mtime);
                                snprintf(vb, sizeof vb, "%lld", (long long) sb.st_mtime);
                                if (!streq(va, vb))
                                        add_path(c, IMAGE_DIFF_FILE, part, where, path, "mtime", va, vb);
                                if (sa.st_size != sb.st_size) {
                                        snprintf(va, sizeof va, "%lld", (long long) sa.st_size);
                                        snprintf(vb, sizeof vb, "%lld", (long long) sb.st_size);
                                        add_path(c, IMAGE_DIFF_FILE, part, where, path, "size", va, vb);
                                }
                                uint8_t ha[DIGEST_SIZE], hb[DIGEST_SIZE];
                                char sha[DIGEST_STRING_MAX], shb[DIGEST_STRING_MAX];
                                if (digest_file(pa, ha, NULL) >= 0 && digest_file(pb, hb, NULL) >= 0 &&
                                    memcmp(ha, hb, DIGEST_SIZE) != 0) {
                                        digest_to_string(ha, sha);
                                        digest_to_string(hb, shb);
                                        add_path(c, IMAGE_DIFF_FILE, part, where, path, "content", sha, shb);
                                }
                        }
                }
                i++, j++;
        }
finish:
        c->last_path = NULL;
        host_list_done(&la);
        host_list_done(&lb);
        (void) rm_rf(top);
}

/* ---- regions ---- */

static const char *disk_region(const DiskLayout *l, uint64_t offset, bool after_last) {
        if (offset < 440)
                return "boot code";
        if (offset < 512)
                return l && l->table == PARTITION_TABLE_GPT ? "protective mbr" : "mbr";
        if (l && l->table == PARTITION_TABLE_GPT && offset < 1024)
                return "gpt header";
        if (l && l->table == PARTITION_TABLE_GPT && offset < 1024 + 128 * 128)
                return "gpt entries";
        if (after_last)
                return l && l->table == PARTITION_TABLE_GPT ? "end of disk (backup gpt)" : "end of disk";
        return "between partitions";
}

static int diff_partition(Ctx *c, size_t i) {
        const Partition *pa = c->a.layout->partitions + i, *pb = c->b.layout->partitions + i;
        unsigned part = (unsigned) i + 1;
        _cleanup_free_ char *where = partition_where(c->a.layout, i);
        RangeResult res;
        int r = compare_range(c, pa->offset, pb->offset, MIN(pa->size, pb->size), true, true, &res);
        if (r < 0 || !res.differ) {
                free(res.bitmap);
                return r;
        }
        size_t before = entries_for(c, part);
        FsInfo ia, ib;
        if (fsprobe(c->a.fd, pa->offset, pa->size, &ia) >= 0 && fsprobe(c->b.fd, pb->offset, pb->size, &ib) >= 0) {
                if (!streq_ptr(ia.type, ib.type))
                        add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, "filesystem", "type", ia.type ?: "(none)",
                                  ib.type ?: "(none)");
                else if (ia.type && startswith(ia.type, "ext"))
                        diff_ext(c, part, where, ia.type, pa->offset, pb->offset, &res);
                else if (ia.type && streq(ia.type, "vfat"))
                        diff_vfat(c, part, where, &ia, &ib, pa->offset, pb->offset);
        }
        if (entries_for(c, part) == before)
                add_byte_runs(c, part, where, ia.type ? ia.type : "data", pa->offset, &res);
        free(res.bitmap);
        return 0;
}

/* Bytes of the disk outside a's partitions, compared at the same offsets. */
static int diff_gaps(Ctx *c) {
        const DiskLayout *l = c->a.layout;
        uint64_t size = MAX(c->a.size, c->b.size), pos = 0;
        bool table_explains = false; /* a table that differs differs in its own bytes */
        for (size_t i = 0; i < c->d->n_entries; i++)
                if (c->d->entries[i].kind == IMAGE_DIFF_TABLE)
                        table_explains = true;
        for (size_t i = 0; i <= (l ? l->n_partitions : 0); i++) {
                uint64_t end = l && i < l->n_partitions ? l->partitions[i].offset : size;
                if (end > pos) {
                        RangeResult res;
                        int r = compare_range(c, pos, pos, end - pos, !table_explains, false, &res);
                        if (r < 0)
                                return r;
                        if (res.differ && !table_explains)
                                for (size_t k = 0; k < res.n_runs; k++) {
                                        ImageDiffEntry *e = add_entry(c, IMAGE_DIFF_BYTES, 0, "disk");
                                        e->offset = pos + res.runs[k].offset;
                                        e->length = res.runs[k].length;
                                        e->field = xstrdup(disk_region(l, e->offset, l && i == l->n_partitions));
                                }
                        if (res.differ)
                                c->d->identical = false;
                }
                if (l && i < l->n_partitions)
                        pos = MAX(pos, l->partitions[i].offset + l->partitions[i].size);
        }
        return 0;
}

static int side_open(Side *s, const char *path) {
        s->path = path;
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", path);
        struct stat st;
        if (fstat(s->fd, &st) < 0)
                return log_error_errno(-errno, "cannot stat '%s': %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "'%s' is not a regular file", path);
        s->size = (uint64_t) st.st_size;
        s->ext_end = 0;
        s->buf = xmalloc(CHUNK);
        int r = disk_layout_read(s->fd, &s->layout);
        if (r < 0 && r != -ENOMEDIUM)
                log_warning("'%s': cannot read the partition table, comparing bytes only", path);
        return 0;
}

static void side_close(Side *s) {
        if (s->fd >= 0)
                close(s->fd);
        disk_layout_free(s->layout);
        free(s->buf);
}

int image_diff(const char *a_raw, const char *b_raw, ImageDiff **ret) {
        _cleanup_(image_diff_freep) ImageDiff *d = xcalloc(1, sizeof *d);
        d->a_path = xstrdup(a_raw);
        d->b_path = xstrdup(b_raw);
        Ctx c = { .d = d, .a = { .fd = -1 }, .b = { .fd = -1 } };
        int r = side_open(&c.a, a_raw);
        if (r >= 0)
                r = side_open(&c.b, b_raw);
        if (r < 0)
                goto finish;

        diff_table(&c);
        d->identical = d->n_entries == 0;
        if (c.a.layout && c.b.layout) {
                size_t n = MIN(c.a.layout->n_partitions, c.b.layout->n_partitions);
                for (size_t i = 0; i < n && r >= 0; i++) {
                        size_t before = d->n_entries + d->paths_omitted;
                        r = diff_partition(&c, i);
                        if (d->n_entries + d->paths_omitted != before)
                                d->identical = false;
                }
                if (r >= 0)
                        r = diff_gaps(&c);
        } else if (!c.a.layout && !c.b.layout) {
                /* No tables: maybe bare filesystems, compared as one region. */
                RangeResult res;
                r = compare_range(&c, 0, 0, MAX(c.a.size, c.b.size), true, true, &res);
                if (r >= 0 && res.differ) {
                        d->identical = false;
                        FsInfo ia = {}, ib = {};
                        (void) fsprobe(c.a.fd, 0, c.a.size, &ia);
                        (void) fsprobe(c.b.fd, 0, c.b.size, &ib);
                        size_t before = d->n_entries;
                        if (ia.type && ib.type && streq(ia.type, ib.type) && startswith(ia.type, "ext"))
                                diff_ext(&c, 0, "filesystem", ia.type, 0, 0, &res);
                        if (d->n_entries == before || (d->n_entries == 1 && streq(d->entries[0].field, "disk_size")))
                                add_byte_runs(&c, 0, "disk", "data", 0, &res);
                }
                free(res.bitmap);
        }
finish:
        side_close(&c.a);
        side_close(&c.b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

void image_diff_print(const ImageDiff *d, FILE *f) {
        if (d->identical) {
                fprintf(f, "images are identical\n");
                return;
        }
        for (size_t i = 0; i < d->n_entries; i++) {
                const ImageDiffEntry *e = d->entries + i;
                switch (e->kind) {
                case IMAGE_DIFF_TABLE:
                        fprintf(f, "%s: %s %s != %s\n", e->where, e->field, e->a, e->b);
                        break;
                case IMAGE_DIFF_SUPERBLOCK:
                        fprintf(f, "%s: %s superblock: %s %s != %s\n", e->where, e->fs, e->field, e->a, e->b);
                        break;
                case IMAGE_DIFF_ONLY_A:
                        fprintf(f, "%s: %s: only in '%s'\n", e->where, e->path, d->a_path);
                        break;
                case IMAGE_DIFF_ONLY_B:
                        fprintf(f, "%s: %s: only in '%s'\n", e->where, e->path, d->b_path);
                        break;
                case IMAGE_DIFF_FILE:
                        if (streq(e->field, "content"))
                                fprintf(f, "%s: %s: content differs (%s vs %s)\n", e->where, e->path, e->a, e->b);
                        else
                                fprintf(f, "%s: %s: %s %s != %s\n", e->where, e->path, e->field, e->a, e->b);
                        break;
                case IMAGE_DIFF_BYTES:
                        fprintf(f, "%s: bytes differ in %s at offset %" PRIu64 " (0x%" PRIx64 "), %" PRIu64 " bytes\n",
                                e->where, e->field, e->offset, e->offset, e->length);
                        break;
                default:
                        break;
                }
        }
        if (d->paths_omitted > 0)
                fprintf(f, "… and %zu more paths differ\n", d->paths_omitted);
        if (d->n_entries == 0 && d->paths_omitted == 0)
                fprintf(f, "images differ\n");
}

json_t *image_diff_to_json(const ImageDiff *d) {
        json_t *list = json_array();
        for (size_t i = 0; i < d->n_entries; i++) {
                const ImageDiffEntry *e = d->entries + i;
                json_t *o = json_pack("{s:s, s:I, s:s}", "kind", image_diff_kind_to_string(e->kind), "partition",
                                      (json_int_t) e->partition, "where", e->where);
                if (e->fs)
                        json_object_set_new(o, "fs", json_string(e->fs));
                if (e->path)
                        json_object_set_new(o, "path", json_string(e->path));
                if (e->field)
                        json_object_set_new(o, e->kind == IMAGE_DIFF_BYTES ? "region" : "field", json_string(e->field));
                if (e->a)
                        json_object_set_new(o, "a", json_string(e->a));
                if (e->b)
                        json_object_set_new(o, "b", json_string(e->b));
                if (e->kind == IMAGE_DIFF_BYTES) {
                        json_object_set_new(o, "offset", json_integer((json_int_t) e->offset));
                        json_object_set_new(o, "length", json_integer((json_int_t) e->length));
                }
                json_array_append_new(list, o);
        }
        return json_pack("{s:b, s:s, s:s, s:o, s:I}", "identical", d->identical, "a", d->a_path, "b", d->b_path,
                         "differences", list, "paths_omitted", (json_int_t) d->paths_omitted);
}

const ImageDiffEntry *image_diff_find(const ImageDiff *d, ImageDiffKind kind, const char *path, const char *field) {
        for (size_t i = 0; i < d->n_entries; i++) {
                const ImageDiffEntry *e = d->entries + i;
                if (e->kind == kind && (!path || streq_ptr(e->path, path)) && (!field || streq_ptr(e->field, field)))
                        return e;
        }
        return NULL;
}
