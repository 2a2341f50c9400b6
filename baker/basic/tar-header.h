#pragma once
/* The ustar header block (POSIX.1-2001 ustar; the base of pax and GNU tar), written by every tar
 * baker makes: the tree's normalised pax tars (tree/tree-tar-write.c) and the containerDisk layer
 * of an artifact (registry/artifact.c). Reading is libarchive's (tree/tree-archive.c) or the
 * tree's own index of uncompressed tars (tree/tree-tar-read.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK_SIZE 512

typedef struct TarHeader {
        const char *name;       /* at most 100 bytes are kept (longer ones go into a pax "path") */
        char type;              /* '0' file, '1' hard link, '2' symlink, '3'/'4' devices, '5' directory, 'x' pax */
        uint32_t mode, uid, gid;
        uint64_t size;
        int64_t mtime;          /* negative: 0 (a pax "mtime" carries it) */
        const char *link;       /* hard link or symlink target, at most 100 bytes; NULL: none */
        const char *uname, *gname; /* at most 32 bytes; NULL: empty */
        bool device_numbers;    /* write devmajor/devminor (tar(1) does for every entry) */
        uint32_t devmajor, devminor;
        /* A number too large for its octal field: base-256 (GNU, what tar(1) reads) when set, else
         * 0, for a pax record that carries the real value. */
        bool base256;
        /* GNU's old format ("ustar  " magic; tar --format=oldgnu), whose sparse fields the caller
         * fills in after encoding (then tar_header_checksum() again). */
        bool oldgnu;
} TarHeader;

/* Whether v fits the octal field of that width (width - 1 digits and a NUL). */
bool tar_octal_fits(uint64_t v, size_t width);

/* A number field of that width: octal, or when it does not fit base-256 (base256) or 0. */
void tar_put_number(char *field, size_t width, uint64_t v, bool base256);

/* The header block of h, checksum included. */
void tar_header_encode(const TarHeader *h, uint8_t ret[TAR_BLOCK_SIZE]);

/* (Re)computes the checksum field of a header block. */
void tar_header_checksum(uint8_t block[TAR_BLOCK_SIZE]);
