#pragma once
/* Writes an ext4 filesystem from a Tree, offline, through libext2fs: byte-identical output for the same
 * Tree and parameters (UUID and hash seed given, every time clamped to the epoch, no random anything). */
#include <stdbool.h>
#include <stdint.h>

#include "tree.h"

typedef struct Ext4Params {
        uint8_t uuid[16];
        uint8_t hash_seed[16];
        const char *label;  /* up to 16 bytes; NULL = none */
        int64_t epoch;      /* every timestamp in the filesystem; file mtimes newer than it are clamped */
        uint64_t size_bytes;
        uint32_t block_size; /* 1024, 2048 or 4096; 0 = 4096 */
        bool journal;
} Ext4Params;

/* Writes the filesystem for the entries of t at or below subtree ("" = the whole tree; "boot" makes
 * /boot the root of the filesystem), leaving out what is below each path in exclude (the mount points of
 * other partitions stay, empty), into image_path at byte offset (a partition inside a disk image; the
 * file is created or extended as needed and the range [offset, offset+size_bytes) is zeroed first).
 * -ENOSPC (logged with the bytes needed and the partition size) when the tree does not fit. */
int ext4_write(const Tree *t, const char *subtree, const char *const *exclude, const char *image_path,
               uint64_t offset, const Ext4Params *p);

/* An estimate of the bytes an ext4 filesystem holding that part of the tree needs (data, directories,
 * metadata, journal), for sizing partitions. */
uint64_t ext4_estimate_size(const Tree *t, const char *subtree, const char *const *exclude, uint32_t block_size,
                            bool journal);
