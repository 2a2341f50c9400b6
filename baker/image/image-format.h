#pragma once
/* Inside image/: what one output format's writer is given, and the writers of the formats that
 * live in their own modules (vhd.c, vmdk.c, gce.c). image.c holds the table of formats. */
#include <stdint.h>

#include "digest.h"

typedef struct ImageSource {
        const char *path;                /* the raw disk image */
        uint64_t size;                   /* its size */
        const uint8_t *sha256;           /* its digest (the image digest) */
        int64_t epoch;                   /* the bake's epoch: the time recorded inside outputs */
} ImageSource;

/* Each writes the output of src into fd, which is open on tmp_path, a temporary name in the output
 * folder; final_name is the base name the output will be renamed to. Log their errors. */
typedef int (*ImageWriter)(const ImageSource *src, const char *tmp_path, int fd, const char *final_name);

int image_write_vhd(const ImageSource *src, const char *tmp_path, int fd, const char *final_name);
int image_write_vmdk(const ImageSource *src, const char *tmp_path, int fd, const char *final_name);
/* Rewrites the CID line in the embedded descriptor of the VMDK at path as "CID=" + 8 hex digits. */
int image_vmdk_set_cid(const char *path, uint32_t cid);
int image_write_gce(const ImageSource *src, const char *tmp_path, int fd, const char *final_name);

/* A copy of the file at src_path into dst_fd: a reflink when the filesystem can, else data only,
 * holes left holes. dst_fd ends at the source's size. */
int image_copy_sparse(const char *src_path, int dst_fd);
