#pragma once
/* What differs between two raw disk images, for `baker verify`: partition table fields, then per
 * partition whose bytes differ the filesystem's header fields and the paths whose presence, metadata
 * or content differ (ext4 read offline through libext2fs, FAT through mtools), and raw byte ranges
 * where nothing more specific explains a difference. Equal regions are skipped fast (holes of sparse
 * files are not read), and only partitions whose bytes differ are opened. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define IMAGE_DIFF_MAX_PATHS 50 /* paths listed; the rest are counted in paths_omitted */

typedef enum ImageDiffKind {
        IMAGE_DIFF_TABLE,      /* a partition table field: disk_size, table, disk_guid, a partition's type… */
        IMAGE_DIFF_SUPERBLOCK, /* a filesystem header field (ext4 superblock, FAT boot sector) */
        IMAGE_DIFF_ONLY_A,     /* a path only in the first image */
        IMAGE_DIFF_ONLY_B,     /* a path only in the second image */
        IMAGE_DIFF_FILE,       /* a path in both with one field differing: type, mode, content, … */
        IMAGE_DIFF_BYTES,      /* raw bytes differ and nothing above explains it */
        _IMAGE_DIFF_KIND_MAX,
} ImageDiffKind;

const char *image_diff_kind_to_string(ImageDiffKind k);

typedef struct ImageDiffEntry {
        ImageDiffKind kind;
        unsigned partition; /* 1-based index in the table; 0: the table itself, boot code, gaps */
        char *where;        /* "partition table", "partition 2 (root)", "disk" */
        const char *fs;     /* SUPERBLOCK: "ext4", "vfat"; else NULL */
        char *path;         /* ONLY_A, ONLY_B, FILE: absolute path inside the filesystem */
        char *field;        /* TABLE/SUPERBLOCK/FILE: "disk_guid", "s_mkfs_time", "mode", "content";
                             * BYTES: the region ("backup gpt", "data") */
        char *a, *b;        /* the two values as text (NULL for ONLY_*, BYTES) */
        uint64_t offset, length; /* BYTES: a differing run, in bytes from the start of the image a */
} ImageDiffEntry;

typedef struct ImageDiff {
        char *a_path, *b_path;
        bool identical;         /* byte for byte, sizes included */
        ImageDiffEntry *entries;
        size_t n_entries;
        size_t n_paths;         /* distinct paths listed */
        size_t paths_omitted;   /* further differing paths, counted but not listed */
} ImageDiff;

ImageDiff *image_diff_free(ImageDiff *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageDiff *, image_diff_free);

/* Compares the raw images at a_raw and b_raw. Returns 0 with *ret set (ret->identical tells whether
 * they are equal) or -errno when an image cannot be read (logged). */
int image_diff(const char *a_raw, const char *b_raw, ImageDiff **ret);

/* One human line per entry ("partition 2 (root): ext4 superblock: s_mkfs_time 1700000000 != 1700000100",
 * "partition 2 (root): /etc/machine-id: content differs (sha256:… vs sha256:…)"), then the count of
 * omitted paths; "images are identical" when they are. */
void image_diff_print(const ImageDiff *d, FILE *f);

/* {"identical": bool, "a": path, "b": path, "paths_omitted": n,
 *  "differences": [{"kind", "partition", "where", "fs"?, "path"?, "field"?, "a"?, "b"?, "offset"?, "length"?}]} */
json_t *image_diff_to_json(const ImageDiff *d);

/* The first entry matching kind, path and field (NULL = any), for tests and
 * callers that look for one finding. */
const ImageDiffEntry *image_diff_find(const ImageDiff *d, ImageDiffKind kind, const char *path, const char *field);
