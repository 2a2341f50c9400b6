/* The remote cache: see remote-cache.h. */
#include "remote-cache.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "interrupt.h"
#include "log.h"
#include "registry.h"
#include "strv.h"
#include "time-util.h"
#include "units.h"

#define CACHE_ARTIFACT_TYPE "application/vnd.baker.cache.v1"
#define CACHE_LAYER_MEDIA_TYPE "application/vnd.baker.cache.file.v1"
/* A repaired entry's layer: the file's first LENGTH_ANNOTATION bytes, then a trailer (see
 * push_repaired()). */
#define CACHE_PADDED_LAYER_MEDIA_TYPE "application/vnd.baker.cache.padded-file.v1"
#define LENGTH_ANNOTATION "vnd.baker.cache.length"
#define TITLE_ANNOTATION "org.opencontainers.image.title"
#define USED_ANNOTATION "org.opencontainers.image.created" /* pushed, or last pulled by a bake that also pushes */
#define MAX_ENTRY_FILES 64

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

typedef struct Remote {
        char *name;      /* as the user wrote it */
        Registry *registry;
        bool broken;     /* unreachable: warned once, not asked again */
} Remote;

struct RemoteCache {
        Remote *from, *to;
        size_t n_from, n_to;
        char **bad; /* "NAME DIGEST": blobs a remote served corrupt, repaired when this bake pushes there */
};

/* The warning for a failure whose own messages were captured (log_capture_begin()): one line. */
static void warn_once(const char *what, int err, const char *why) {
        if (why)
                log_warning("%s: %s", what, why);
        else
                log_warning_errno(err, "%s: %m", what);
}

static void open_remotes(char *const *refs, Remote **ret, size_t *ret_n, bool create) {
        for (char *const *s = refs; s && *s; s++) {
                RegistryRef *ref = NULL;
                Registry *r = NULL;
                log_capture_begin();
                int k = registry_open_string(*s, create, &ref, &r);
                _cleanup_free_ char *why = log_capture_end();
                if (k < 0) {
                        _cleanup_free_ char *what = xasprintf("remote cache '%s' cannot be used; going on without it", *s);
                        warn_once(what, k, why);
                        continue;
                }
                registry_ref_free(ref);
                *ret = xrealloc(*ret, (*ret_n + 1) * sizeof(Remote));
                (*ret)[(*ret_n)++] = (Remote) { .name = xstrdup(*s), .registry = r };
        }
}

RemoteCache *remote_cache_new(char *const *from, char *const *to) {
        RemoteCache *rc = xcalloc(1, sizeof(RemoteCache));
        open_remotes(from, &rc->from, &rc->n_from, false);
        open_remotes(to, &rc->to, &rc->n_to, true);
        return rc;
}

static void remotes_free(Remote *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(r[i].name);
                registry_free(r[i].registry);
        }
        free(r);
}

RemoteCache *remote_cache_free(RemoteCache *rc) {
        if (!rc)
                return NULL;
        remotes_free(rc->from, rc->n_from);
        remotes_free(rc->to, rc->n_to);
        strv_free(rc->bad);
        free(rc);
        return NULL;
}

bool remote_cache_enabled(const RemoteCache *rc) {
        return rc && (rc->n_from > 0 || rc->n_to > 0);
}

static bool file_name_valid(const char *s) {
        if (!s || !*s || streq(s, ".") || streq(s, "..") || strlen(s) > 128)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("._-", *s))
                        return false;
        return true;
}

/* One layer of an entry's manifest. */
typedef struct Layer {
        const char *digest, *title;
        uint64_t size;   /* of the blob */
        uint64_t length; /* of the file: size, or less for a padded layer */
} Layer;

static int layer_parse(json_t *l, Layer *ret) {
        const char *type = json_string_value(json_object_get(l, "mediaType"));
        json_t *annotations = json_object_get(l, "annotations"), *size = json_object_get(l, "size");
        Layer x = {
                .digest = json_string_value(json_object_get(l, "digest")),
                .title = json_string_value(json_object_get(annotations, TITLE_ANNOTATION)),
        };
        if (!x.digest || !file_name_valid(x.title) || !json_is_integer(size) || json_integer_value(size) < 0)
                return -EBADMSG;
        x.size = x.length = (uint64_t) json_integer_value(size);
        if (streq_ptr(type, CACHE_PADDED_LAYER_MEDIA_TYPE)) {
                const char *len = json_string_value(json_object_get(annotations, LENGTH_ANNOTATION));
                if (!len || units_parse_size(len, &x.length) < 0 || x.length > x.size)
                        return -EBADMSG;
        } else if (!streq_ptr(type, CACHE_LAYER_MEDIA_TYPE))
                return -EBADMSG;
        *ret = x;
        return 0;
}

