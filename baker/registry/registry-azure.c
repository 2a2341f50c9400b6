/* The Azure Blob Storage backend; see registry-azure.h. */
#include "registry-azure.h"

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>

#include "azure-auth.h"
#include "base64.h"
#include "digest.h"
#include "http.h"
#include "log.h"
#include "object-layout.h"
#include "sparse.h"
#include "strv.h"
#include "time-util.h"

#define AZURE_API_VERSION "2021-08-06"
#define AZURE_PAGE_WRITE (UINT64_C(4) << 20) /* the largest Put Page */
#define AZURE_PAGE_MIN (UINT64_C(4) << 20)   /* smaller blobs are block blobs */

typedef struct Azure {
        ObjectStore store; /* first: the registry's userdata is the Azure and its ObjectStore */
        char *endpoint;  /* "https://acct.blob.core.windows.net" or "http://127.0.0.1:10000/acct" */
        char *base_path; /* "" or "/acct": what precedes /CONTAINER in the path */
        char *container;
        char *prefix;    /* "" or "images/web/" */
        char *display;
        AzureCredentials *creds;
} Azure;

typedef struct AzureCall {
        const char *method;
        const char *name;  /* blob name without the prefix; NULL: the container */
        const char *query; /* without '?' */
        const char *const *headers;
        HttpBodyKind body_kind;
        const void *body;
        size_t body_size;
        int body_fd;
        uint64_t body_offset, body_length;
        HttpSink sink;
        void *userdata;
        size_t max_body;
        unsigned flags;
        bool missing_ok;
} AzureCall;

static void azure_free(void *userdata) {
        Azure *a = userdata;
        free(a->endpoint);
        free(a->base_path);
        free(a->container);
        free(a->prefix);
        free(a->display);
        azure_credentials_free(a->creds);
        free(a);
}

static char *url_path(Azure *a, const char *name) {
        if (!name)
                return xasprintf("%s/%s", a->base_path, a->container);
        return xasprintf("%s/%s/%s%s", a->base_path, a->container, a->prefix, name);
}

