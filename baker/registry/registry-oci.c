/* OCI Distribution backend: the registry HTTP API (distribution-spec v1.1) over baker's http
 * module.
 *
 * Uploads: HEAD first (in registry.c), then POST to open a session; blobs up to the chunk size go
 * monolithically (PUT ?digest= with the body), larger ones in PATCH chunks with Content-Range. When
 * a chunk fails (connection cut, registry restarted) the session's status is asked for (GET on the
 * upload URL: its Range header says what arrived) and the upload continues from there; if the
 * session is gone a new one starts. Nothing already stored is sent twice.
 *
 * Auth: a request goes out anonymously (or with a cached token/basic credentials for its scope); a
 * 401 with "WWW-Authenticate: Basic" is answered with credentials, one with "Bearer realm, service,
 * scope" by fetching a token from the realm (with basic credentials if any, every scope asked for)
 * and retrying; "insufficient_scope" fetches a token for the scopes the challenge names. Tokens are
 * cached per scope set for the life of the Registry. Credentials and tokens are registered with
 * log_add_secret() and never printed. */
#include "registry-oci.h"

#include <inttypes.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>

#include "digest.h"
#include "http.h"
#include "log.h"
#include "sparse.h"
#include "registry-oci-internal.h"

#define MANIFEST_ACCEPT                                                                                   \
        "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "   \
        "application/vnd.docker.distribution.manifest.v2+json, "                                         \
        "application/vnd.docker.distribution.manifest.list.v2+json"

void registry_oci_add_insecure_host(const char *host) {
        http_add_insecure_host(host);
}

static void oci_free(void *userdata) {
        Oci *o = userdata;
        free(o->host);
        free(o->repository);
        free(o->origin);
        free(o->user);
        if (o->password)
                explicit_bzero(o->password, strlen(o->password));
        free(o->password);
        free(o->basic_header);
        for (size_t i = 0; i < o->n_tokens; i++) {
                free(o->tokens[i].scope);
                free(o->tokens[i].header);
        }
        free(o->tokens);
        free(o);
}

char *url_escape(const char *s) {
        char *out = xmalloc(strlen(s) * 3 + 1), *p = out;
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c))
                        *p++ = (char) c;
                else
                        p += sprintf(p, "%%%02X", c);
        }
        *p = 0;
        return out;
}

/* "Location" may be absolute or relative to the registry. */
char *resolve_location(Oci *o, const char *loc) {
        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return xstrdup(loc);
        return xasprintf("%s%s%s", o->origin, loc[0] == '/' ? "" : "/", loc);
}

char *url_with_query(const char *url, const char *query) {
        return xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', query);
}

/* Logs "METHOD URL: status N Reason: CODE: message" with the registry's JSON error and returns an
 * errno for the status. */
int oci_fail(const char *method, const char *url, const HttpResponse *resp, const char *hint) {
        long status = http_response_status(resp);
        size_t size;
        const char *body = http_response_body(resp, &size);
        _cleanup_free_ char *detail = xstrdup("");
        json_t *j = size ? json_loadb(body, size, 0, NULL) : NULL, *e;
        size_t i;
        json_array_foreach(json_object_get(j, "errors"), i, e) {
                char *n = xasprintf("%s: %s: %s", detail, json_string_value(json_object_get(e, "code")) ?: "?",
                                    json_string_value(json_object_get(e, "message")) ?: "");
                free(detail);
                detail = n;
        }
        json_decref(j);
        _cleanup_free_ char *disp = http_url_display(url);
        if (!hint && status == 401)
                hint = "check the credentials (baker login, $BAKER_REGISTRY_USER/$BAKER_REGISTRY_PASSWORD, ~/.docker/config.json)";
        int k = status == 404 ? -ENOENT : status == 401 || status == 403 ? -EACCES : status == 405 ? -EOPNOTSUPP
                : status == 429 || status == 503                      ? -EAGAIN
                                                                      : -EIO;
        return log_error_errno(k, "%s %s: status %ld %s%s%s%s", method, disp, status, http_response_reason(resp), detail,
                               hint ? "; " : "", hint ?: "");
}

char *repo_url(Oci *o, const char *fmt_tail) {
        return xasprintf("%s/v2/%s/%s", o->origin, o->repository, fmt_tail);
}

/* ---- blobs ---- */

static int oci_blob_exists(void *userdata, const char *digest, uint64_t *ret_size) {
        Oci *o = userdata;
        _cleanup_free_ char *tail = xasprintf("blobs/%s", digest), *url = repo_url(o, tail);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "HEAD", .url = url, .flags = HTTP_FOLLOW_REDIRECTS }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        if (st == 404)
                return 0;
        if (st != 200)
                return oci_fail("HEAD", url, resp, NULL);
        const char *cl = http_response_header(resp, "Content-Length");
        if (ret_size)
                *ret_size = cl ? strtoull(cl, NULL, 10) : 0;
        return 1;
}

typedef struct BlobSink {
        int fd;
        uint64_t max, got;
        Digest *digest;
        int write_error;
} BlobSink;