/* Downloads the layer's file to path, verified; a blob that fails verification is remembered, so
 * that this bake's push to the same remote repairs the entry. */
static int layer_get(RemoteCache *rc, Remote *rem, const Layer *l, const char *path) {
        int r = registry_blob_get(rem->registry, l->digest, l->size, path);
        if (r == -EBADMSG) {
                _cleanup_free_ char *bad = xasprintf("%s %s", rem->name, l->digest);
                if (!strv_contains((const char *const *) rc->bad, bad))
                        strv_push(&rc->bad, NULL, TAKE_PTR(bad));
        }
        if (r >= 0 && l->length < l->size && truncate(path, (off_t) l->length) < 0)
                r = log_error_errno(-errno, "failed to cut '%s' to its length: %m", path);
        return r;
}

/* One warning per reference, whichever direction found it unreachable first: the other is not
 * asked again either. */
static void mark_broken(RemoteCache *rc, Remote *r, int err, const char *why) {
        if (r->broken)
                return;
        for (size_t i = 0; i < rc->n_from + rc->n_to; i++) {
                Remote *o = i < rc->n_from ? rc->from + i : rc->to + i - rc->n_from;
                if (streq(o->name, r->name))
                        o->broken = true;
        }
        _cleanup_free_ char *what = xasprintf("remote cache '%s' %s, going on without it", r->name,
                                              err == -EACCES || err == -EPERM ? "refused access" : "is unreachable");
        warn_once(what, err, why);
}

/* A registry call whose errors the remote cache reports itself, once. */
#define CAPTURED(why, call)                      \
        ({                                       \
                log_capture_begin();             \
                int _k = (call);                 \
                why = log_capture_end();         \
                _k;                              \
        })

/* Downloads one remote entry (already GET as manifest m) into a fresh local entry. -EBADMSG when a
 * layer does not verify. */
static int fetch_entry(RemoteCache *rc, Remote *rem, Cache *cache, const char *ns, const char *key_hex, const RegistryManifest *m) {
        _cleanup_(json_decrefp) json_t *j = json_loadb(m->data, m->size, 0, NULL);
        json_t *layers = json_object_get(j, "layers");
        if (!json_is_array(layers) || json_array_size(layers) == 0 || json_array_size(layers) > MAX_ENTRY_FILES ||
            !streq_ptr(json_string_value(json_object_get(j, "artifactType")), CACHE_ARTIFACT_TYPE))
                return -EBADMSG;
        _cleanup_free_ char *tmpdir = NULL;
        int r = cache_entry_begin(cache, ns, key_hex, &tmpdir);
        if (r < 0)
                return r;
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l) {
                Layer x;
                r = layer_parse(l, &x);
                if (r < 0)
                        break;
                _cleanup_free_ char *path = path_join(tmpdir, x.title);
                r = layer_get(rc, rem, &x, path);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = cache_entry_commit(cache, ns, key_hex, tmpdir, NULL);
        if (r < 0)
                cache_entry_abort(cache, tmpdir);
        return r;
}

/* The manifest of entry tag in one remote: 1 when it is there; 0 when it is not, or the remote is
 * broken (marked so now, with its one warning, if this lookup found out). */
static int remote_lookup(RemoteCache *rc, Remote *rem, const char *tag, RegistryManifest **ret) {
        if (rem->broken)
                return 0;
        _cleanup_free_ char *why = NULL;
        int r = CAPTURED(why, registry_manifest_get(rem->registry, tag, ret));
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                mark_broken(rc, rem, r, why);
                return 0;
        }
        return 1;
}

int remote_cache_fetch(RemoteCache *rc, Cache *cache, const char *ns, const char *key_hex) {
        if (!rc)
                return -ENOENT;
        _cleanup_free_ char *tag = xasprintf("%s-%s", ns, key_hex);
        for (size_t i = 0; i < rc->n_from; i++) {
                Remote *rem = rc->from + i;
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                _cleanup_free_ char *why2 = NULL;
                int r;
                if (remote_lookup(rc, rem, tag, &m) <= 0)
                        continue;
                r = CAPTURED(why2, fetch_entry(rc, rem, cache, ns, key_hex, m));
                if (r >= 0) {
                        log_info("pulled %s/%s from the remote cache '%s'", ns, key_hex, rem->name);
                        return 0;
                }
                _cleanup_free_ char *what = xasprintf("remote cache '%s': entry '%s' is unusable, not used", rem->name, tag);
                warn_once(what, r, why2);
        }
        return -ENOENT;
}

