#pragma once
/* The remote cache (--cache-from REF / --cache-to REF, $BAKER_CACHE_FROM / $BAKER_CACHE_TO): keyed
 * cache entries (step states, finished bakes) shared through an OCI registry repository or an OCI
 * layout, through the registry interface that publishing uses. An entry is one OCI manifest tagged
 * "<namespace>-<key hex>" (a lookup is one manifest GET) whose layers are the entry's files, each
 * titled with its file name (org.opencontainers.image.title), with artifactType
 * application/vnd.baker.cache.v1.
 *
 * Everything downloaded is verified by digest and size before it enters the local cache (through
 * the cache's own temp + rename), so a corrupt or truncated remote entry is never used: it is
 * skipped with one warning. A registry that cannot be reached gives one warning and is not asked
 * again in this bake, which then goes on locally. Only what the local cache stored is uploaded, so
 * steps that are never cached (secrets) are never uploaded either. */
#include <stdbool.h>

#include "cache.h"

typedef struct RemoteCache RemoteCache;

/* from, to: strv of references (may be NULL). Never fails: unusable references draw a warning. */
RemoteCache *remote_cache_new(char *const *from, char *const *to);
RemoteCache *remote_cache_free(RemoteCache *rc);
DEFINE_TRIVIAL_CLEANUP_FUNC(RemoteCache *, remote_cache_free);
bool remote_cache_enabled(const RemoteCache *rc);

/* Looks the entry up in the --cache-from registries and, when one has it, downloads it into the
 * local cache (verified). 0 when it is now in the local cache, -ENOENT when no registry has a valid
 * copy. */
int remote_cache_fetch(RemoteCache *rc, Cache *cache, const char *ns, const char *key_hex);
/* A file of a remote entry: what it will be once downloaded and verified. */
typedef struct RemoteCacheFile {
        const char *name;
        const char *digest; /* "sha256:<hex>" of the file's bytes, or NULL when the entry does not say
                             * (a repaired entry's padded layer: only its whole blob is verified) */
        uint64_t size;
} RemoteCacheFile;

/* A finished bake's files straight into dir, from the first --cache-from registry that has a
 * usable entry: its manifest.json first, into a private staging directory in dir, where accept()
 * judges it together with the entry's files (false: not this entry); then every other file, each
 * verified by digest and size as it arrives; then each is renamed into dir, manifest.json last
 * (it vouches for the others). 0 when done, -ENOENT when no registry has a usable entry (a bad one
 * is one warning). */
typedef bool (*RemoteCacheAccept)(const char *manifest_path, const RemoteCacheFile *files, size_t n_files,
                                  void *userdata);
int remote_cache_fetch_files(RemoteCache *rc, const char *ns, const char *key_hex, const char *dir,
                             RemoteCacheAccept accept, void *userdata);
/* Uploads these files (strv of paths; each layer titled with its base name) as the entry, to every
 * --cache-to registry. Failures are warnings. */
void remote_cache_store_files(RemoteCache *rc, const char *ns, const char *key_hex, char *const *paths);
/* Whether a --cache-from registry holds the entry: one manifest GET per registry, stopping at the
 * first that has it (its layers are not fetched, so not verified). An unreachable registry is a
 * warning and counts as not holding it. */
bool remote_cache_has(RemoteCache *rc, const char *ns, const char *key_hex);
/* Uploads the committed local entry directory to every --cache-to registry (blobs already there
 * are not sent again). Failures are warnings: the bake does not depend on them. */
void remote_cache_store(RemoteCache *rc, const char *ns, const char *key_hex, const char *dir);

typedef struct RemoteCacheGcStats {
        unsigned removed, kept;
} RemoteCacheGcStats;

/* `baker cache gc --remote REF --keep-days N`: deletes the cache entries (tags "steps-<hex>" and
 * "bakes-<hex>" on manifests of the cache's artifactType) that no bake pushed or refreshed in the
 * last N days. Nothing else in the repository is touched, so an image a channel points at stays.
 * A layout's unreferenced blobs are swept; a registry collects its own. Logs its errors. */
int remote_cache_gc(const char *ref, unsigned keep_days, bool dry_run, RemoteCacheGcStats *ret);