static int azure_call(Azure *a, const AzureCall *c, HttpResponse **ret) {
        _cleanup_free_ char *path = url_path(a, c->name);
        char date[64];
        time_t now = time(NULL);
        struct tm tm;
        strftime(date, sizeof date, "x-ms-date: %a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
        _cleanup_strv_free_ char **headers = NULL;
        size_t n = 0;
        strv_push(&headers, &n, xstrdup(date));
        strv_push(&headers, &n, xstrdup("x-ms-version: " AZURE_API_VERSION));
        for (size_t i = 0; c->headers && c->headers[i]; i++)
                strv_push(&headers, &n, xstrdup(c->headers[i]));
        uint64_t length = c->body_kind == HTTP_BODY_MEMORY ? c->body_size : c->body_kind == HTTP_BODY_FD ? c->body_length : 0;
        if (c->body_kind == HTTP_BODY_NONE && (streq(c->method, "PUT") || streq(c->method, "POST")))
                strv_push(&headers, &n, xstrdup("Content-Length: 0"));
        bool typed = false;
        for (size_t i = 0; i < n; i++)
                typed = typed || startswith(headers[i], "Content-Type:");
        if (!typed)
                strv_push(&headers, &n, xstrdup("Content-Type:")); /* no curl default to sign around */
        _cleanup_free_ char *query = NULL;
        if (a->creds->key) {
                AzureSignRequest sr = { .method = c->method, .path = path, .query = c->query,
                                        .headers = (const char *const *) headers, .content_length = length };
                strv_push(&headers, &n, azure_sign(&sr, a->creds));
                query = c->query ? xstrdup(c->query) : NULL;
        } else
                query = xasprintf("%s%s%s", c->query ?: "", c->query ? "&" : "", a->creds->sas);
        _cleanup_free_ char *url = xasprintf("%s%s%s%s", a->endpoint, path + strlen(a->base_path), query ? "?" : "",
                                             query ?: "");
        HttpRequest req = { .method = c->method, .url = url, .headers = (const char *const *) headers,
                            .body_kind = c->body_kind, .body = c->body, .body_size = c->body_size, .body_fd = c->body_fd,
                            .body_offset = c->body_offset, .body_length = c->body_length, .sink = c->sink,
                            .userdata = c->userdata, .max_body = c->max_body, .flags = c->flags,
                            .progress_label = c->name };
        return http_request(&req, ret);
}

static char *xml_text(const char *xml, const char *name, const char **pos) {
        _cleanup_free_ char *open_tag = xasprintf("<%s>", name), *close_tag = xasprintf("</%s>", name);
        const char *b = strstr(pos && *pos ? *pos : xml, open_tag);
        if (!b)
                return NULL;
        b += strlen(open_tag);
        const char *e = strstr(b, close_tag);
        if (!e)
                return NULL;
        if (pos)
                *pos = e + strlen(close_tag);
        return xstrndup(b, e - b);
}

static int status_errno(long status) {
        return status == 404 ? -ENOENT : status == 401 || status == 403 ? -EACCES : status == 429 || status == 503 ? -EAGAIN
               : status == 413 || status == 507                         ? -EDQUOT
                                                                        : -EIO;
}

/* What to do about a refusal, for the end of the message. */
static const char *error_hint(const Azure *a, const char *code, int k) {
        bool sas = !a->creds->key;
        if (code && (streq(code, "AuthenticationFailed") || (sas && streq(code, "AuthorizationFailure"))))
                return sas ? " (check the SAS token: its signature, start and expiry)" : " (check the account key)";
        if (code && streq(code, "AuthorizationPermissionMismatch"))
                return " (the SAS token does not permit this request: baker needs r, a, c, w, d and l)";
        if (code && streq(code, "ContainerNotFound"))
                return " (create the container first: baker does not)";
        if (k == -EDQUOT)
                return " (the storage account is full or over its quota: free space or raise it, then run again: "
                       "the pages written are kept and the upload resumes)";
        return "";
}

/* 2xx: 0; otherwise logs backend, account, where the credentials came from, request and the
 * server's code and message (never the key or the SAS). */
static int azure_check(Azure *a, const AzureCall *c, const HttpResponse *resp) {
        long status = http_response_status(resp);
        if (status / 100 == 2)
                return 0;
        int k = status_errno(status);
        if (c->missing_ok && k == -ENOENT)
                return k;
        const char *body = http_response_body(resp, NULL);
        _cleanup_free_ char *code = body ? xml_text(body, "Code", NULL) : NULL;
        _cleanup_free_ char *message = body ? xml_text(body, "Message", NULL) : NULL;
        if (!message && !code && body && *body && !strchr(body, '<')) /* a plain-text answer (a proxy's) */
                message = xstrndup(body, MIN(strlen(body), (size_t) 200));
        if (message)
                message[strcspn(message, "\r\n")] = 0;
        _cleanup_free_ char *path = url_path(a, c->name);
        const char *hint = error_hint(a, code, k);
        return log_error_errno(k, "azure-blob '%s' (account '%s', credentials from %s): %s %s%s: status %ld %s%s%s%s%s%s",
                               a->display, a->creds->account, a->creds->source, c->method, a->endpoint,
                               path + strlen(a->base_path), status, http_response_reason(resp), code ? ": " : "",
                               code ?: "", message ? ": " : "", message ?: "", hint);
}

static int azure_do(Azure *a, const AzureCall *c, HttpResponse **ret) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = azure_call(a, c, &resp);
        if (k < 0)
                return k;
        k = azure_check(a, c, resp);
        if (k < 0)
                return k;
        if (ret)
                *ret = TAKE_PTR(resp);
        return 0;
}

