#pragma once
/* What filesystem sits at an offset of an image, read from its own header bytes (no kernel, no
 * appliance), and files read out of an ext4 filesystem offline through libext2fs. For inspect and
 * for verify's image diff. */
#include <stddef.h>
#include <stdint.h>

typedef struct FsInfo {
        const char *type;   /* "ext4", "ext3", "ext2", "vfat", "swap"; NULL: not recognised */
        char uuid[37];      /* ext*: the filesystem UUID; vfat: the volume id as "ABCD-1234" */
        char label[65];
        unsigned fat_bits;  /* vfat: 12, 16 or 32 */
} FsInfo;

/* Looks at the headers of the range [offset, offset+size) of the image open at fd. Always succeeds
 * for a readable file (ret->type NULL when nothing is recognised); -errno on read errors. */
int fsprobe(int fd, uint64_t offset, uint64_t size, FsInfo *ret);

/* Reads the file at path (absolute or relative to the root; symlinks anywhere on it are followed
 * inside the filesystem, never on the host) from the ext4 filesystem at offset of image. At most
 * max_size bytes are accepted (-EFBIG beyond). -ENOENT when the path does not exist, -EISDIR for a
 * directory, -EBADMSG when the filesystem cannot be opened. Logs nothing. */
int fsprobe_ext4_read_file(const char *image, uint64_t offset, const char *path, size_t max_size, char **ret_data,
                           size_t *ret_size);