#define ENTRY_MANIFEST "manifest.json"

/* The layers of entry manifest m into staging: manifest.json first, judged by accept(). 1 when
 * accepted and complete, 0 when not accepted, < 0 on a bad entry. */
static int fetch_into(RemoteCache *rc, Remote *rem, const RegistryManifest *m, const char *staging,
                      RemoteCacheAccept accept, void *userdata) {
        _cleanup_(json_decrefp) json_t *j = json_loadb(m->data, m->size, 0, NULL);
        json_t *layers = json_object_get(j, "layers");
        if (!json_is_array(layers) || json_array_size(layers) > MAX_ENTRY_FILES ||
            !streq_ptr(json_string_value(json_object_get(j, "artifactType")), CACHE_ARTIFACT_TYPE))
                return -EBADMSG;
        Layer xs[MAX_ENTRY_FILES];
        RemoteCacheFile files[MAX_ENTRY_FILES];
        size_t n = json_array_size(layers), i, manifest = n;
        json_t *l;
        json_array_foreach(layers, i, l) {
                int r = layer_parse(l, xs + i);
                if (r < 0)
                        return r;
                files[i] = (RemoteCacheFile) {
                        .name = xs[i].title,
                        .digest = xs[i].length == xs[i].size ? xs[i].digest : NULL,
                        .size = xs[i].length,
                };
                if (streq(xs[i].title, ENTRY_MANIFEST))
                        manifest = i;
        }
        if (manifest == n)
                return 0; /* an entry of an older baker: a manifest only, in the steps' way */
        _cleanup_free_ char *mpath = path_join(staging, ENTRY_MANIFEST);
        int r = layer_get(rc, rem, xs + manifest, mpath);
        if (r < 0)
                return r;
        if (!accept(mpath, files, n, userdata))
                return 0;
        for (i = 0; i < n; i++) {
                if (i == manifest)
                        continue;
                _cleanup_free_ char *path = path_join(staging, xs[i].title);
                r = layer_get(rc, rem, xs + i, path);
                if (r < 0)
                        return r;
        }
        return 1;
}

/* Every file of staging into dir, manifest.json last. */
static int move_into(const char *staging, const char *dir) {
        _cleanup_(closedirp) DIR *d = opendir(staging);
        if (!d)
                return -errno;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!file_name_valid(de->d_name) || streq(de->d_name, ENTRY_MANIFEST))
                        continue;
                _cleanup_free_ char *from = path_join(staging, de->d_name), *to = path_join(dir, de->d_name);
                if (rename(from, to) < 0)
                        return -errno;
        }
        _cleanup_free_ char *from = path_join(staging, ENTRY_MANIFEST), *to = path_join(dir, ENTRY_MANIFEST);
        return rename(from, to) < 0 ? -errno : 0;
}

int remote_cache_fetch_files(RemoteCache *rc, const char *ns, const char *key_hex, const char *dir,
                             RemoteCacheAccept accept, void *userdata) {
        if (!rc)
                return -ENOENT;
        _cleanup_free_ char *tag = xasprintf("%s-%s", ns, key_hex);
        for (size_t i = 0; i < rc->n_from; i++) {
                Remote *rem = rc->from + i;
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                _cleanup_free_ char *why2 = NULL;
                int r;
                if (remote_lookup(rc, rem, tag, &m) <= 0)
                        continue;
                _cleanup_free_ char *base = path_join(dir, "pull"), *staging = tmp_sibling(base);
                if (!mkdtemp(staging))
                        return log_error_errno(-errno, "failed to create '%s': %m", staging);
                interrupt_register(staging);
                r = CAPTURED(why2, fetch_into(rc, rem, m, staging, accept, userdata));
                bool accepted = r > 0;
                if (accepted)
                        r = move_into(staging, dir);
                (void) rm_rf(staging);
                interrupt_unregister(staging);
                if (accepted && r >= 0) {
                        log_info("pulled %s from the remote cache '%s'", tag, rem->name);
                        return 0;
                }
                if (r == 0)
                        continue; /* not accepted */
                _cleanup_free_ char *what = xasprintf("remote cache '%s': entry '%s' is unusable, not used", rem->name, tag);
                warn_once(what, r, why2);
        }
        return -ENOENT;
}