static int azure_blob_exists(void *userdata, const char *digest, uint64_t *ret_size) {
        Azure *a = userdata;
        _cleanup_free_ char *name = object_layout_blob_name(digest);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        AzureCall c = { .method = "HEAD", .name = name, .missing_ok = true };
        int k = azure_do(a, &c, &resp);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        /* A page blob is there from its first byte: present means complete, as its metadata says. */
        const char *meta = http_response_header(resp, "x-ms-meta-bakerdigest");
        if (!meta || !streq(meta, digest))
                return 0;
        const char *len = http_response_header(resp, "Content-Length");
        if (ret_size)
                *ret_size = len ? strtoull(len, NULL, 10) : 0;
        return 1;
}

/* "x-ms-meta-baker_NAME: value" for the image's facts ("name=value"; metadata names are C
 * identifiers) and bakerdigest (when digest is set). */
static void push_metadata(char ***headers, size_t *n, char *const *facts, const char *digest) {
        for (size_t i = 0; facts && facts[i]; i++) {
                const char *eq = strchr(facts[i], '=');
                if (!eq)
                        continue;
                char *h = xasprintf("x-ms-meta-baker_%.*s: %s", (int) (eq - facts[i]), facts[i], eq + 1);
                for (char *c = h + strlen("x-ms-meta-baker_"); *c != ':'; c++)
                        if (*c == '-')
                                *c = '_';
                strv_push(headers, n, h);
        }
        if (digest)
                strv_push(headers, n, xasprintf("x-ms-meta-bakerdigest: %s", digest));
}

static int put_block_blob(Azure *a, const char *name, const RegistryBlob *blob, const char *content_type) {
        _cleanup_close_ int fd = -1;
        if (blob->path && (fd = open(blob->path, O_RDONLY | O_CLOEXEC)) < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", blob->path);
        _cleanup_strv_free_ char **headers = NULL;
        size_t n = 0;
        strv_push(&headers, &n, xstrdup("x-ms-blob-type: BlockBlob"));
        strv_push(&headers, &n, xasprintf("Content-Type: %s", content_type));
        push_metadata(&headers, &n, blob->metadata, blob->digest);
        AzureCall c = { .method = "PUT", .name = name, .headers = (const char *const *) headers };
        if (fd >= 0)
                c.body_kind = HTTP_BODY_FD, c.body_fd = fd, c.body_length = blob->size;
        else
                c.body_kind = HTTP_BODY_MEMORY, c.body = blob->data, c.body_size = blob->size;
        return azure_do(a, &c, NULL);
}

/* The ranges a page blob already holds (Get Page Ranges): [start, end] inclusive pairs. */
typedef struct PageRanges {
        uint64_t *start, *end;
        size_t n;
} PageRanges;

static void page_ranges_done(PageRanges *p) {
        free(p->start);
        free(p->end);
        *p = (PageRanges) {};
}

static int get_page_ranges(Azure *a, const char *name, PageRanges *ret) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        AzureCall c = { .method = "GET", .name = name, .query = "comp=pagelist", .max_body = 64 << 20 };
        int k = azure_do(a, &c, &resp);
        if (k < 0)
                return k;
        const char *body = http_response_body(resp, NULL), *pos = body;
        PageRanges p = {};
        for (;;) {
                _cleanup_free_ char *st = xml_text(body, "Start", &pos), *en = st ? xml_text(body, "End", &pos) : NULL;
                if (!st || !en)
                        break;
                p.start = xrealloc(p.start, (p.n + 1) * sizeof(uint64_t));
                p.end = xrealloc(p.end, (p.n + 1) * sizeof(uint64_t));
                p.start[p.n] = strtoull(st, NULL, 10);
                p.end[p.n++] = strtoull(en, NULL, 10);
        }
        *ret = p;
        return 0;
}

static bool page_ranges_cover(const PageRanges *p, uint64_t offset, uint64_t length) {
        for (size_t i = 0; i < p->n; i++)
                if (p->start[i] <= offset && p->end[i] >= offset + length - 1)
                        return true;
        return false;
}

