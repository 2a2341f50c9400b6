/* The S3 backend (registry-s3.h): signed requests, error reports, blobs, manifests and tags as
 * objects under the prefix. Uploads are in registry-s3-upload.c. */
#include "registry-s3.h"

#include <inttypes.h>
#include <time.h>

#include "digest.h"
#include "log.h"
#include "registry-s3-internal.h"
#include "s3-credentials.h"
#include "strv.h"
#include "time-util.h"

static void s3_free(void *userdata) {
        S3 *s = userdata;
        free(s->endpoint);
        free(s->host);
        free(s->bucket);
        free(s->prefix);
        free(s->region);
        free(s->display);
        s3_credentials_free(s->creds);
        free(s);
}

char *s3_blob_key(const char *digest) {
        return xasprintf("blobs/sha256/%s", digest + strlen("sha256:"));
}

/* "/BUCKET/PREFIXKEY", encoded the one way SigV4 and the server agree on. */
static char *object_path(S3 *s, const char *key) {
        if (!key)
                return xasprintf("/%s", s->bucket);
        _cleanup_free_ char *full = xasprintf("%s%s", s->prefix, key);
        _cleanup_free_ char *enc = s3_uri_encode(full, true);
        return xasprintf("/%s/%s", s->bucket, enc);
}

int s3_call(S3 *s, const S3Call *call, HttpResponse **ret) {
        _cleanup_free_ char *path = object_path(s, call->key);
        _cleanup_free_ char *url = xasprintf("%s%s%s%s", s->endpoint, path, call->query ? "?" : "", call->query ?: "");
        char sha[DIGEST_HEX_SIZE + 1];
        const char *payload = call->payload_sha256;
        if (!payload && call->body_kind == HTTP_BODY_MEMORY) {
                uint8_t d[DIGEST_SIZE];
                digest_buffer(call->body, call->body_size, d);
                digest_to_hex(d, sha);
                payload = sha;
        }
        SigV4Request sreq = { .method = call->method, .host = s->host, .path = path, .query = call->query,
                              .headers = call->headers, .payload_sha256 = payload ?: S3_EMPTY_SHA256,
                              .region = s->region, .service = "s3", .when = time(NULL) };
        _cleanup_strv_free_ char **auth = NULL;
        int k = sigv4_sign(&sreq, s->creds, &auth);
        if (k < 0)
                return k;
        _cleanup_strv_free_ char **headers = NULL;
        size_t n = 0;
        for (size_t i = 0; call->headers && call->headers[i]; i++)
                strv_push(&headers, &n, xstrdup(call->headers[i]));
        for (size_t i = 0; auth[i]; i++)
                strv_push(&headers, &n, xstrdup(auth[i]));
        HttpRequest req = { .method = call->method, .url = url, .headers = (const char *const *) headers,
                            .body_kind = call->body_kind, .body = call->body, .body_size = call->body_size,
                            .body_fd = call->body_fd, .body_offset = call->body_offset,
                            .body_length = call->body_length, .sink = call->sink, .userdata = call->userdata,
                            .flags = call->flags, .max_body = call->max_body };
        return http_request(&req, ret);
}

static char *xml_unescape(const char *s, size_t n) {
        static const struct {
                const char *entity, *c;
        } ents[] = { { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }, { "&apos;", "'" } };
        char *out = xmalloc(n + 1), *o = out;
        for (size_t i = 0; i < n;) {
                bool done = false;
                for (size_t e = 0; e < ELEMENTSOF(ents) && !done; e++) {
                        size_t el = strlen(ents[e].entity);
                        if (i + el <= n && strncmp(s + i, ents[e].entity, el) == 0) {
                                *o++ = ents[e].c[0];
                                i += el;
                                done = true;
                        }
                }
                if (!done)
                        *o++ = s[i++];
        }
        *o = 0;
        return out;
}

