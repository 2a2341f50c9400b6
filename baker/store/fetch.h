#pragma once
/* Resolves inputs into the content-addressed cache, verified against their pins. A pinned input
 * already in the cache costs no network and no copy: a second bake never downloads again. */
#include <stdint.h>

#include "cache.h"
#include "digest.h"

/* Downloads url (http, https; redirects followed) into the cache unless pin's blob is there already.
 * The body is hashed while it streams; an interrupted download of a pinned URL is kept under
 * partial/ and resumed with a Range request, in this process and in the next bake (restarted from
 * zero if the server ignores Range). pin NULL (unpinned) always downloads. ret_path: the blob,
 * locked against gc while the Cache is open; ret_digest: its SHA-256. Logs every error with the
 * URL: "GET URL: status 404 Not Found", "GET URL: couldn't connect ...", and on a mismatch
 * "URL: sha256 mismatch: expected sha256:…, got sha256:…" (returns -EBADMSG, stores nothing). */
int fetch_url(Cache *c, const char *url, const uint8_t *pin, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]);

/* Stores a local file in the cache: hashed first (sparse-aware), copied only when its blob is not
 * in the cache yet, and verified again while copying. Errors as for fetch_url, naming the path. */
int fetch_file(Cache *c, const char *path, const uint8_t *pin, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]);