typedef struct PageUpload {
        Azure *a;
        const char *name;
        int fd;
        const PageRanges *have;
        uint8_t *buf;
        uint64_t sent, skipped;
} PageUpload;

static int put_page(PageUpload *u, uint64_t offset, uint64_t length) {
        int k = pread_exact(u->fd, u->buf, (size_t) length, offset);
        if (k < 0)
                return log_error_errno(k, "cannot read the image at %" PRIu64 ": %m", offset);
        uint8_t md5[EVP_MAX_MD_SIZE];
        unsigned md5_len = 0;
        EVP_Digest(u->buf, (size_t) length, md5, &md5_len, EVP_md5(), NULL);
        _cleanup_free_ char *md5_64 = base64_encode(md5, md5_len);
        _cleanup_free_ char *range = xasprintf("x-ms-range: bytes=%" PRIu64 "-%" PRIu64, offset, offset + length - 1);
        _cleanup_free_ char *md5_h = xasprintf("Content-MD5: %s", md5_64);
        const char *headers[] = { "x-ms-page-write: update", range, md5_h, NULL };
        AzureCall c = { .method = "PUT", .name = u->name, .query = "comp=page", .headers = headers,
                        .body_kind = HTTP_BODY_MEMORY, .body = u->buf, .body_size = (size_t) length };
        k = azure_do(u->a, &c, NULL);
        if (k >= 0)
                u->sent += length;
        return k;
}

/* Each run of non-zero 4 KiB blocks, in writes of at most 4 MiB; zeros are never sent (a page blob
 * reads zeros where nothing was written), nor ranges an earlier, interrupted upload wrote. */
static int page_run(uint64_t offset, uint64_t length, bool data, void *userdata) {
        PageUpload *u = userdata;
        if (!data) {
                u->skipped += length;
                return 0;
        }
        for (uint64_t pos = offset, end = offset + length; pos < end;) {
                uint64_t n = MIN(AZURE_PAGE_WRITE - pos % AZURE_PAGE_WRITE, end - pos);
                if (page_ranges_cover(u->have, pos, n))
                        u->skipped += n;
                else {
                        int k = put_page(u, pos, n);
                        if (k < 0)
                                return k;
                }
                pos += n;
        }
        return 0;
}

/* A page blob of blob->size bytes to write into: the one an interrupted upload of the same digest
 * left (resumed: its written ranges in *ret_have), else a new, empty one. */
static int page_blob_begin(Azure *a, const char *name, const RegistryBlob *blob, PageRanges *ret_have) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        AzureCall head = { .method = "HEAD", .name = name, .missing_ok = true };
        int k = azure_do(a, &head, &resp);
        if (k < 0 && k != -ENOENT)
                return k;
        const char *pending = resp ? http_response_header(resp, "x-ms-meta-bakerpending") : NULL;
        const char *type = resp ? http_response_header(resp, "x-ms-blob-type") : NULL;
        const char *len = resp ? http_response_header(resp, "Content-Length") : NULL;
        if (pending && streq(pending, blob->digest) && type && streq(type, "PageBlob") && len &&
            strtoull(len, NULL, 10) == blob->size) {
                k = get_page_ranges(a, name, ret_have);
                if (k >= 0)
                        log_notice("azure-blob '%s': resuming the upload of '%s' (%zu range(s) there)", a->display, name,
                                 ret_have->n);
                return k;
        }
        _cleanup_free_ char *length = xasprintf("x-ms-blob-content-length: %" PRIu64, blob->size);
        _cleanup_free_ char *pend = xasprintf("x-ms-meta-bakerpending: %s", blob->digest);
        const char *headers[] = { "x-ms-blob-type: PageBlob", length, pend, NULL };
        AzureCall c = { .method = "PUT", .name = name, .headers = headers };
        *ret_have = (PageRanges) {};
        return azure_do(a, &c, NULL);
}