char *s3_xml_next(const char *xml, const char *name, const char **pos) {
        _cleanup_free_ char *open_tag = xasprintf("<%s>", name), *close_tag = xasprintf("</%s>", name);
        const char *from = pos && *pos ? *pos : xml;
        const char *b = strstr(from, open_tag);
        if (!b)
                return NULL;
        b += strlen(open_tag);
        const char *e = strstr(b, close_tag);
        if (!e)
                return NULL;
        if (pos)
                *pos = e + strlen(close_tag);
        return xml_unescape(b, e - b);
}

static int status_errno(long status) {
        switch (status) {
        case 404:
                return -ENOENT;
        case 401:
        case 403:
                return -EACCES;
        case 429:
        case 503:
                return -EAGAIN;
        case 413:
        case 507:
                return -EDQUOT;
        default:
                return -EIO;
        }
}

int s3_check(S3 *s, const S3Call *call, const HttpResponse *resp) {
        long status = http_response_status(resp);
        size_t size;
        const char *body = http_response_body(resp, &size);
        bool error_body = status / 100 == 2 && body && strstr(body, "<Error>");
        if (status / 100 == 2 && !error_body)
                return 0;
        _cleanup_free_ char *code = body ? s3_xml_next(body, "Code", NULL) : NULL;
        _cleanup_free_ char *message = body ? s3_xml_next(body, "Message", NULL) : NULL;
        _cleanup_free_ char *path = object_path(s, call->key);
        const char *hint = "";
        if (code && (streq(code, "SignatureDoesNotMatch") || streq(code, "InvalidAccessKeyId")))
                hint = " (check the secret access key and the region)";
        else if (code && streq(code, "NoSuchBucket"))
                hint = " (create the bucket first: baker does not)";
        int k = error_body ? -EIO : status_errno(status);
        if (call->missing_ok && k == -ENOENT)
                return k;
        return log_error_errno(k, "S3 '%s' (access key id '%s' from %s): %s %s%s%s: status %ld %s%s%s%s%s%s", s->display,
                               s->creds->access_key_id, s->creds->source, call->method, s->endpoint, path,
                               call->query ? "?…" : "", status, http_response_reason(resp), code ? ": " : "",
                               code ?: "", message ? ": " : "", message ?: "", hint);
}

int s3_do(S3 *s, const S3Call *call, HttpResponse **ret) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = s3_call(s, call, &resp);
        if (k < 0)
                return k;
        k = s3_check(s, call, resp);
        if (k < 0)
                return k;
        if (ret)
                *ret = TAKE_PTR(resp);
        return 0;
}

static int s3_blob_exists(void *userdata, const char *digest, uint64_t *ret_size) {
        S3 *s = userdata;
        _cleanup_free_ char *key = s3_blob_key(digest);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "HEAD", .key = key, .missing_ok = true };
        int k = s3_call(s, &call, &resp);
        if (k < 0)
                return k;
        if (http_response_status(resp) == 404)
                return 0;
        k = s3_check(s, &call, resp);
        if (k < 0)
                return k;
        /* A multipart object appears only when complete; the digest it was stored under must match. */
        const char *meta = http_response_header(resp, "x-amz-meta-baker-digest");
        if (meta && !streq(meta, digest)) {
                log_warning("S3 '%s': object '%s' says it holds %s: uploading it again", s->display, key, meta);
                return 0;
        }
        const char *len = http_response_header(resp, "Content-Length");
        if (ret_size)
                *ret_size = len ? strtoull(len, NULL, 10) : 0;
        return 1;
}

typedef struct LimitedSink {
        int fd;
        uint64_t written, max;
        Digest *digest;
} LimitedSink;

static int limited_sink(const void *data, size_t size, void *userdata) {
        LimitedSink *l = userdata;
        if (l->written + size > l->max)
                return -EFBIG;
        digest_update(l->digest, data, size);
        l->written += size;
        return write_all(l->fd, data, size);
}

