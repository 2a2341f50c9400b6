/* The registry as objects under a prefix (object-layout.h): tags and manifests as small objects,
 * blob reads verified, gc's sweep. Only the backend's put/get/list/delete touch the network. */
#include "object-layout.h"

#include <inttypes.h>
#include <time.h>

#include "digest.h"
#include "log.h"
#include "sparse.h"
#include "strv.h"

void object_listing_add(ObjectListing *l, const char *name, int64_t modified, uint64_t size) {
        l->modified = xrealloc(l->modified, (l->n + 1) * sizeof(int64_t));
        l->sizes = xrealloc(l->sizes, (l->n + 1) * sizeof(uint64_t));
        l->modified[l->n] = modified;
        l->sizes[l->n] = size;
        strv_push(&l->names, &l->n, xstrdup(name));
}

void object_listing_done(ObjectListing *l) {
        strv_free(l->names);
        free(l->modified);
        free(l->sizes);
        *l = (ObjectListing) {};
}

void object_read_answer(const HttpResponse *resp, char **ret_data, size_t *ret_size, char **ret_content_type) {
        size_t size;
        const char *body = http_response_body(resp, &size);
        const char *ct = http_response_header(resp, "Content-Type");
        if (ret_data)
                *ret_data = xstrndup(body, size);
        if (ret_size)
                *ret_size = size;
        if (ret_content_type)
                *ret_content_type = ct ? xstrdup(ct) : NULL;
}

char *object_layout_blob_name(const char *digest) {
        return xasprintf("blobs/sha256/%s", digest + strlen("sha256:"));
}

static char *manifest_name(const char *digest) {
        return xasprintf("manifests/sha256/%s", digest + strlen("sha256:"));
}

static bool is_digest(const char *reference) {
        return startswith(reference, "sha256:") && strlen(reference) == 7 + DIGEST_HEX_SIZE &&
               reference[7 + strspn(reference + 7, "0123456789abcdef")] == 0;
}

static void digest_of(const void *data, size_t size, char ret[static DIGEST_STRING_MAX]) {
        uint8_t d[DIGEST_SIZE];
        digest_buffer(data, size, d);
        digest_to_string(d, ret);
}

typedef struct VerifySink {
        int fd;
        uint64_t written, max;
        Digest *digest;
} VerifySink;

static int verify_sink(const void *data, size_t size, void *userdata) {
        VerifySink *v = userdata;
        if (v->written + size > v->max)
                return -EFBIG;
        digest_update(v->digest, data, size);
        v->written += size;
        return sparse_write(v->fd, data, size);
}

int object_layout_blob_get(void *b, const char *digest, uint64_t max_size, int fd) {
        ObjectStore *o = b;
        _cleanup_free_ char *name = object_layout_blob_name(digest);
        _cleanup_(digest_freep) Digest *d = digest_new();
        VerifySink v = { .fd = fd, .max = max_size, .digest = d };
        ObjectRead r = { .sink = verify_sink, .userdata = &v, .progress = true };
        int k = o->ops->get(o, name, &r, NULL, NULL, NULL);
        if (k == -EFBIG)
                return log_error_errno(k, "%s '%s': blob '%s' is larger than the %" PRIu64 " bytes declared", o->kind,
                                       o->display, digest, max_size);
        if (k == -ENOENT)
                return log_error_errno(k, "%s '%s': blob '%s' is missing", o->kind, o->display, digest);
        if (k < 0)
                return k;
        uint8_t got[DIGEST_SIZE];
        char gots[DIGEST_STRING_MAX];
        digest_final(d, got);
        digest_to_string(got, gots);
        if (!streq(gots, digest))
                return log_error_errno(-EBADMSG, "%s '%s': blob '%s' failed verification: content has digest %s", o->kind,
                                       o->display, digest, gots);
        return 0;
}

int object_layout_blob_delete(void *b, const char *digest) {
        ObjectStore *o = b;
        _cleanup_free_ char *name = object_layout_blob_name(digest);
        return o->ops->delete(o, name);
}

int object_layout_manifest_put(void *b, const char *reference, const char *media_type, const char *data,
                               size_t size, bool *ret_subject_ok) {
        ObjectStore *o = b;
        char digest[DIGEST_STRING_MAX];
        digest_of(data, size, digest);
        _cleanup_free_ char *name = manifest_name(digest);
        int k = o->ops->put(o, name, media_type, data, size); /* before any tag names it */
        if (k < 0)
                return k;
        if (!is_digest(reference)) {
                _cleanup_free_ char *tag_name = xasprintf("tags/%s", reference);
                json_t *j = json_pack("{s:s, s:s, s:I}", "digest", digest, "mediaType", media_type, "size", (json_int_t) size);
                _cleanup_free_ char *tag = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
                json_decref(j);
                k = o->ops->put(o, tag_name, "application/json", tag, strlen(tag));
                if (k < 0)
                        return k;
        }
        *ret_subject_ok = false; /* no referrers API: the caller keeps the fallback index */
        return 0;
}

/* A tag's object → its manifest digest (and media type). -ENOENT if there is no such tag. */
static int tag_resolve(ObjectStore *o, const char *tag, char **ret_digest, char **ret_media_type) {
        _cleanup_free_ char *name = xasprintf("tags/%s", tag), *data = NULL;
        ObjectRead r = { .max_size = 64 * 1024 };
        int k = o->ops->get(o, name, &r, &data, NULL, NULL);
        if (k < 0)
                return k;
        json_t *j = json_loads(data, 0, NULL);
        const char *digest = json_string_value(json_object_get(j, "digest"));
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        if (!digest || !is_digest(digest)) {
                json_decref(j);
                return log_error_errno(-EBADMSG, "%s '%s': tag '%s' names no manifest digest", o->kind, o->display, name);
        }
        *ret_digest = xstrdup(digest);
        if (ret_media_type)
                *ret_media_type = mt ? xstrdup(mt) : NULL;
        json_decref(j);
        return 0;
}