static int put_page_blob(Azure *a, const char *name, const RegistryBlob *blob, uint64_t *ret_sent) {
        _cleanup_close_ int fd = open(blob->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open '%s': %m", blob->path);
        _cleanup_(page_ranges_done) PageRanges have = {};
        int k = page_blob_begin(a, name, blob, &have);
        if (k < 0)
                return k;
        _cleanup_free_ uint8_t *buf = xmalloc(AZURE_PAGE_WRITE);
        PageUpload u = { .a = a, .name = name, .fd = fd, .have = &have, .buf = buf };
        k = sparse_runs(fd, blob->size, 4096, page_run, &u);
        if (k < 0)
                return k;
        /* Complete: the digest last, replacing bakerpending (Set Blob Metadata sets all of it). */
        _cleanup_strv_free_ char **headers = NULL;
        size_t n = 0;
        push_metadata(&headers, &n, blob->metadata, blob->digest);
        AzureCall c = { .method = "PUT", .name = name, .query = "comp=metadata", .headers = (const char *const *) headers };
        k = azure_do(a, &c, NULL);
        if (k < 0)
                return k;
        log_info("azure-blob '%s': page blob '%s': %" PRIu64 " bytes sent, %" PRIu64 " skipped (zeros or there already)",
                 a->display, name, u.sent, u.skipped);
        *ret_sent = u.sent;
        return 0;
}

static int azure_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent) {
        Azure *a = userdata;
        _cleanup_free_ char *name = object_layout_blob_name(blob->digest);
        if (blob->path && blob->size % 512 == 0 && blob->size >= AZURE_PAGE_MIN)
                return put_page_blob(a, name, blob, ret_sent);
        int k = put_block_blob(a, name, blob, "application/octet-stream");
        if (k >= 0)
                *ret_sent = blob->size;
        return k;
}

/* The object layout's operations (object-layout.h). */
static int azure_object_put(ObjectStore *o, const char *name, const char *content_type, const void *data, size_t size) {
        RegistryBlob b = { .size = size, .data = data };
        return put_block_blob((Azure *) o, name, &b, content_type);
}

static int azure_object_get(ObjectStore *o, const char *name, const ObjectRead *r, char **ret_data, size_t *ret_size,
                            char **ret_content_type) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        AzureCall c = { .method = r->head_only ? "HEAD" : "GET", .name = name, .sink = r->sink, .userdata = r->userdata,
                        .max_body = r->max_size, .flags = r->progress ? HTTP_PROGRESS : 0, .missing_ok = true };
        int k = azure_do((Azure *) o, &c, &resp);
        if (k < 0)
                return k;
        object_read_answer(resp, ret_data, ret_size, ret_content_type);
        return 0;
}

/* One <Blob> of a List Blobs answer: its name (if under full), Last-Modified and Content-Length. */
static void listing_add(ObjectListing *l, const char *blob, const char *full) {
        _cleanup_free_ char *name = xml_text(blob, "Name", NULL), *lm = xml_text(blob, "Last-Modified", NULL);
        _cleanup_free_ char *len = xml_text(blob, "Content-Length", NULL);
        int64_t t = 0;
        if (!name || !startswith(name, full))
                return;
        if (lm)
                (void) http_date_parse(lm, &t);
        object_listing_add(l, name + strlen(full), t, len ? strtoull(len, NULL, 10) : 0);
}

/* Every blob under PREFIX+sub (List Blobs, following NextMarker). */
static int azure_object_list(ObjectStore *o, const char *sub, ObjectListing *ret) {
        Azure *a = (Azure *) o;
        _cleanup_free_ char *full = xasprintf("%s%s", a->prefix, sub), *marker = NULL;
        _cleanup_(object_listing_done) ObjectListing l = {};
        do {
                _cleanup_free_ char *query = xasprintf("restype=container&comp=list&prefix=%s%s%s", full,
                                                       marker ? "&marker=" : "", marker ?: "");
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                AzureCall c = { .method = "GET", .query = query, .max_body = 16 << 20 };
                int k = azure_do(a, &c, &resp);
                if (k < 0)
                        return k;
                const char *body = http_response_body(resp, NULL), *pos = body;
                char *blob;
                while ((blob = xml_text(body, "Blob", &pos))) {
                        listing_add(&l, blob, full);
                        free(blob);
                }
                free(marker);
                marker = xml_text(body, "NextMarker", NULL);
                if (marker && !*marker)
                        marker = mfree(marker);
        } while (marker);
        *ret = l;
        l = (ObjectListing) {};
        return 0;
}