static int s3_blob_get(void *userdata, const char *digest, uint64_t max_size, int fd) {
        S3 *s = userdata;
        _cleanup_free_ char *key = s3_blob_key(digest);
        _cleanup_(digest_freep) Digest *d = digest_new();
        LimitedSink sink = { .fd = fd, .max = max_size, .digest = d };
        S3Call call = { .method = "GET", .key = key, .sink = limited_sink, .userdata = &sink, .flags = HTTP_PROGRESS };
        int k = s3_do(s, &call, NULL);
        if (k == -EFBIG)
                return log_error_errno(k, "S3 '%s': blob '%s' is larger than the %" PRIu64 " bytes declared", s->display,
                                       digest, max_size);
        if (k < 0)
                return k;
        uint8_t got[DIGEST_SIZE];
        char gots[DIGEST_STRING_MAX];
        digest_final(d, got);
        digest_to_string(got, gots);
        if (!streq(gots, digest))
                return log_error_errno(-EBADMSG, "S3 '%s': blob '%s' failed verification: content has digest %s",
                                       s->display, digest, gots);
        return 0;
}

static int s3_blob_delete(void *userdata, const char *digest) {
        _cleanup_free_ char *key = s3_blob_key(digest);
        S3Call call = { .method = "DELETE", .key = key };
        int k = s3_do(userdata, &call, NULL);
        return k == -ENOENT ? 0 : k;
}

static char *manifest_key(const char *digest) {
        return xasprintf("manifests/sha256/%s", digest + strlen("sha256:"));
}

static bool is_digest(const char *reference) {
        return startswith(reference, "sha256:") && strlen(reference) == 7 + DIGEST_HEX_SIZE &&
               reference[7 + strspn(reference + 7, "0123456789abcdef")] == 0;
}

static int s3_manifest_put(void *userdata, const char *reference, const char *media_type, const char *data,
                           size_t size, bool *ret_subject_ok) {
        S3 *s = userdata;
        uint8_t d[DIGEST_SIZE];
        char digest[DIGEST_STRING_MAX];
        digest_buffer(data, size, d);
        digest_to_string(d, digest);
        _cleanup_free_ char *key = manifest_key(digest), *ct = xasprintf("Content-Type: %s", media_type);
        const char *headers[] = { ct, NULL };
        /* The manifest lands before any tag names it. */
        S3Call call = { .method = "PUT", .key = key, .headers = headers, .body_kind = HTTP_BODY_MEMORY,
                        .body = data, .body_size = size };
        int k = s3_do(s, &call, NULL);
        if (k < 0)
                return k;
        if (!is_digest(reference)) {
                _cleanup_free_ char *tag_key = xasprintf("tags/%s", reference);
                _cleanup_free_ char *tag = NULL;
                json_t *j = json_pack("{s:s, s:s, s:I}", "digest", digest, "mediaType", media_type, "size", (json_int_t) size);
                tag = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
                json_decref(j);
                const char *th[] = { "Content-Type: application/json", NULL };
                S3Call tc = { .method = "PUT", .key = tag_key, .headers = th, .body_kind = HTTP_BODY_MEMORY,
                              .body = tag, .body_size = strlen(tag) };
                k = s3_do(s, &tc, NULL);
                if (k < 0)
                        return k;
        }
        *ret_subject_ok = false; /* no referrers API: the caller keeps the fallback index */
        return 0;
}

/* A tag's object → its manifest digest (and media type). -ENOENT if there is no such tag. */
static int tag_resolve(S3 *s, const char *tag, char **ret_digest, char **ret_media_type) {
        _cleanup_free_ char *key = xasprintf("tags/%s", tag);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "GET", .key = key, .missing_ok = true, .max_body = 64 * 1024 };
        int k = s3_do(s, &call, &resp);
        if (k < 0)
                return k;
        json_t *j = json_loads(http_response_body(resp, NULL), 0, NULL);
        const char *digest = json_string_value(json_object_get(j, "digest"));
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        if (!digest || !is_digest(digest)) {
                json_decref(j);
                return log_error_errno(-EBADMSG, "S3 '%s': tag object '%s' does not name a manifest digest", s->display, key);
        }
        *ret_digest = xstrdup(digest);
        if (ret_media_type)
                *ret_media_type = mt ? xstrdup(mt) : NULL;
        json_decref(j);
        return 0;
}