static int blob_sink(const void *data, size_t size, void *userdata) {
        BlobSink *s = userdata;
        if (size > s->max - s->got)
                return -EFBIG;
        int r = sparse_write(s->fd, data, size);
        if (r < 0)
                return s->write_error = r;
        s->got += size;
        digest_update(s->digest, data, size);
        return 0;
}

/* Streams the blob into fd: stops past max_size bytes, hashes as it goes. */
static int oci_blob_get(void *userdata, const char *digest, uint64_t max_size, int fd) {
        Oci *o = userdata;
        _cleanup_free_ char *tail = xasprintf("blobs/%s", digest), *url = repo_url(o, tail);
        _cleanup_free_ char *disp = http_url_display(url);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        _cleanup_(digest_freep) Digest *d = digest_new();
        BlobSink sink = { .fd = fd, .max = max_size, .digest = d };
        int k = oci_call(o,
                         &(OciCall){ .method = "GET", .url = url, .sink = blob_sink, .userdata = &sink,
                                     .flags = HTTP_FOLLOW_REDIRECTS | HTTP_PROGRESS },
                         &resp);
        if (k == -EFBIG)
                return log_error_errno(k, "GET %s: the registry sent more than the %" PRIu64 " bytes declared for '%s'",
                                       disp, max_size, digest);
        if (k < 0 && sink.write_error < 0)
                return log_error_errno(k, "GET %s: failed to write blob '%s'%s: %m", disp, digest,
                                       k == -ENOSPC || k == -EDQUOT ? " (the disk is full)" : "");
        if (k < 0)
                return k;
        if (http_response_status(resp) != 200)
                return oci_fail("GET", url, resp, NULL);
        uint8_t raw[DIGEST_SIZE];
        char got[DIGEST_STRING_MAX];
        digest_final(d, raw);
        digest_to_string(raw, got);
        if (!streq(got, digest))
                return log_error_errno(-EBADMSG, "GET %s: blob failed verification: content has digest %s (%" PRIu64 " bytes)",
                                       disp, got, sink.got);
        return 0;
}

/* DELETE of blobs/DIGEST or manifests/DIGEST: 202 (or 200/204) done, 404 gone already. */
static int oci_delete(Oci *o, const char *kind, const char *digest) {
        _cleanup_free_ char *tail = xasprintf("%s/%s", kind, digest), *url = repo_url(o, tail);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "DELETE", .url = url }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        if (st == 202 || st == 200 || st == 204)
                return 0;
        if (st == 404)
                return -ENOENT;
        return oci_fail("DELETE", url, resp, st == 405 ? "enable deletes in the registry (storage: delete: enabled: true)" : NULL);
}

static int oci_blob_delete(void *userdata, const char *digest) {
        return oci_delete(userdata, "blobs", digest);
}

/* ---- manifests ---- */

static int oci_manifest_put(void *userdata, const char *reference, const char *media_type, const char *data,
                            size_t size, bool *ret_subject_ok) {
        Oci *o = userdata;
        _cleanup_free_ char *tail = xasprintf("manifests/%s", reference), *url = repo_url(o, tail);
        _cleanup_free_ char *ct = xasprintf("Content-Type: %s", media_type);
        const char *hdrs[] = { ct, NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o,
                         &(OciCall){ .method = "PUT", .url = url, .headers = hdrs, .body_kind = HTTP_BODY_MEMORY,
                                     .body = data, .body_size = size },
                         &resp);
        if (k < 0)
                return k;
        if (http_response_status(resp) != 201)
                return oci_fail("PUT", url, resp, NULL);
        *ret_subject_ok = http_response_header(resp, "OCI-Subject") != NULL;
        return 0;
}

static int oci_manifest_get(void *userdata, const char *reference, char **ret_data, size_t *ret_size,
                            char **ret_media_type) {
        Oci *o = userdata;
        _cleanup_free_ char *tail = xasprintf("manifests/%s", reference), *url = repo_url(o, tail);
        const char *hdrs[] = { MANIFEST_ACCEPT, NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "GET", .url = url, .headers = hdrs, .max_body = 4 << 20 }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        if (st == 404)
                return -ENOENT;
        if (st != 200)
                return oci_fail("GET", url, resp, NULL);
        size_t size;
        const char *body = http_response_body(resp, &size);
        const char *ct = http_response_header(resp, "Content-Type");
        *ret_data = xstrndup(body, size);
        *ret_size = size;
        *ret_media_type = ct ? xstrndup(ct, strcspn(ct, "; ")) : NULL;
        return 0;
}

static int oci_manifest_head(void *userdata, const char *reference, char **ret_digest) {
        Oci *o = userdata;
        _cleanup_free_ char *tail = xasprintf("manifests/%s", reference), *url = repo_url(o, tail);
        const char *hdrs[] = { MANIFEST_ACCEPT, NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "HEAD", .url = url, .headers = hdrs }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        if (st == 404)
                return -ENOENT;
        if (st != 200)
                return oci_fail("HEAD", url, resp, NULL);
        const char *d = http_response_header(resp, "Docker-Content-Digest");
        if (d && startswith(d, "sha256:")) {
                *ret_digest = xstrdup(d);
                return 0;
        }
        if (startswith(reference, "sha256:")) {
                *ret_digest = xstrdup(reference);
                return 0;
        }
        /* No digest header: fetch and hash (registry.c verifies and computes it). */
        return -EOPNOTSUPP;
}