static int azure_object_delete(ObjectStore *o, const char *name) {
        AzureCall c = { .method = "DELETE", .name = name, .missing_ok = true };
        int k = azure_do((Azure *) o, &c, NULL);
        return k == -ENOENT ? 0 : k;
}

static const ObjectStoreOps azure_object_ops = {
        .put = azure_object_put,
        .get = azure_object_get,
        .list = azure_object_list,
        .delete = azure_object_delete,
};

static const RegistryBackend azure_backend = {
        .name = "azure-blob",
        .blob_exists = azure_blob_exists,
        .blob_push = azure_blob_push,
        .blob_get = object_layout_blob_get,
        .blob_delete = object_layout_blob_delete,
        .manifest_put = object_layout_manifest_put,
        .manifest_get = object_layout_manifest_get,
        .manifest_head = object_layout_manifest_head,
        .manifest_delete = object_layout_manifest_delete,
        .tags_list = object_layout_tags_list,
        .sweep = object_layout_sweep, /* also the page blobs interrupted uploads left */
        .free = azure_free,
};

int registry_azure_open(const RegistryRef *ref, Registry **ret) {
        /* repository: "ACCOUNT/CONTAINER[/PREFIX]" */
        size_t alen = strcspn(ref->repository, "/");
        _cleanup_free_ char *account = xstrndup(ref->repository, alen);
        const char *rest = ref->repository + alen + (ref->repository[alen] ? 1 : 0);
        size_t clen = strcspn(rest, "/");
        if (alen == 0 || clen == 0)
                return log_error_errno(-EINVAL, "azure-blob: '%s' names no account and container", ref->repository);
        _cleanup_(azure_credentials_freep) AzureCredentials *creds = NULL;
        int k = azure_credentials_load(account, &creds);
        if (k < 0)
                return k;
        Azure *a = xcalloc(1, sizeof(*a));
        a->container = xstrndup(rest, clen);
        a->prefix = rest[clen] ? xasprintf("%s/", rest + clen + 1) : xstrdup("");
        if (ref->host) { /* the account in the path (Azurite) */
                a->endpoint = xasprintf("%s://%s/%s", ref->plain_http ? "http" : "https", ref->host, account);
                a->base_path = xasprintf("/%s", account);
        } else {
                a->endpoint = xasprintf("https://%s.blob.core.windows.net", account);
                a->base_path = xstrdup("");
        }
        a->display = registry_ref_repository_string(ref);
        a->store = (ObjectStore) { .ops = &azure_object_ops, .kind = "azure-blob", .display = a->display };
        a->creds = TAKE_PTR(creds);
        if (ref->plain_http && !http_url_credentials_ok(a->endpoint)) {
                azure_free(a);
                return log_error_errno(-EPERM, "azure-blob '%s': refusing to send credentials over plain http to a host "
                                       "that is not loopback", ref->host);
        }
        /* One cheap signed request up front: a wrong key or a missing container is reported before
         * anything is uploaded, in the server's words. */
        _cleanup_free_ char *query = xasprintf("restype=container&comp=list&maxresults=1&prefix=%s", a->prefix);
        AzureCall probe = { .method = "GET", .query = query };
        k = azure_do(a, &probe, NULL);
        if (k < 0) {
                azure_free(a);
                /* a missing container is the target's fault, not a missing input's */
                return k == -ENOENT ? -ENXIO : k;
        }
        *ret = registry_new(&azure_backend, a, ref);
        return 0;
}
