#pragma once
/* The content-addressed cache under $BAKER_CACHE (default $XDG_CACHE_HOME/baker or
 * ~/.cache/baker):
 *
 *   blobs/sha256/<hex>       inputs, named by the SHA-256 of their bytes
 *   <namespace>/<key-hex>/   keyed entries (directories): "steps" (step states), "bakes" (finished bakes)
 *   partial/<key-hex>        interrupted downloads, resumed by fetch
 *   refs/<ns>-<key-hex>      the one mutable kind: "sha256:…", the latest result of something
 *                            that may change without its key (a refreshed URL or network step)
 *   tmp/                     what is being written; committed by an atomic rename
 *   gc.lock                  serialises gc runs
 *
 * Several processes may share one cache. Nothing but a ref is ever modified in place (a ref is
 * replaced whole, by rename): writers work under
 * tmp/ and rename into place (RENAME_NOREPLACE: when two write the same blob or key, both succeed
 * and the second one's copy is discarded). Locks are per item (flock): a Cache holds a shared lock
 * on every blob and entry it handed out until cache_free(), and a writer an exclusive lock on its
 * temporary file or directory. gc and the clean-up of abandoned temporary files take exclusive
 * locks without waiting, and skip what someone holds. A killed writer leaves only tmp/ debris,
 * removed by the next cache_open() once it is older than CACHE_TMP_MAX_AGE_SEC and unlocked.
 *
 * The time of last use (for LRU gc) is set explicitly on every use: a blob's atime (its mtime is
 * left alone) and an entry directory's mtime (its atime moves whenever it is listed). */
#include <stdint.h>
#include <time.h>

#include "digest.h"
#include "util.h"

#define CACHE_TMP_MAX_AGE_SEC (10 * 60)

typedef struct Cache Cache;
typedef struct CacheWriter CacheWriter;

/* dir NULL = $BAKER_CACHE, $XDG_CACHE_HOME/baker, ~/.cache/baker. Creates the layout and removes
 * stale temporary files. Logs its errors. */
int cache_open(const char *dir, Cache **ret);
Cache *cache_free(Cache *c); /* releases every lock this Cache holds */
DEFINE_TRIVIAL_CLEANUP_FUNC(Cache *, cache_free);
const char *cache_dir(const Cache *c);

/* Path of the blob with this digest, locked against gc for the Cache's lifetime and marked as used;
 * -ENOENT (silently) if absent. */
int cache_blob_path(Cache *c, const uint8_t digest[DIGEST_SIZE], char **ret_path);
bool cache_blob_exists(Cache *c, const uint8_t digest[DIGEST_SIZE]);

/* A blob being written, hashed as it is written. resume_key (hex, e.g. sha256 of URL + pin) NULL:
 * a fresh temporary file. Otherwise partial/<resume_key>, kept across runs by
 * cache_blob_writer_free() so an interrupted download continues where it stopped; its existing
 * bytes are hashed at begin and cache_blob_writer_offset() tells how many there are. Waits while
 * another process writes the same resume_key. */
int cache_blob_writer_begin(Cache *c, const char *resume_key, CacheWriter **ret);
int cache_blob_writer_write(CacheWriter *w, const void *data, size_t size);
uint64_t cache_blob_writer_offset(const CacheWriter *w); /* bytes written so far (resumed included) */
const char *cache_blob_writer_path(const CacheWriter *w);
/* Throws away what was written (e.g. the server ignored a Range request) and starts from zero. */
int cache_blob_writer_truncate(CacheWriter *w);
/* fsyncs, checks the digest against expected (if not NULL) and renames into blobs/. On a mismatch
 * returns -EBADMSG, prints nothing and stores nothing (the temporary or partial file is removed);
 * cache_blob_writer_digest() then gives the actual digest for the caller's message. ret_path
 * (optional) is the committed blob, locked like cache_blob_path()'s. Logs other errors. */
int cache_blob_writer_commit(CacheWriter *w, const uint8_t *expected, uint8_t ret_digest[DIGEST_SIZE], char **ret_path);
/* Moves the file at path (the caller's, written by nothing any more) into the cache as a blob:
 * one read to hash it, fsync, rename; no copy. -EXDEV, path untouched and nothing logged, when it
 * is on another file system than the cache (copy it through a writer instead). Logs other errors;
 * path is gone after any attempt that got as far as moving it. */
int cache_blob_adopt(Cache *c, const char *path, uint8_t ret_digest[DIGEST_SIZE], char **ret_path);
/* The digest of everything written, once commit was attempted; NULL before. */
const uint8_t *cache_blob_writer_digest(const CacheWriter *w);
/* Makes cache_blob_writer_free() remove the partial file too (the server cannot resume it). Writes
 * do so themselves when the disk fills, or when the filesystem's reserve (a tenth of it, at most
 * 1 GiB) would be used. */
void cache_blob_writer_discard(CacheWriter *w);
/* Removes an uncommitted temporary file; a resumable partial file is kept. */
CacheWriter *cache_blob_writer_free(CacheWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(CacheWriter *, cache_blob_writer_free);

/* Keyed entries. ns: [a-z0-9-]+, not "blobs", "partial" or "tmp"; key_hex: 1..128 hex digits. */
/* The committed entry's directory, locked against gc and marked as used; -ENOENT (silently). */
int cache_entry_lookup(Cache *c, const char *ns, const char *key_hex, char **ret_dir);
/* A fresh, exclusively locked temporary directory under tmp/ to fill. */
int cache_entry_begin(Cache *c, const char *ns, const char *key_hex, char **ret_tmpdir);
/* Renames tmpdir to ns/key_hex. If the entry exists already (another writer was first), tmpdir is
 * discarded and that is success too. ret_dir (optional): the committed entry, as from lookup. */
int cache_entry_commit(Cache *c, const char *ns, const char *key_hex, const char *tmpdir, char **ret_dir);
/* Removes tmpdir and releases its lock. Accepts NULL. */
void cache_entry_abort(Cache *c, const char *tmpdir);

/* Refs: ns as for entries. get: -ENOENT (silently) when there is none, -EBADMSG when it is not a
 * digest. set: written to a temporary name and renamed over the old one; logs its errors. */
int cache_ref_get(Cache *c, const char *ns, const char *key_hex, uint8_t ret[DIGEST_SIZE]);
int cache_ref_set(Cache *c, const char *ns, const char *key_hex, const uint8_t digest[DIGEST_SIZE]);
/* Marks a ref as used now (its mtime), for cache_refs_expire(). Best effort. */
void cache_ref_touch(Cache *c, const char *ns, const char *key_hex);
/* Removes the refs of ns not used (set or touched) in the last max_age seconds; returns how many. */
unsigned cache_refs_expire(Cache *c, const char *ns, int64_t max_age);

typedef struct CacheItem {
        char *ns;  /* "blobs" (sha256), "partial", or an entry namespace */
        char *key; /* hex */
        uint64_t size;   /* bytes on disk */
        time_t last_use;
} CacheItem;

/* Every committed blob and entry and every partial download, oldest use first. */
int cache_list(Cache *c, CacheItem **ret_items, size_t *ret_n);
void cache_items_free(CacheItem *items, size_t n);

/* Evicts the least recently used items until the cache holds at most max_size bytes, skipping
 * what any process (this one included) holds locked. Also removes unlocked temporary debris.
 * Returns freed bytes and what remains. */
int cache_gc(Cache *c, uint64_t max_size, uint64_t *ret_freed, uint64_t *ret_remaining);