bool remote_cache_has(RemoteCache *rc, const char *ns, const char *key_hex) {
        if (!rc)
                return false;
        _cleanup_free_ char *tag = xasprintf("%s-%s", ns, key_hex);
        for (size_t i = 0; i < rc->n_from; i++) {
                Remote *rem = rc->from + i;
                if (rem->broken)
                        continue;
                _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
                _cleanup_free_ char *why = NULL;
                int r = CAPTURED(why, registry_manifest_get(rem->registry, tag, &m));
                if (r >= 0)
                        return true;
                if (r != -ENOENT)
                        mark_broken(rc, rem, r, why);
        }
        return false;
}

/* The layer of a file whose blob this remote served corrupt. A registry keeps the bytes it holds for
 * a digest: docker-registry does not store an upload whose digest it has, not even after a DELETE
 * of the blob (that only unlinks it from the repository), so sending the same bytes again, deleted
 * first or not, repairs nothing. The entry is re-published on another blob instead: the file, then
 * a trailer naming the bad digest (a later repair of this blob differs again); the reader verifies
 * the whole blob and cuts it to the file's length. The bad blob is not deleted: other entries that
 * share it would then find it missing, which their pushes cannot tell from absent and would upload
 * the same bytes onto the same stored corruption, instead of finding it corrupt and repairing. */
static int push_repaired(Remote *rem, const char *path, const char *name, const char *bad, uint64_t length,
                         json_t *layers) {
        _cleanup_unlink_ char *tmp = tmp_template("cache-repair");
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(TAKE_PTR(tmp));
                return log_error_errno(r, "failed to create a temporary file in '%s': %m", tmp_dir());
        }
        _cleanup_free_ char *trailer = xasprintf("\nbaker cache: this blob replaces %s, which the registry served corrupt\n", bad);
        int r = copy_file(path, tmp, O_TRUNC, 0600);
        if (r >= 0)
                r = pwrite_all(fd, trailer, strlen(trailer), length);
        if (r < 0)
                return log_error_errno(r, "failed to write '%s': %m", tmp);
        uint8_t dg[DIGEST_SIZE];
        uint64_t size = 0;
        r = digest_file(tmp, dg, &size);
        if (r < 0)
                return r;
        char ds[DIGEST_STRING_MAX];
        digest_to_string(dg, ds);
        RegistryBlob blob = { .digest = ds, .size = size, .path = tmp, .label = name };
        r = registry_blob_push(rem->registry, &blob, NULL);
        if (r < 0)
                return r;
        _cleanup_free_ char *len = xasprintf("%" PRIu64, length);
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType", CACHE_PADDED_LAYER_MEDIA_TYPE,
                                                "digest", ds, "size", (json_int_t) size, "annotations", TITLE_ANNOTATION,
                                                name, LENGTH_ANNOTATION, len));
        log_info("remote cache '%s': '%s' re-published on %s, in place of the corrupt %s", rem->name, name, ds, bad);
        return 0;
}

static int push_layer(RemoteCache *rc, Remote *rem, const char *path, json_t *layers) {
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        struct stat st;
        if (!file_name_valid(name) || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        uint8_t dg[DIGEST_SIZE];
        uint64_t size = 0;
        int r = digest_file(path, dg, &size);
        if (r < 0)
                return r;
        char ds[DIGEST_STRING_MAX];
        digest_to_string(dg, ds);
        _cleanup_free_ char *bad = xasprintf("%s %s", rem->name, ds);
        if (strv_contains((const char *const *) rc->bad, bad))
                return push_repaired(rem, path, name, ds, size, layers);
        RegistryBlob blob = { .digest = ds, .size = size, .path = path, .label = name };
        r = registry_blob_push(rem->registry, &blob, NULL);
        if (r < 0)
                return r;
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", CACHE_LAYER_MEDIA_TYPE, "digest",
                                                ds, "size", (json_int_t) size, "annotations", TITLE_ANNOTATION, name));
        return 0;
}

static int store_one(RemoteCache *rc, Remote *rem, const char *tag, char *const *paths) {
        json_t *layers = json_array();
        _cleanup_(json_decrefp) json_t *holder = layers;
        int r;
        for (char *const *p = paths; p && *p; p++) {
                r = push_layer(rc, rem, *p, layers);
                if (r < 0)
                        return r;
        }
        if (json_array_size(layers) == 0)
                return -ENODATA;
        /* The empty config blob must exist too. */
        RegistryBlob empty = { .digest = OCI_EMPTY_DIGEST, .size = 2, .data = "{}", .label = "config" };
        r = registry_blob_push(rem->registry, &empty, NULL);
        if (r < 0)
                return r;
        _cleanup_free_ char *now = rfc3339_format((int64_t) time(NULL));
        json_t *m = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:O, s:{s:s}}", "schemaVersion", 2, "mediaType",
                              OCI_MANIFEST_MEDIA_TYPE, "artifactType", CACHE_ARTIFACT_TYPE, "config", "mediaType",
                              OCI_EMPTY_MEDIA_TYPE, "digest", OCI_EMPTY_DIGEST, "size", 2, "layers", layers,
                              "annotations", USED_ANNOTATION, now);
        _cleanup_free_ char *data = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        return registry_manifest_put(rem->registry, tag, OCI_MANIFEST_MEDIA_TYPE, data, strlen(data), NULL);
}

