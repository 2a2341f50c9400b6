#pragma once
/* The empty ext4 filesystem ext4.c writes a tree into: the superblock parameters (ext4's features
 * with metadata checksums, 256-byte inodes), its creation at an offset inside an image with every
 * stamp taken from the parameters (no clock, no host property), the group tables, reserved inodes,
 * root directory and journal. Errors are logged, naming the image. Only ext4.c uses this. */
#include <ext2fs/ext2fs.h>
#include <stdint.h>

#include "ext4.h"

/* A libext2fs error as a negative errno (allocation failures as -ENOSPC). */
int ext4_errno(errcode_t e);

void ext4_super_params(const Ext4Params *p, uint64_t blocks, uint32_t bs, uint64_t n_inodes,
                       struct ext2_super_block *param);
/* *ret_fs is set as soon as the filesystem exists: the caller closes it, also after a failure. */
int ext4_fs_create(const char *image, const Ext4Params *p, uint64_t offset, struct ext2_super_block *param,
                   ext2_filsys *ret_fs);
int ext4_fs_lay_out(ext2_filsys fs, const char *image);
/* A journal of libext2fs's default size, or none (logged) below 2048 blocks. */
int ext4_fs_add_journal(ext2_filsys fs, const char *image);