static int s3_manifest_get(void *userdata, const char *reference, char **ret_data, size_t *ret_size,
                           char **ret_media_type) {
        S3 *s = userdata;
        _cleanup_free_ char *digest = NULL, *mt = NULL;
        int k = is_digest(reference) ? 0 : tag_resolve(s, reference, &digest, &mt);
        if (k < 0)
                return k;
        _cleanup_free_ char *key = manifest_key(digest ?: reference);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "GET", .key = key, .missing_ok = true, .max_body = 4 << 20 };
        k = s3_do(s, &call, &resp);
        if (k < 0)
                return k;
        size_t size;
        const char *body = http_response_body(resp, &size);
        uint8_t d[DIGEST_SIZE];
        char got[DIGEST_STRING_MAX];
        digest_buffer(body, size, d);
        digest_to_string(d, got);
        if (!streq(got, digest ?: reference))
                return log_error_errno(-EBADMSG, "S3 '%s': manifest '%s' failed verification: content has digest %s",
                                       s->display, reference, got);
        const char *ct = http_response_header(resp, "Content-Type");
        *ret_data = xstrndup(body, size);
        *ret_size = size;
        *ret_media_type = mt ? TAKE_PTR(mt) : ct ? xstrdup(ct) : NULL;
        return 0;
}

static int s3_manifest_head(void *userdata, const char *reference, char **ret_digest) {
        S3 *s = userdata;
        _cleanup_free_ char *digest = NULL;
        int k = is_digest(reference) ? 0 : tag_resolve(s, reference, &digest, NULL);
        if (k < 0)
                return k;
        _cleanup_free_ char *key = manifest_key(digest ?: reference);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "HEAD", .key = key, .missing_ok = true };
        k = s3_do(s, &call, &resp);
        if (k < 0)
                return k;
        *ret_digest = digest ? TAKE_PTR(digest) : xstrdup(reference);
        return 0;
}

typedef struct S3Listing {
        char **keys; /* without PREFIX+sub */
        int64_t *modified; /* LastModified, epoch seconds */
        uint64_t *sizes;
        size_t n;
} S3Listing;

static void listing_done(S3Listing *l) {
        strv_free(l->keys);
        free(l->modified);
        free(l->sizes);
        *l = (S3Listing) {};
}

static void listing_add(S3Listing *l, const char *body, const char *full, const char **pos) {
        _cleanup_free_ char *key = s3_xml_next(body, "Key", pos);
        if (!key)
                return;
        /* LastModified and Size follow Key inside the same <Contents>. */
        const char *end = strstr(*pos, "</Contents>");
        _cleanup_free_ char *lm = s3_xml_next(body, "LastModified", pos);
        _cleanup_free_ char *size = s3_xml_next(body, "Size", pos);
        if (end && *pos > end + strlen("</Contents>")) /* a malformed entry: never read past it */
                lm = mfree(lm), size = mfree(size);
        int64_t t = 0;
        if (lm)
                (void) rfc3339_parse(lm, &t);
        l->modified = xrealloc(l->modified, (l->n + 1) * sizeof(int64_t));
        l->sizes = xrealloc(l->sizes, (l->n + 1) * sizeof(uint64_t));
        l->modified[l->n] = t;
        l->sizes[l->n] = size ? strtoull(size, NULL, 10) : 0;
        strv_push(&l->keys, &l->n, xstrdup(startswith(key, full) ? key + strlen(full) : key));
}

