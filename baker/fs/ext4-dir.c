#include "ext4-dir.h"

#include <string.h>

#include "util.h"

struct Ext4Dir {
        ext2_ino_t ino;
        size_t n;       /* blocks known (the directory's size in blocks) */
        blk64_t *pblk;  /* physical block of each logical block */
        uint16_t *last; /* offset of each block's last entry */
        uint16_t *room; /* bytes a new entry can take there: the last entry's slack (all of it if unused) */
};

static unsigned tail_size(ext2_filsys fs) {
        return ext2fs_has_feature_metadata_csum(fs->super) ? sizeof(struct ext2_dir_entry_tail) : 0;
}

/* Where block k's last entry is, and its room. */
static errcode_t scan_block(ext2_filsys fs, Ext4Dir *d, struct ext2_inode *inode, size_t k, char *buf) {
        blk64_t pblk = 0;
        errcode_t err = ext2fs_bmap2(fs, d->ino, inode, NULL, 0, k, NULL, &pblk);
        if (!err && !pblk)
                err = EXT2_ET_DIR_CORRUPTED;
        if (!err)
                err = ext2fs_read_dir_block4(fs, pblk, buf, 0, d->ino);
        if (err)
                return err;
        unsigned end = fs->blocksize - tail_size(fs), off = 0, rec_len = 0;
        for (;;) {
                err = ext2fs_get_rec_len(fs, (struct ext2_dir_entry *) (buf + off), &rec_len);
                if (err)
                        return err;
                if (rec_len < 8 || off + rec_len > end)
                        return EXT2_ET_DIR_CORRUPTED;
                if (off + rec_len == end)
                        break;
                off += rec_len;
        }
        struct ext2_dir_entry *e = (struct ext2_dir_entry *) (buf + off);
        unsigned used = e->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(e)) : 0;
        if (used > rec_len)
                return EXT2_ET_DIR_CORRUPTED;
        d->pblk[k] = pblk;
        d->last[k] = (uint16_t) off;
        d->room[k] = (uint16_t) (rec_len - used);
        return 0;
}

/* Brings the block list up to the directory's size: every block on first use, the new one after
 * a grow. */
static errcode_t refresh(ext2_filsys fs, Ext4Dir *d) {
        struct ext2_inode inode;
        errcode_t err = ext2fs_read_inode(fs, d->ino, &inode);
        if (err)
                return err;
        size_t n = (size_t) (EXT2_I_SIZE(&inode) / fs->blocksize);
        if (n <= d->n)
                return 0;
        d->pblk = xrealloc(d->pblk, n * sizeof(blk64_t));
        d->last = xrealloc(d->last, n * sizeof(uint16_t));
        d->room = xrealloc(d->room, n * sizeof(uint16_t));
        _cleanup_free_ char *buf = xmalloc(fs->blocksize);
        for (size_t k = d->n; k < n; k++) {
                err = scan_block(fs, d, &inode, k, buf);
                if (err)
                        return err;
                d->n = k + 1;
        }
        return 0;
}

/* The first block with room for need bytes (ext2fs_link's choice), growing the directory when
 * none has. */
static errcode_t find_room(ext2_filsys fs, Ext4Dir **dp, ext2_ino_t dir_ino, unsigned need, size_t *ret) {
        if (!*dp) {
                *dp = xcalloc(1, sizeof(Ext4Dir));
                (*dp)->ino = dir_ino;
        }
        Ext4Dir *d = *dp;
        errcode_t err = refresh(fs, d);
        if (err)
                return err;
        for (size_t k = 0; k < d->n; k++)
                if (d->room[k] >= need) {
                        *ret = k;
                        return 0;
                }
        err = ext2fs_expand_dir(fs, dir_ino);
        if (!err)
                err = refresh(fs, d);
        if (err)
                return err;
        if (d->n == 0 || d->room[d->n - 1] < need)
                return EXT2_ET_DIR_NO_SPACE;
        *ret = d->n - 1;
        return 0;
}

errcode_t ext4_dir_make_room(ext2_filsys fs, Ext4Dir **d, ext2_ino_t dir_ino, size_t namelen) {
        size_t k;
        return find_room(fs, d, dir_ino, EXT2_DIR_REC_LEN(namelen), &k);
}

errcode_t ext4_dir_add(ext2_filsys fs, Ext4Dir **dp, ext2_ino_t dir_ino, const char *name, ext2_ino_t ino, int ft) {
        size_t namelen = strlen(name), k;
        if (namelen == 0 || namelen > EXT2_NAME_LEN)
                return EXT2_ET_INVALID_ARGUMENT;
        unsigned need = EXT2_DIR_REC_LEN(namelen);
        errcode_t err = find_room(fs, dp, dir_ino, need, &k);
        if (err)
                return err;
        Ext4Dir *d = *dp;
        _cleanup_free_ char *buf = xmalloc(fs->blocksize);
        err = ext2fs_read_dir_block4(fs, d->pblk[k], buf, 0, dir_ino);
        if (err)
                return err;
        struct ext2_dir_entry *e = (struct ext2_dir_entry *) (buf + d->last[k]);
        unsigned rec_len = 0, off = d->last[k];
        err = ext2fs_get_rec_len(fs, e, &rec_len);
        if (!err && e->inode) {
                /* Split the last entry: it keeps what its name needs, the new one takes the rest. */
                unsigned used = EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(e));
                err = ext2fs_set_rec_len(fs, used, e);
                off += used;
                rec_len -= used;
                e = (struct ext2_dir_entry *) (buf + off);
                if (!err)
                        err = ext2fs_set_rec_len(fs, rec_len, e);
        }
        if (err)
                return err;
        e->inode = ino;
        ext2fs_dirent_set_name_len(e, (int) namelen);
        ext2fs_dirent_set_file_type(e, ext2fs_has_feature_filetype(fs->super) ? ft & 7 : 0);
        memcpy(e->name, name, namelen);
        err = ext2fs_write_dir_block4(fs, d->pblk[k], buf, 0, dir_ino);
        if (err)
                return err;
        d->last[k] = (uint16_t) off;
        d->room[k] = (uint16_t) (rec_len - need);
        return 0;
}

void ext4_dir_free(Ext4Dir *d) {
        if (!d)
                return;
        free(d->pblk);
        free(d->last);
        free(d->room);
        free(d);
}
