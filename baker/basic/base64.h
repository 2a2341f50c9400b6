#pragma once
/* Base64 (RFC 4648, the standard alphabet with '=' padding): registry credentials ("user:password"
 * in Basic auth and docker's config.json) and the LIBARCHIVE.xattr pax records of tars. */
#include <stddef.h>
#include <stdint.h>

/* The encoding of size bytes, padded, newly allocated. */
char *base64_encode(const void *data, size_t size);

/* Decodes len characters of in (padding optional, whitespace skipped, decoding ends at the first
 * '='). *ret is newly allocated and NUL-terminated after *ret_size bytes, so text decodes to a
 * string. -EBADMSG for a character outside the alphabet. */
int base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_size);