static int oci_manifest_delete(void *userdata, const char *digest) {
        return oci_delete(userdata, "manifests", digest);
}

/* Extracts the target of 'Link: <URL>; rel="next"'. */
char *registry_oci_link_next(const char *link) {
        if (!link || !strstr(link, "rel=\"next\"") || link[0] != '<')
                return NULL;
        const char *end = strchr(link, '>');
        return end ? xstrndup(link + 1, end - link - 1) : NULL;
}

#define TAGS_MAX_PAGES 1000u
#define TAGS_MAX 100000u
#define TAGS_MAX_BYTES (64u << 20)

static int oci_tags_list(void *userdata, char ***ret_tags, size_t *ret_n) {
        Oci *o = userdata;
        const char *e = getenv("BAKER_REGISTRY_PAGE_SIZE");
        long page = e ? strtol(e, NULL, 10) : 0;
        if (page <= 0)
                page = 1000;
        _cleanup_free_ char *tail = xasprintf("tags/list?n=%ld", page);
        char *url = repo_url(o, tail);
        char **tags = NULL;
        size_t n = 0;
        int k = 0;

        uint64_t bytes = 0;
        for (unsigned pages = 0; url; pages++) {
                /* Bounded in requests, tags and bytes: a registry that pages forever gets an error,
                 * never a partial list (gc decides what to delete from it). */
                if (pages >= TAGS_MAX_PAGES || n > TAGS_MAX || bytes > TAGS_MAX_BYTES) {
                        _cleanup_free_ char *disp = http_url_display(url);
                        k = log_error_errno(-E2BIG, "GET %s: the registry lists more than %u pages, %u tags or %u MiB of tags; "
                                            "refusing to read more", disp, TAGS_MAX_PAGES, TAGS_MAX, TAGS_MAX_BYTES >> 20);
                        break;
                }
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                k = oci_call(o, &(OciCall){ .method = "GET", .url = url, .max_body = 16 << 20 }, &resp);
                if (k < 0)
                        break;
                long st = http_response_status(resp);
                if (st == 404 && pages == 0) /* repository not created yet */
                        break;
                if (st != 200) {
                        k = oci_fail("GET", url, resp, NULL);
                        break;
                }
                size_t size;
                const char *body = http_response_body(resp, &size);
                bytes += size;
                json_t *j = json_loadb(body, size, 0, NULL), *t;
                size_t i;
                json_array_foreach(json_object_get(j, "tags"), i, t)
                        if (json_string_value(t)) {
                                strv_push(&tags, &n, xstrdup(json_string_value(t)));
                        }
                json_decref(j);
                _cleanup_free_ char *next = registry_oci_link_next(http_response_header(resp, "Link"));
                free(url);
                url = next ? resolve_location(o, next) : NULL;
        }
        free(url);
        if (k < 0) {
                strv_free(tags);
                return k;
        }
        if (!tags)
                tags = xcalloc(1, sizeof(char *));
        strv_sort(tags, n);
        *ret_tags = tags;
        *ret_n = n;
        return 0;
}

static int oci_referrers(void *userdata, const char *digest, json_t **ret_index) {
        Oci *o = userdata;
        if (o->no_referrers_api)
                return -EOPNOTSUPP;
        _cleanup_free_ char *tail = xasprintf("referrers/%s", digest), *url = repo_url(o, tail);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "GET", .url = url, .max_body = 16 << 20 }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        size_t size;
        const char *body = http_response_body(resp, &size);
        json_t *j = st == 200 ? json_loadb(body, size, 0, NULL) : NULL;
        if (!json_is_array(json_object_get(j, "manifests"))) {
                /* 404 (or anything but an index): no referrers API; use the tag fallback. */
                json_decref(j);
                o->no_referrers_api = true;
                return -EOPNOTSUPP;
        }
        *ret_index = j;
        return 0;
}

static const RegistryBackend oci_backend = {
        .name = "oci",
        .blob_exists = oci_blob_exists,
        .blob_push = oci_blob_push,
        .blob_mount = oci_blob_mount,
        .blob_get = oci_blob_get,
        .blob_delete = oci_blob_delete,
        .manifest_put = oci_manifest_put,
        .manifest_get = oci_manifest_get,
        .manifest_head = oci_manifest_head,
        .manifest_delete = oci_manifest_delete,
        .tags_list = oci_tags_list,
        .referrers = oci_referrers,
        .free = oci_free,
};

int registry_oci_open(const RegistryRef *ref, Registry **ret) {
        Oci *o = xcalloc(1, sizeof(*o));
        o->host = xstrdup(ref->host);
        o->repository = xstrdup(ref->repository);
        o->origin = xasprintf("%s://%s", ref->plain_http ? "http" : "https", ref->host);
        *ret = registry_new(&oci_backend, o, ref);
        return 0;
}