/* Every object under PREFIX+sub, following ListObjectsV2 pagination. */
static int list_objects(S3 *s, const char *sub, S3Listing *ret) {
        _cleanup_free_ char *full = xasprintf("%s%s", s->prefix, sub), *prefix_q = s3_uri_encode(full, false);
        _cleanup_free_ char *token = NULL;
        _cleanup_(listing_done) S3Listing l = {};
        do {
                _cleanup_free_ char *tq = token ? s3_uri_encode(token, false) : NULL;
                _cleanup_free_ char *query = xasprintf("list-type=2&prefix=%s%s%s", prefix_q,
                                                       tq ? "&continuation-token=" : "", tq ?: "");
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                S3Call call = { .method = "GET", .query = query, .max_body = 16 << 20 };
                int k = s3_do(s, &call, &resp);
                if (k < 0)
                        return k;
                const char *body = http_response_body(resp, NULL), *pos = body;
                while ((pos = strstr(pos, "<Contents>")))
                        listing_add(&l, body, full, &pos);
                _cleanup_free_ char *truncated = s3_xml_next(body, "IsTruncated", NULL);
                free(token);
                token = truncated && streq(truncated, "true") ? s3_xml_next(body, "NextContinuationToken", NULL) : NULL;
        } while (token);
        if (!l.keys)
                l.keys = xcalloc(1, sizeof(char *));
        *ret = l;
        l = (S3Listing) {};
        return 0;
}

static int list_keys(S3 *s, const char *sub, char ***ret_keys, size_t *ret_n) {
        S3Listing l;
        int k = list_objects(s, sub, &l);
        if (k < 0)
                return k;
        *ret_keys = TAKE_PTR(l.keys);
        *ret_n = l.n;
        listing_done(&l);
        return 0;
}

static int s3_tags_list(void *userdata, char ***ret_tags, size_t *ret_n) {
        char **tags;
        size_t n;
        int k = list_keys(userdata, "tags/", &tags, &n);
        if (k < 0)
                return k;
        strv_sort(tags, n);
        *ret_tags = tags;
        *ret_n = n;
        return 0;
}

static int s3_manifest_delete(void *userdata, const char *digest) {
        S3 *s = userdata;
        _cleanup_strv_free_ char **tags = NULL;
        size_t n;
        /* Tags first, as a registry drops them with the manifest: none may name a deleted one. */
        int k = list_keys(s, "tags/", &tags, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *d = NULL;
                if (tag_resolve(s, tags[i], &d, NULL) < 0 || !streq(d, digest))
                        continue;
                _cleanup_free_ char *key = xasprintf("tags/%s", tags[i]);
                S3Call call = { .method = "DELETE", .key = key };
                k = s3_do(s, &call, NULL);
                if (k < 0 && k != -ENOENT)
                        return k;
        }
        _cleanup_free_ char *key = manifest_key(digest);
        S3Call call = { .method = "DELETE", .key = key };
        k = s3_do(s, &call, NULL);
        return k == -ENOENT ? 0 : k;
}

/* Marks what a stored manifest names (config, layers; an index's manifests are objects of their own
 * under manifests/ and are marked when they are read). */
static void mark_manifest(S3 *s, const char *key, json_t *live) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "GET", .key = key, .max_body = 4 << 20, .missing_ok = true };
        if (s3_do(s, &call, &resp) < 0)
                return;
        json_t *m = json_loads(http_response_body(resp, NULL), 0, NULL), *e;
        size_t i;
        const char *c = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
        if (c)
                json_object_set_new(live, c, json_true());
        json_array_foreach(json_object_get(m, "layers"), i, e)
                if (json_string_value(json_object_get(e, "digest")))
                        json_object_set_new(live, json_string_value(json_object_get(e, "digest")), json_true());
        json_decref(m);
}

/* gc for a bucket, which collects no garbage of its own: unfinished uploads and blobs no manifest
 * names, both older than min_age_s (a concurrent push is younger). */
