#pragma once
/* Output formats made from the finished raw disk image: raw (reflink or sparse copy), qcow2
 * (qemu-img convert, deterministic), fixed VHD (vhd.c), streamOptimized VMDK (vmdk.c) and the GCE
 * tar.gz (gce.c), each but the last two optionally zstd-compressed (libzstd, multi-threaded).
 * Every output is written under a temporary name in the output directory and renamed into place
 * only when complete; its SHA-256 and size are returned for the manifest. */
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "vocabulary.h" /* ImageFormat, ImageCompression */

typedef struct ImageOutputSpec {
        ImageFormat format;
        ImageCompression compression;
        int level;            /* zstd level; 0 = 3 (zstd's default) */
} ImageOutputSpec;

typedef struct ImageOutput {
        char *path;           /* OUTPUT_DIR/BASENAME.raw, .qcow2, .vhd, .vmdk, .gce.tar.gz (+ .zst) */
        ImageFormat format;
        ImageCompression compression;
        uint64_t size;        /* bytes of the file (apparent size) */
        uint8_t sha256[DIGEST_SIZE];
} ImageOutput;

void image_outputs_free(ImageOutput *outputs, size_t n);

/* The file name an output gets: BASENAME + ".raw"/".qcow2"/… + ".zst" (newly allocated). */
char *image_output_filename(const char *basename, const ImageOutputSpec *spec);

/* Writes every spec'd output of the raw image into output_dir (created if missing). On error
 * no temporary file stays behind and the outputs already renamed into place in the same call are
 * removed again: a half set must not look like a finished bake. raw_sha256, when not NULL, is
 * the raw image's known digest: a raw output is its copy and is not hashed again; the ids that VHD
 * and VMDK carry are derived from it, and their time stamps from epoch. Logs errors. */
int image_write_outputs(const char *raw_path, const uint8_t *raw_sha256, int64_t epoch, const char *output_dir,
                        const char *basename, const ImageOutputSpec *specs, size_t n_specs, ImageOutput **ret_outputs,
                        size_t *ret_n);

/* Compresses `src_path` (read sparse-aware: holes are fed as zeros without reading them) into the
 * open fd as one zstd frame with the content size and a checksum, on nproc threads. Returns the
 * SHA-256 and size of the compressed bytes. */
int image_zstd_compress(const char *src_path, int dst_fd, int level, uint8_t ret_sha256[DIGEST_SIZE],
                        uint64_t *ret_size);
