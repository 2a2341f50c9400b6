#pragma once
/* An image file read offline, as `baker inspect` and `baker diff` read one: its raw bytes (a raw
 * image is itself; a qcow2 is converted by qemu-img to a sparse temporary raw, removed again by
 * image_file_done() or on Ctrl-C) and files from its root filesystem (ext*, read through
 * libext2fs, never mounted). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ImageFile {
        const char *format; /* "raw" or "qcow2" */
        uint64_t size;      /* the file's own size */
        char *raw;          /* the raw bytes: the file itself, or the temporary */
        char *tmp;          /* the temporary raw to remove, or NULL */
} ImageFile;

/* Opens path; a qcow2 is converted. Errors are logged with the file's name. */
int image_file_open(const char *path, ImageFile *ret);
void image_file_done(ImageFile *f);

/* The file at path (inside the image, e.g. "var/lib/dpkg/status") from the image's root
 * filesystem: the ext* partitions of type root first, then the other ext* partitions in table
 * order, or a bare ext* filesystem; at most max_size bytes. -ENOENT when none holds it,
 * -EMEDIUMTYPE when raw has neither a partition table nor a filesystem (not an image), -EBADMSG
 * for a damaged partition table, other -errno for read errors. Logs nothing. */
int image_file_read(const char *raw, const char *path, size_t max_size, char **ret_data, size_t *ret_size);