void remote_cache_store_files(RemoteCache *rc, const char *ns, const char *key_hex, char *const *paths) {
        if (!rc)
                return;
        _cleanup_free_ char *tag = xasprintf("%s-%s", ns, key_hex);
        for (size_t i = 0; i < rc->n_to; i++) {
                Remote *rem = rc->to + i;
                if (rem->broken)
                        continue;
                _cleanup_free_ char *why = NULL;
                int r = CAPTURED(why, store_one(rc, rem, tag, paths));
                if (r < 0)
                        mark_broken(rc, rem, r, why);
                else
                        log_info("pushed %s to the remote cache '%s'", tag, rem->name);
        }
}

void remote_cache_store(RemoteCache *rc, const char *ns, const char *key_hex, const char *dir) {
        if (!rc)
                return;
        _cleanup_(closedirp) DIR *d = opendir(dir);
        if (!d)
                return;
        _cleanup_strv_free_ char **paths = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (file_name_valid(de->d_name))
                        strv_push(&paths, NULL, path_join(dir, de->d_name));
        remote_cache_store_files(rc, ns, key_hex, paths);
}

static bool cache_tag(const char *tag) {
        const char *hex = startswith(tag, "steps-") ? tag + 6 : startswith(tag, "bakes-") ? tag + 6 : NULL;
        if (!hex || strlen(hex) != DIGEST_HEX_SIZE)
                return false;
        for (; *hex; hex++)
                if (!strchr("0123456789abcdef", *hex))
                        return false;
        return true;
}

/* Only the tags this module writes, on manifests of its artifactType: images and their channels
 * in the same repository are never touched. */
static int gc_one(Registry *r, const char *tag, int64_t cutoff, bool dry_run, bool *ret_removed) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        int k = registry_manifest_get(r, tag, &m);
        if (k < 0)
                return k;
        _cleanup_(json_decrefp) json_t *j = json_loadb(m->data, m->size, 0, NULL);
        const char *used = json_string_value(json_object_get(json_object_get(j, "annotations"), USED_ANNOTATION));
        int64_t when = 0;
        *ret_removed = false;
        if (!streq_ptr(json_string_value(json_object_get(j, "artifactType")), CACHE_ARTIFACT_TYPE))
                return 0;
        if (used && rfc3339_parse(used, &when) >= 0 && when >= cutoff)
                return 0;
        *ret_removed = true;
        return dry_run ? 0 : registry_manifest_delete(r, m->digest);
}

int remote_cache_gc(const char *ref, unsigned keep_days, bool dry_run, RemoteCacheGcStats *ret) {
        _cleanup_(registry_ref_freep) RegistryRef *rr = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        int k = registry_open_string(ref, false, &rr, &r);
        if (k < 0)
                return k;
        _cleanup_strv_free_ char **tags = NULL;
        size_t n = 0;
        k = registry_tags_list(r, &tags, &n);
        if (k < 0)
                return log_error_errno(k, "failed to list the tags of '%s': %m", ref);
        RemoteCacheGcStats st = {};
        int64_t cutoff = (int64_t) time(NULL) - (int64_t) keep_days * 86400;
        for (size_t i = 0; i < n; i++) {
                if (!cache_tag(tags[i]))
                        continue;
                bool removed = false;
                k = gc_one(r, tags[i], cutoff, dry_run, &removed);
                if (k < 0)
                        return log_error_errno(k, "failed to collect '%s' in '%s': %m", tags[i], ref);
                if (removed)
                        st.removed++;
                else
                        st.kept++;
        }
        /* A layout collects its unreferenced blobs here; a registry does it itself. */
        if (!dry_run && st.removed > 0) {
                uint64_t blobs = 0, bytes = 0;
                k = registry_sweep(r, 3600, &blobs, &bytes);
                if (k < 0 && k != -EOPNOTSUPP)
                        return log_error_errno(k, "failed to remove unreferenced blobs in '%s': %m", ref);
        }
        *ret = st;
        return 0;
}
