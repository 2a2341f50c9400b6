#pragma once
/* FAT filesystems written offline into a partition of a disk image: mkfs.vfat --invariant at the
 * partition's offset, then directories and files through mtools, every timestamp = the epoch, so
 * the same entries give the same bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One file or directory to put on the filesystem. Parent directories are created as needed. The
 * content comes from host_file when set, else from data/size. */
typedef struct VfatEntry {
        const char *path;      /* absolute inside the filesystem: "/EFI/BOOT/BOOTX64.EFI" */
        bool is_dir;
        const char *host_file;
        const void *data;
        size_t size;
} VfatEntry;

typedef struct VfatOptions {
        const char *label;     /* at most 11 characters; upper-cased; NULL = "NO NAME" */
        uint32_t volume_id;    /* the serial number; derive it from the bake key */
        uint64_t epoch;        /* SOURCE_DATE_EPOCH for every timestamp */
        unsigned fat_bits;     /* 12, 16, 32, or 0: FAT32 from 48 MiB on, mkfs.vfat's choice below */
} VfatOptions;

/* Makes a FAT filesystem of `size` bytes at byte `offset` (a multiple of 512) of the image file
 * and fills it with the entries, in order. Logs errors. */
int vfat_write(const char *image_path, uint64_t offset, uint64_t size, const VfatOptions *o,
               const VfatEntry *entries, size_t n_entries);

/* Adds entries to an existing FAT filesystem at `offset` (existing files are overwritten). */
int vfat_add(const char *image_path, uint64_t offset, uint64_t epoch, const VfatEntry *entries, size_t n_entries);
