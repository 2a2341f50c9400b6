#pragma once
/* Adding names to the directories of an ext4 filesystem being written, in constant time a name.
 *
 * libext2fs's ext2fs_link() finds room for a name by walking every entry of the directory, and
 * ext2fs_mkdir()/ext2fs_symlink() look the name up first the same way: a directory of n names
 * costs O(n^2) (40,000 files in one folder took two minutes). The writer only ever adds names, so
 * the only free room in a directory block is the slack after its last entry: remembering, per
 * block, where that last entry is and how much room it leaves is enough to place a name exactly
 * where ext2fs_link() would have (the first block with room, the entry split the same way), so
 * the filesystem comes out byte for byte the same, only faster. A full directory grows by
 * ext2fs_expand_dir(), as before. */
#include <ext2fs/ext2fs.h>

typedef struct Ext4Dir Ext4Dir; /* the blocks of one directory: made on first use */

/* Makes sure the directory dir_ino (whose state *d holds) has room for a name of namelen bytes,
 * growing it by a block when it has not. Call it before allocating what the name will point to,
 * as ext2fs_link's callers grew the directory first too. */
errcode_t ext4_dir_make_room(ext2_filsys fs, Ext4Dir **d, ext2_ino_t dir_ino, size_t namelen);

/* Adds name -> ino (of EXT2_FT_* type ft) to the directory, growing it if needed. */
errcode_t ext4_dir_add(ext2_filsys fs, Ext4Dir **d, ext2_ino_t dir_ino, const char *name, ext2_ino_t ino, int ft);

void ext4_dir_free(Ext4Dir *d);
