#pragma once
/* Remembered file digests, so that an unchanged re-bake does not read its outputs again.
 *
 * The unchanged check compares the outputs' digests, not their sizes (another bake may have
 * written files of the same size). Hashing a 1 GiB output costs most of a second each time; like
 * git's index, baker remembers the digest of a file together with its identity and change stamps
 * (device, inode, size, mtime and ctime in nanoseconds) and trusts the memo only while all five
 * are the same. ctime cannot be set from user space: any write, truncate, chmod or rename moves
 * it.
 *
 * The memo is a cache ref (refs/filedigest-<hash of the stamps>), so it lives and goes with the
 * cache and needs no file in the output directory.
 *
 * Racy files: the kernel stamps ctime from a coarse clock (a tick of 1-10 ms), so a write later
 * in the same tick as the remembered ctime would go unseen. A file is remembered after reading
 * only when the coarse clock had already moved past its ctime before the read started, as git
 * refuses to trust an index entry as new as the index. A file baker has just written is
 * remembered once the clock has moved past its ctime (a wait of at most a tick); what remains
 * unseen is another process rewriting baker's fresh output, to the same size, within that tick. */
#include <stdint.h>

#include "cache.h"
#include "digest.h"

/* The digest and size of the file at path: from the memo when its stamps match, otherwise by
 * reading it (then remembered). c NULL: always reads. Errors as digest_file(). */
int digest_memo_file(Cache *c, const char *path, uint8_t ret[DIGEST_SIZE], uint64_t *ret_size);

/* Remembers that path, as it is now, has this digest: for files baker has just written and hashed
 * on the way. Best effort: failures are logged at debug level and otherwise ignored. */
void digest_memo_remember(Cache *c, const char *path, const uint8_t digest[DIGEST_SIZE]);

/* Memos not used for this long are dropped by `cache gc` (a file that no longer exists leaves
 * its memo behind; a dropped memo costs one read). */
#define DIGEST_MEMO_MAX_AGE_DAYS 30
/* Drops them; returns how many. */
unsigned digest_memo_expire(Cache *c);