int object_layout_manifest_get(void *b, const char *reference, char **ret_data, size_t *ret_size,
                               char **ret_media_type) {
        ObjectStore *o = b;
        _cleanup_free_ char *digest = NULL, *mt = NULL;
        int k = is_digest(reference) ? 0 : tag_resolve(o, reference, &digest, &mt);
        if (k < 0)
                return k;
        _cleanup_free_ char *name = manifest_name(digest ?: reference), *data = NULL, *ct = NULL;
        size_t size;
        ObjectRead r = { .max_size = 4 << 20 };
        k = o->ops->get(o, name, &r, &data, &size, &ct);
        if (k < 0)
                return k;
        char got[DIGEST_STRING_MAX];
        digest_of(data, size, got);
        if (!streq(got, digest ?: reference))
                return log_error_errno(-EBADMSG, "%s '%s': manifest '%s' failed verification: content has digest %s",
                                       o->kind, o->display, reference, got);
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        *ret_media_type = mt ? TAKE_PTR(mt) : TAKE_PTR(ct);
        return 0;
}

int object_layout_manifest_head(void *b, const char *reference, char **ret_digest) {
        ObjectStore *o = b;
        _cleanup_free_ char *digest = NULL;
        int k = is_digest(reference) ? 0 : tag_resolve(o, reference, &digest, NULL);
        if (k < 0)
                return k;
        _cleanup_free_ char *name = manifest_name(digest ?: reference);
        ObjectRead r = { .head_only = true };
        k = o->ops->get(o, name, &r, NULL, NULL, NULL);
        if (k < 0)
                return k;
        *ret_digest = digest ? TAKE_PTR(digest) : xstrdup(reference);
        return 0;
}

static int list_names(ObjectStore *o, const char *sub, char ***ret, size_t *ret_n) {
        _cleanup_(object_listing_done) ObjectListing l = {};
        int k = o->ops->list(o, sub, &l);
        if (k < 0)
                return k;
        *ret = l.names ? TAKE_PTR(l.names) : xcalloc(1, sizeof(char *));
        *ret_n = l.n;
        return 0;
}

int object_layout_tags_list(void *b, char ***ret_tags, size_t *ret_n) {
        int k = list_names(b, "tags/", ret_tags, ret_n);
        if (k >= 0)
                strv_sort(*ret_tags, *ret_n);
        return k;
}

int object_layout_manifest_delete(void *b, const char *digest) {
        ObjectStore *o = b;
        _cleanup_strv_free_ char **tags = NULL;
        size_t n;
        /* Tags first, as a registry drops them with the manifest: none may name a deleted one. */
        int k = list_names(o, "tags/", &tags, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = NULL, *name = xasprintf("tags/%s", tags[i]);
                if (tag_resolve(o, tags[i], &d, NULL) >= 0 && streq(d, digest) && (k = o->ops->delete(o, name)) < 0)
                        return k;
        }
        _cleanup_free_ char *name = manifest_name(digest);
        return o->ops->delete(o, name);
}

/* Marks what a stored manifest names (config, layers; an index's manifests are objects of their own
 * under manifests/ and are marked when they are read). A manifest deleted meanwhile marks nothing;
 * one that cannot be read fails the sweep, which would otherwise delete what it names. */
static int mark_manifest(ObjectStore *o, const char *name, json_t *live) {
        _cleanup_free_ char *data = NULL;
        ObjectRead r = { .max_size = 4 << 20 };
        int k = o->ops->get(o, name, &r, &data, NULL, NULL);
        if (k < 0)
                return k == -ENOENT ? 0 : k;
        json_t *m = json_loads(data, 0, NULL);
        registry_manifest_mark_blobs(m, live);
        json_decref(m);
        return 0;
}

int object_layout_sweep(void *b, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes) {
        ObjectStore *o = b;
        _cleanup_strv_free_ char **manifests = NULL;
        size_t n;
        int k = list_names(o, "manifests/", &manifests, &n);
        if (k < 0)
                return k;
        json_t *live = json_object();
        for (size_t i = 0; k >= 0 && i < n; i++) {
                _cleanup_free_ char *name = xasprintf("manifests/%s", manifests[i]);
                k = mark_manifest(o, name, live);
        }
        uint64_t blobs = 0, bytes = 0;
        _cleanup_(object_listing_done) ObjectListing l = {};
        if (k >= 0)
                k = o->ops->list(o, "blobs/", &l);
        int64_t now = (int64_t) time(NULL);
        for (size_t i = 0; k >= 0 && i < l.n; i++) {
                _cleanup_free_ char *digest = startswith(l.names[i], "sha256/") ? xasprintf("sha256:%s", l.names[i] + 7) : NULL;
                if (!digest || !is_digest(digest) || json_object_get(live, digest) || now - l.modified[i] < (int64_t) min_age_s)
                        continue;
                if (object_layout_blob_delete(o, digest) < 0)
                        continue;
                blobs++;
                bytes += l.sizes[i];
        }
        json_decref(live);
        if (k < 0)
                return k;
        *ret_blobs = blobs;
        *ret_bytes = bytes;
        return 0;
}
