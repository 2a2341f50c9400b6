/* The S3 backend (registry-s3.h): signed requests, error reports, and the put/get/list/delete the
 * object layout (object-layout.h) keeps tags and manifests with. Uploads are in registry-s3-upload.c. */
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
        /* A full bucket: 413/507, or (AWS, Swift's s3api over its container quota) 400 EntityTooLarge. */
        if (k == -EDQUOT || (code && (streq(code, "EntityTooLarge") || streq(code, "QuotaExceeded")))) {
                k = -EDQUOT;
                hint = " (over the storage quota: free space or raise the quota, then run again: finished parts are "
                       "kept and the upload resumes)";
        }
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
        _cleanup_free_ char *key = object_layout_blob_name(digest);
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

/* The object layout's operations (object-layout.h). */
static int s3_object_put(ObjectStore *o, const char *name, const char *content_type, const void *data, size_t size) {
        _cleanup_free_ char *ct = xasprintf("Content-Type: %s", content_type);
        const char *headers[] = { ct, NULL };
        S3Call call = { .method = "PUT", .key = name, .headers = headers, .body_kind = HTTP_BODY_MEMORY,
                        .body = data, .body_size = size };
        return s3_do((S3 *) o, &call, NULL);
}

static int s3_object_get(ObjectStore *o, const char *name, const ObjectRead *r, char **ret_data, size_t *ret_size,
                         char **ret_content_type) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = r->head_only ? "HEAD" : "GET", .key = name, .sink = r->sink, .userdata = r->userdata,
                        .max_body = r->max_size, .flags = r->progress ? HTTP_PROGRESS : 0, .missing_ok = true };
        int k = s3_do((S3 *) o, &call, &resp);
        if (k < 0)
                return k;
        object_read_answer(resp, ret_data, ret_size, ret_content_type);
        return 0;
}

static void listing_add(ObjectListing *l, const char *body, const char *full, const char **pos) {
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
        object_listing_add(l, startswith(key, full) ? key + strlen(full) : key, t, size ? strtoull(size, NULL, 10) : 0);
}

/* Every object under PREFIX+sub, following ListObjectsV2 pagination. */
static int s3_object_list(ObjectStore *o, const char *sub, ObjectListing *ret) {
        S3 *s = (S3 *) o;
        _cleanup_free_ char *full = xasprintf("%s%s", s->prefix, sub), *prefix_q = s3_uri_encode(full, false);
        _cleanup_free_ char *token = NULL;
        _cleanup_(object_listing_done) ObjectListing l = {};
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
        *ret = l;
        l = (ObjectListing) {};
        return 0;
}

static int s3_object_delete(ObjectStore *o, const char *name) {
        S3Call call = { .method = "DELETE", .key = name, .missing_ok = true };
        int k = s3_do((S3 *) o, &call, NULL);
        return k == -ENOENT ? 0 : k;
}

static const ObjectStoreOps s3_object_ops = {
        .put = s3_object_put,
        .get = s3_object_get,
        .list = s3_object_list,
        .delete = s3_object_delete,
};

/* gc for a bucket: unfinished uploads older than min_age_s, then the layout's sweep. */
static int s3_sweep(void *userdata, unsigned min_age_s, uint64_t *ret_blobs, uint64_t *ret_bytes) {
        S3 *s = userdata;
        uint64_t aborted = 0;
        int k = s3_abort_stale_uploads(s, min_age_s, &aborted);
        if (k < 0)
                return k;
        if (aborted > 0)
                log_info("S3 '%s': aborted %" PRIu64 " abandoned multipart upload(s)", s->display, aborted);
        return object_layout_sweep(s, min_age_s, ret_blobs, ret_bytes);
}

static const RegistryBackend s3_backend = {
        .name = "s3",
        .blob_exists = s3_blob_exists,
        .blob_push = s3_blob_push,
        .blob_get = object_layout_blob_get,
        .blob_delete = object_layout_blob_delete,
        .manifest_put = object_layout_manifest_put,
        .manifest_get = object_layout_manifest_get,
        .manifest_head = object_layout_manifest_head,
        .manifest_delete = object_layout_manifest_delete,
        .tags_list = object_layout_tags_list,
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
        s->store = (ObjectStore) { .ops = &s3_object_ops, .kind = "S3", .display = s->display };
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
