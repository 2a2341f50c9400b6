#pragma once
/* The parts of the image diff share these: imagediff.c (the driver: findings, partition table,
 * regions, output), imagediff-bytes.c (byte ranges, holes skipped), imagediff-ext4.c (libext2fs)
 * and imagediff-vfat.c (mtools). */
#include <stdbool.h>
#include <stdint.h>

#include "fsprobe.h"
#include "imagediff.h"
#include "partition.h"

#define CHUNK (UINT64_C(1) << 20)
#define BITMAP_SHIFT 12 /* differing bytes are recorded per 4 KiB block */
#define MAX_BYTE_RUNS 3

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

typedef struct Run {
        uint64_t offset, length; /* relative to the start of the compared range */
} Run;

typedef struct RangeResult {
        bool differ;
        Run runs[MAX_BYTE_RUNS];
        size_t n_runs;
        uint8_t *bitmap; /* one bit per 4 KiB block of the range that differs; NULL unless asked for */
} RangeResult;

/* Findings (imagediff.c). Paths are capped by distinct path (IMAGE_DIFF_MAX_PATHS): pass them in
 * order. */
ImageDiffEntry *diff_add_entry(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where);
void diff_add_field(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where, const char *fs,
                    const char *field, const char *a, const char *b);
void diff_add_path(Ctx *c, ImageDiffKind kind, unsigned partition, const char *where, const char *path,
                   const char *field, const char *a, const char *b);
/* A field finding when a and b differ. */
void diff_cmp_str(Ctx *c, ImageDiffKind kind, unsigned part, const char *where, const char *fs, const char *field,
                  const char *a, const char *b);

/* Byte ranges (imagediff-bytes.c). */
int range_compare(Ctx *c, uint64_t a_off, uint64_t b_off, uint64_t size, bool want_all, bool want_bitmap,
                  RangeResult *res);
/* Whether the 4 KiB block holding byte_offset (relative to the range) differs; needs want_bitmap. */
bool range_bitmap_test(const RangeResult *res, uint64_t byte_offset);
void range_add_byte_runs(Ctx *c, unsigned partition, const char *where, const char *region, uint64_t a_off,
                         const RangeResult *res);

/* Filesystems whose bytes differ: fields and paths (imagediff-ext4.c, imagediff-vfat.c). bytes is
 * the partition's range_compare() result with a bitmap: files in equal blocks are not read. */
void diff_ext(Ctx *c, unsigned part, const char *where, const char *fstype, uint64_t a_off, uint64_t b_off,
              const RangeResult *bytes);
void diff_vfat(Ctx *c, unsigned part, const char *where, const FsInfo *ia, const FsInfo *ib, uint64_t a_off,
               uint64_t b_off);
