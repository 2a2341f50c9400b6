#pragma once
/* SHA-256, streaming and over files. Digests travel through baker as "sha256:<64 hex>" strings
 * (OCI's form) or as raw 32-byte arrays where they feed another hash. */
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define DIGEST_SIZE 32
#define DIGEST_HEX_SIZE 64
#define DIGEST_STRING_MAX (7 + DIGEST_HEX_SIZE + 1) /* "sha256:" + hex + NUL */

typedef struct Digest Digest; /* opaque streaming context */

Digest *digest_new(void);
Digest *digest_free(Digest *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Digest *, digest_free);
void digest_update(Digest *d, const void *data, size_t size);
/* Feeds n zero bytes without needing a buffer of that size (holes of sparse files). */
void digest_update_zeros(Digest *d, uint64_t n);
/* Length-prefixed string: keeps ("ab","c") and ("a","bc") apart when feeding keys. */
void digest_update_string(Digest *d, const char *s);
void digest_final(Digest *d, uint8_t ret[DIGEST_SIZE]);

void digest_to_hex(const uint8_t d[DIGEST_SIZE], char ret[DIGEST_HEX_SIZE + 1]);
/* "sha256:<hex>" */
void digest_to_string(const uint8_t d[DIGEST_SIZE], char ret[DIGEST_STRING_MAX]);
/* Accepts "sha256:<hex>" or bare hex (either case); -EINVAL otherwise. */
int digest_from_string(const char *s, uint8_t ret[DIGEST_SIZE]);

void digest_buffer(const void *data, size_t size, uint8_t ret[DIGEST_SIZE]);
/* Digest of a file's bytes. Holes (SEEK_DATA/SEEK_HOLE) are hashed as zeros without being read,
 * so a sparse 10 GiB image with 1 GiB of data costs one read of 1 GiB. */
int digest_file(const char *path, uint8_t ret[DIGEST_SIZE], uint64_t *ret_size);

/* Deterministic digest of a host directory tree, the identity of a `path:` input. Covers, for
 * every entry in byte-wise sorted name order: its name, its type, its permission bits (07777),
 * a symlink's target, a regular file's size and bytes, a directory's entries. Not covered:
 * owners, times, extended attributes (a checkout's owner and mtimes are accidents of the
 * machine; steps set owners explicitly). Symlinks below path are not followed. Sockets, FIFOs and
 * devices give -EBADFD, with *ret_special (if given) the path of the first one. */
int digest_directory(const char *path, uint8_t ret[DIGEST_SIZE], char **ret_special);