static int s3_sweep(void *userdata, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes) {
        S3 *s = userdata;
        uint64_t aborted = 0, blobs = 0, bytes = 0;
        int k = s3_abort_stale_uploads(s, min_age_s, &aborted);
        if (k < 0)
                return k;
        _cleanup_strv_free_ char **manifests = NULL;
        size_t n;
        k = list_keys(s, "manifests/", &manifests, &n);
        if (k < 0)
                return k;
        json_t *live = json_object();
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *key = xasprintf("manifests/%s", manifests[i]);
                mark_manifest(s, key, live);
        }
        _cleanup_(listing_done) S3Listing l = {};
        k = list_objects(s, "blobs/", &l);
        int64_t now = (int64_t) time(NULL);
        for (size_t i = 0; k >= 0 && i < l.n; i++) {
                _cleanup_free_ char *digest = startswith(l.keys[i], "sha256/") ? xasprintf("sha256:%s", l.keys[i] + 7) : NULL;
                if (!digest || !is_digest(digest) || json_object_get(live, digest) || now - l.modified[i] < (int64_t) min_age_s)
                        continue;
                if (s3_blob_delete(s, digest) < 0)
                        continue;
                blobs++;
                bytes += l.sizes[i];
        }
        json_decref(live);
        if (k < 0)
                return k;
        if (aborted > 0)
                log_info("S3 '%s': aborted %" PRIu64 " abandoned multipart upload(s)", s->display, aborted);
        *ret_blobs = blobs;
        *ret_bytes = bytes;
        return 0;
}

static const RegistryBackend s3_backend = {
        .name = "s3",
        .blob_exists = s3_blob_exists,
        .blob_push = s3_blob_push,
        .blob_get = s3_blob_get,
        .blob_delete = s3_blob_delete,
        .manifest_put = s3_manifest_put,
        .manifest_get = s3_manifest_get,
        .manifest_head = s3_manifest_head,
        .manifest_delete = s3_manifest_delete,
        .tags_list = s3_tags_list,
        .sweep = s3_sweep,
        .free = s3_free,
};

static uint64_t env_u64(const char *name, uint64_t def) {
        const char *v = getenv(name);
        char *end;
        if (!v || !*v)
                return def;
        unsigned long long x = strtoull(v, &end, 10);
        return *end || x == 0 ? def : x;
}

/* One cheap signed request up front, so wrong credentials, a wrong region and a missing bucket are
 * reported before anything is uploaded, with the server's own words. */
static int s3_probe(S3 *s) {
        _cleanup_free_ char *p = s3_uri_encode(s->prefix, false);
        _cleanup_free_ char *query = xasprintf("list-type=2&max-keys=1&prefix=%s", p);
        S3Call call = { .method = "GET", .query = query };
        return s3_do(s, &call, NULL);
}

int registry_s3_open(const RegistryRef *ref, Registry **ret) {
        _cleanup_(s3_credentials_freep) S3Credentials *creds = NULL;
        int k = s3_credentials_load(&creds);
        if (k < 0)
                return k;
        S3 *s = xcalloc(1, sizeof(*s));
        size_t blen = strcspn(ref->repository, "/");
        s->bucket = xstrndup(ref->repository, blen);
        s->prefix = ref->repository[blen] ? xasprintf("%s/", ref->repository + blen + 1) : xstrdup("");
        s->host = xstrdup(ref->host);
        s->endpoint = xasprintf("%s://%s", ref->plain_http ? "http" : "https", ref->host);
        s->region = ref->region ? xstrdup(ref->region) : s3_region_default(ref->host);
        s->display = registry_ref_repository_string(ref);
        s->creds = TAKE_PTR(creds);
        s->part_size = env_u64("BAKER_S3_PART_SIZE", 16ULL << 20);
        s->parallel = (unsigned) env_u64("BAKER_S3_PARALLEL", 4);
        if (s->parallel > 16)
                s->parallel = 16;
        if (ref->plain_http && !http_url_credentials_ok(s->endpoint)) {
                s3_free(s);
                return log_error_errno(-EPERM, "S3 '%s': refusing to sign requests over plain http to a host that is not "
                                               "loopback (name it insecure to allow)", ref->host);
        }
        k = s3_probe(s);
        if (k < 0) {
                s3_free(s);
                return k;
        }
        *ret = registry_new(&s3_backend, s, ref);
        return 0;
}
