/* The empty filesystem a tree is written into: see ext4-format.h. */
#include "ext4-format.h"

#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "util.h"

int ext4_errno(errcode_t e) {
        if (e > 0 && e < 256)
                return -(int) e;
        if (e == EXT2_ET_BLOCK_ALLOC_FAIL || e == EXT2_ET_INODE_ALLOC_FAIL || e == EXT2_ET_DIR_NO_SPACE)
                return -ENOSPC;
        return -EIO;
}

/* The superblock baker asks libext2fs for: ext4's features with metadata checksums, 256-byte
 * inodes, enough of them for the tree, 5% reserved. */
void ext4_super_params(const Ext4Params *p, uint64_t blocks, uint32_t bs, uint64_t n_inodes,
                         struct ext2_super_block *param) {
        ext2fs_blocks_count_set(param, blocks);
        param->s_log_block_size = (uint32_t) (__builtin_ctz(bs) - 10);
        param->s_log_cluster_size = param->s_log_block_size;
        param->s_rev_level = EXT2_DYNAMIC_REV;
        param->s_inode_size = 256;
        param->s_min_extra_isize = param->s_want_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
        param->s_log_groups_per_flex = 4;
        param->s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
        param->s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_DIR_INDEX;
        param->s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
                                     EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
                                     EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
        param->s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
                                    EXT4_FEATURE_INCOMPAT_FLEX_BG | EXT4_FEATURE_INCOMPAT_64BIT;
        uint64_t want_inodes = MAX(p->size_bytes / 16384, n_inodes + n_inodes / 8 + 64);
        param->s_inodes_count = (uint32_t) MIN(want_inodes, (uint64_t) UINT32_MAX - 1);
        ext2fs_r_blocks_count_set(param, blocks * 5 / 100);
}

/* Creates the filesystem at offset and stamps its superblock from the parameters alone: no clock,
 * no host property (char signedness) reaches it. */
int ext4_fs_create(const char *image, const Ext4Params *p, uint64_t offset, struct ext2_super_block *param,
                   ext2_filsys *ret_fs) {
        errcode_t err = ext2fs_initialize(image, EXT2_FLAG_64BITS, param, unix_io_manager, ret_fs);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot create a filesystem of %" PRIu64 " bytes: %s",
                                       image, p->size_bytes, error_message(err));
        ext2_filsys fs = *ret_fs; /* the caller closes it, also on failure */
        if (offset > 0) {
                _cleanup_free_ char *opt = xasprintf("offset=%" PRIu64, offset);
                err = io_channel_set_options(fs->io, opt);
                if (err)
                        return log_error_errno(-EIO, "ext4 '%s': cannot set offset %" PRIu64 ": %s", image, offset,
                                               error_message(err));
        }
        /* libext2fs takes "now" from here where it would call time(): everything it stamps is the epoch. */
        fs->now = p->epoch;
        struct ext2_super_block *sb = fs->super;
        memcpy(sb->s_uuid, p->uuid, 16);
        memcpy(sb->s_hash_seed, p->hash_seed, 16);
        sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
        sb->s_flags |= EXT2_FLAGS_SIGNED_HASH; /* fixed, not the host's char signedness */
        sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
        sb->s_mkfs_time = sb->s_lastcheck = sb->s_wtime = (uint32_t) p->epoch;
        sb->s_mtime = 0;
        sb->s_max_mnt_count = (uint16_t) -1;
        sb->s_checkinterval = 0;
        sb->s_kbytes_written = 0;
        sb->s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
        if (p->label)
                strncpy((char *) sb->s_volume_name, p->label, sizeof(sb->s_volume_name));
        ext2fs_init_csum_seed(fs);
        return 0;
}

/* Group tables, the reserved inodes, the root directory and the bad blocks inode. */
int ext4_fs_lay_out(ext2_filsys fs, const char *image) {
        struct ext2_super_block *sb = fs->super;
        errcode_t err = ext2fs_allocate_tables(fs);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot allocate group tables: %s", image,
                                       error_message(err));
        /* The range was zeroed before, so the inode tables are too: say so, and the kernel never runs
         * its lazy init over them. */
        for (dgrp_t g = 0; g < fs->group_desc_count; g++)
                ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);

        struct ext2_inode_large zero_inode = {};
        zero_inode.i_extra_isize = sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
        for (ext2_ino_t i = 1; i < EXT2_FIRST_INODE(sb); i++) {
                err = ext2fs_write_inode_full(fs, i, (struct ext2_inode *) &zero_inode, sizeof(zero_inode));
                if (err)
                        return log_error_errno(-EIO, "ext4 '%s': cannot write reserved inodes: %s", image, error_message(err));
        }
        err = ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, NULL);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot create the root directory: %s", image,
                                       error_message(err));
        for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(sb); i++)
                ext2fs_inode_alloc_stats2(fs, i, +1, 0);
        ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
        ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
        err = ext2fs_update_bb_inode(fs, NULL);
        if (err)
                return log_error_errno(-EIO, "ext4 '%s': cannot write the bad blocks inode: %s", image, error_message(err));
        return 0;
}

int ext4_fs_add_journal(ext2_filsys fs, const char *image) {
        if (ext2fs_blocks_count(fs->super) < 2048) {
                log_info("ext4 '%s': %" PRIu64 " blocks is too small for a journal, writing none", image,
                         (uint64_t) ext2fs_blocks_count(fs->super));
                return 0;
        }
        struct ext2fs_journal_params jp;
        errcode_t err = ext2fs_get_journal_params(&jp, fs);
        /* The blocks are zero already (the range was punched), so no need to write zeros. */
        if (!err)
                err = ext2fs_add_journal_inode3(fs, &jp, ~0ULL, EXT2_MKJOURNAL_NO_MNT_CHECK | EXT2_MKJOURNAL_LAZYINIT);
        if (err)
                return log_error_errno(ext4_errno(err), "ext4 '%s': cannot create the journal: %s", image,
                                       error_message(err));
        return 0;
}
