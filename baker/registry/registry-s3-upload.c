/* S3 uploads: one PUT for a small blob, a multipart upload with parallel parts for a large one,
 * resumed when an earlier run was interrupted, and abandoned uploads aborted. Every byte sent is
 * checked by the server twice: Content-MD5 and the signed x-amz-content-sha256 of its part. */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <time.h>

#include "base64.h"
#include "digest.h"
#include "log.h"
#include "registry-s3-internal.h"
#include "sparse.h"
#include "strv.h"
#include "time-util.h"

#define S3_MAX_PARTS 10000
#define S3_METADATA_BUDGET 1536 /* of the 2 KiB S3 allows for user metadata */

/* "x-amz-meta-baker-digest: sha256:…" and the image's facts, as far as they fit and are ASCII. */
static char **metadata_headers(const RegistryBlob *blob) {
        char **l = NULL;
        size_t n = 0, used = 0;
        strv_push(&l, &n, xasprintf("x-amz-meta-baker-digest: %s", blob->digest));
        for (size_t i = 0; blob->metadata && blob->metadata[i]; i++) {
                const char *m = blob->metadata[i], *eq = strchr(m, '=');
                if (!eq || eq == m)
                        continue;
                bool ok = true;
                for (const char *c = eq + 1; *c && ok; c++)
                        ok = *c >= 0x20 && *c < 0x7f;
                size_t len = strlen(m) + 16;
                if (!ok || used + len > S3_METADATA_BUDGET)
                        continue;
                used += len;
                _cleanup_free_ char *name = xstrndup(m, eq - m);
                for (char *c = name; *c; c++)
                        *c = isalnum((unsigned char) *c) ? (char) tolower((unsigned char) *c) : '-';
                strv_push(&l, &n, xasprintf("x-amz-meta-baker-%s: %s", name, eq + 1));
        }
        return l;
}

static void md5_base64(const void *data, size_t size, char **ret_b64, char ret_hex[33]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        EVP_Digest(data, size, md, &len, EVP_md5(), NULL);
        *ret_b64 = base64_encode(md, len);
        for (unsigned i = 0; i < len; i++)
                sprintf(ret_hex + 2 * i, "%02x", md[i]);
}

static void sha256_hex(const void *data, size_t size, char ret[DIGEST_HEX_SIZE + 1]) {
        uint8_t d[DIGEST_SIZE];
        digest_buffer(data, size, d);
        digest_to_hex(d, ret);
}

/* The blob's bytes [offset, offset + size) into buf. */
static int blob_read(const RegistryBlob *blob, int fd, uint64_t offset, size_t size, void *buf) {
        if (blob->data) {
                memcpy(buf, (const uint8_t *) blob->data + offset, size);
                return 0;
        }
        return pread_exact(fd, buf, size, offset);
}

static int put_single(S3 *s, const RegistryBlob *blob, int fd, const char *key, uint64_t *ret_sent) {
        _cleanup_free_ void *buf = xmalloc(blob->size ?: 1);
        int k = blob_read(blob, fd, 0, blob->size, buf);
        if (k < 0)
                return log_error_errno(k, "failed to read '%s': %m", blob->path ?: blob->label ?: "blob");
        _cleanup_free_ char *md5 = NULL;
        char md5hex[33];
        md5_base64(buf, blob->size, &md5, md5hex);
        _cleanup_strv_free_ char **headers = metadata_headers(blob);
        strv_push(&headers, NULL, xasprintf("Content-MD5: %s", md5));
        strv_push(&headers, NULL, xstrdup("Content-Type: application/octet-stream"));
        /* The blob's digest is the payload's SHA-256: the server checks the bytes against it. */
        S3Call call = { .method = "PUT", .key = key, .headers = (const char *const *) headers,
                        .body_kind = HTTP_BODY_MEMORY, .body = buf, .body_size = blob->size,
                        .payload_sha256 = blob->digest + strlen("sha256:") };
        k = s3_do(s, &call, NULL);
        if (k < 0)
                return k;
        *ret_sent = blob->size;
        return 0;
}

typedef struct Part {
        char etag[33]; /* the part's MD5 in hex: its ETag without the quotes */
        uint64_t size; /* of the part already on the server (resume), 0 if none */
} Part;

typedef struct Upload {
        S3 *s;
        const RegistryBlob *blob;
        int fd;
        const char *key;
        char *upload_id;
        Part *parts;  /* what the server has, indexed by part number - 1 */
        size_t n_parts;
        uint64_t part_size;

        pthread_mutex_t lock;
        size_t next;
        int error;
        uint64_t sent, skipped_parts, copied_parts;
        int zeros; /* the zero object: 0 unknown, 1 there, < 0 unusable (parts of zeros are sent) */
        char zero_md5hex[33]; /* the MD5 of part_size zero bytes, once known ("" before) */
        char *zero_md5;       /* the same in base64 */
} Upload;

/* The newest unfinished upload of key (others are aborted: abandoned by runs that died). */
static int find_upload(Upload *u, char **ret_id) {
        S3 *s = u->s;
        _cleanup_free_ char *full = xasprintf("%s%s", s->prefix, u->key), *fq = s3_uri_encode(full, false);
        _cleanup_free_ char *query = xasprintf("uploads&prefix=%s", fq);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "GET", .query = query, .max_body = 4 << 20 };
        int k = s3_do(s, &call, &resp);
        if (k < 0)
                return k;
        const char *body = http_response_body(resp, NULL), *pos = body;
        _cleanup_free_ char *best = NULL, *best_time = NULL;
        while ((pos = strstr(pos, "<Upload>"))) {
                _cleanup_free_ char *key = s3_xml_next(body, "Key", &pos), *id = s3_xml_next(body, "UploadId", &pos);
                _cleanup_free_ char *initiated = s3_xml_next(body, "Initiated", &pos);
                if (!key || !id || !streq(key, full))
                        continue;
                /* RFC 3339 times in UTC compare as strings. */
                bool newer = !best || strcmp(initiated ?: "", best_time ?: "") > 0;
                _cleanup_free_ char *loser = newer ? TAKE_PTR(best) : TAKE_PTR(id);
                if (newer) {
                        best = TAKE_PTR(id);
                        free(best_time);
                        best_time = TAKE_PTR(initiated);
                }
                if (loser) {
                        _cleanup_free_ char *lq = s3_uri_encode(loser, false), *aq = xasprintf("uploadId=%s", lq);
                        S3Call abort_call = { .method = "DELETE", .key = u->key, .query = aq };
                        if (s3_do(s, &abort_call, NULL) >= 0)
                                log_info("S3 '%s': aborted an abandoned upload of '%s'", s->display, u->key);
                }
        }
        *ret_id = TAKE_PTR(best);
        return 0;
}

/* Reads ListParts (all pages) into u->parts. Returns the number of parts there. */
static int list_parts(Upload *u) {
        _cleanup_free_ char *idq = s3_uri_encode(u->upload_id, false);
        _cleanup_free_ char *marker = NULL;
        int found = 0;
        do {
                _cleanup_free_ char *query = xasprintf("%s%s%suploadId=%s", marker ? "part-number-marker=" : "",
                                                       marker ?: "", marker ? "&" : "", idq);
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                S3Call call = { .method = "GET", .key = u->key, .query = query, .max_body = 8 << 20, .missing_ok = true };
                int k = s3_do(u->s, &call, &resp);
                if (k < 0)
                        return k;
                const char *body = http_response_body(resp, NULL), *pos = body;
                while ((pos = strstr(pos, "<Part>"))) {
                        _cleanup_free_ char *num = s3_xml_next(body, "PartNumber", &pos);
                        _cleanup_free_ char *etag = s3_xml_next(body, "ETag", &pos);
                        _cleanup_free_ char *size = s3_xml_next(body, "Size", &pos);
                        unsigned long i = num ? strtoul(num, NULL, 10) : 0;
                        const char *bare = etag ? etag + (etag[0] == '"') : NULL;
                        if (i < 1 || i > u->n_parts || !bare || !size || strcspn(bare, "\"") != 32)
                                continue;
                        snprintf(u->parts[i - 1].etag, sizeof(u->parts[0].etag), "%.32s", bare);
                        u->parts[i - 1].size = strtoull(size, NULL, 10);
                        found++;
                }
                _cleanup_free_ char *truncated = s3_xml_next(body, "IsTruncated", NULL);
                free(marker);
                marker = truncated && streq(truncated, "true") ? s3_xml_next(body, "NextPartNumberMarker", NULL) : NULL;
        } while (marker);
        return found;
}

static int create_upload(Upload *u) {
        _cleanup_strv_free_ char **headers = metadata_headers(u->blob);
        strv_push(&headers, NULL, xstrdup("Content-Type: application/octet-stream"));
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "POST", .key = u->key, .query = "uploads", .headers = (const char *const *) headers,
                        .flags = HTTP_RETRY_UNSAFE /* a second upload id is harmless: aborted later */ };
        int k = s3_do(u->s, &call, &resp);
        if (k < 0)
                return k;
        u->upload_id = s3_xml_next(http_response_body(resp, NULL), "UploadId", NULL);
        if (!u->upload_id)
                return log_error_errno(-EBADMSG, "S3 '%s': CreateMultipartUpload of '%s' gave no UploadId", u->s->display,
                                       u->key);
        return 0;
}

static bool all_zero(const uint8_t *p, size_t n) {
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static char *zero_key(const Upload *u) {
        return xasprintf("zeros/%" PRIu64, u->part_size);
}

/* The object parts of zeros are copied from: PREFIX/zeros/PART_SIZE, part_size zero bytes, sent
 * once per prefix and part size ever. 1 when it is there. */
static int zeros_ensure(Upload *u) {
        pthread_mutex_lock(&u->lock);
        if (u->zeros == 0) {
                _cleanup_free_ char *key = zero_key(u);
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                S3Call head = { .method = "HEAD", .key = key, .missing_ok = true };
                int k = s3_do(u->s, &head, &resp);
                const char *len = resp ? http_response_header(resp, "Content-Length") : NULL;
                if (k >= 0 && len && strtoull(len, NULL, 10) == u->part_size)
                        u->zeros = 1;
                else {
                        _cleanup_free_ void *z = xcalloc(1, u->part_size);
                        S3Call put = { .method = "PUT", .key = key, .body_kind = HTTP_BODY_MEMORY, .body = z,
                                       .body_size = u->part_size };
                        k = s3_do(u->s, &put, NULL);
                        u->zeros = k < 0 ? k : 1;
                        if (k >= 0)
                                u->sent += u->part_size;
                }
        }
        int r = u->zeros;
        pthread_mutex_unlock(&u->lock);
        return r;
}

/* A part of zeros is copied on the server from the zero object (UploadPartCopy with a range):
 * nothing crosses the network. 1 if done, 0 if the server would not (the part is sent instead). */
static int copy_zero_part(Upload *u, size_t i, uint64_t len, const char *md5hex) {
        if (zeros_ensure(u) <= 0)
                return 0;
        _cleanup_free_ char *zk = zero_key(u), *full = xasprintf("%s%s", u->s->prefix, zk);
        _cleanup_free_ char *enc = s3_uri_encode(full, true), *idq = s3_uri_encode(u->upload_id, false);
        _cleanup_free_ char *src = xasprintf("x-amz-copy-source: /%s/%s", u->s->bucket, enc);
        _cleanup_free_ char *range = xasprintf("x-amz-copy-source-range: bytes=0-%" PRIu64, len - 1);
        _cleanup_free_ char *query = xasprintf("partNumber=%zu&uploadId=%s", i + 1, idq);
        const char *headers[] = { src, range, NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "PUT", .key = u->key, .query = query, .headers = headers };
        int k = s3_call(u->s, &call, &resp);
        if (k < 0)
                return k;
        long status = http_response_status(resp);
        if (status == 501 || status == 400 || status == 403 || status == 404) {
                log_debug("S3 '%s': no server-side part copy (status %ld): parts of zeros are sent", u->s->display, status);
                pthread_mutex_lock(&u->lock);
                u->zeros = -EOPNOTSUPP;
                pthread_mutex_unlock(&u->lock);
                return 0;
        }
        k = s3_check(u->s, &call, resp);
        if (k < 0)
                return k;
        _cleanup_free_ char *etag = s3_xml_next(http_response_body(resp, NULL), "ETag", NULL);
        const char *bare = etag ? etag + (etag[0] == '"') : NULL;
        if (!bare || strncmp(bare, md5hex, 32) != 0)
                return log_error_errno(-EBADMSG, "S3 '%s': part %zu of '%s' copied with ETag %s, expected \"%s\"",
                                       u->s->display, i + 1, u->key, etag ?: "(none)", md5hex);
        return 1;
}

/* Whether the part [offset, offset + len) of the file is a hole: then it is zeros without reading it. */
static bool part_is_hole(const Upload *u, uint64_t offset, uint64_t len) {
        uint64_t data, data_end;
        return u->fd >= 0 && sparse_next_data(u->fd, offset, offset + len, &data, &data_end) >= 0 &&
               data == offset + len;
}

/* The MD5 of a part of zeros: computed once for the part size (a sparse image has many such parts). */
static void zero_md5(Upload *u, void *buf, uint64_t len, char **ret_b64, char ret_hex[33]) {
        if (len != u->part_size) {
                memset(buf, 0, len);
                md5_base64(buf, len, ret_b64, ret_hex);
                return;
        }
        pthread_mutex_lock(&u->lock);
        if (!u->zero_md5) {
                memset(buf, 0, len);
                md5_base64(buf, len, &u->zero_md5, u->zero_md5hex);
        }
        *ret_b64 = xstrdup(u->zero_md5);
        memcpy(ret_hex, u->zero_md5hex, 33);
        pthread_mutex_unlock(&u->lock);
}

/* One part: skipped if the server has it with this size and MD5, copied on the server if it is all
 * zeros (a hole of the file is not even read), else sent with both checksums. */
static int upload_part(Upload *u, size_t i, void *buf) {
        uint64_t offset = i * u->part_size, len = u->blob->size - offset;
        if (len > u->part_size)
                len = u->part_size;
        bool zero = part_is_hole(u, offset, len);
        if (!zero) {
                int r = blob_read(u->blob, u->fd, offset, len, buf);
                if (r < 0)
                        return log_error_errno(r, "failed to read '%s': %m", u->blob->path ?: "blob");
                zero = all_zero(buf, len);
        }
        _cleanup_free_ char *md5 = NULL;
        char md5hex[33], sha[DIGEST_HEX_SIZE + 1];
        if (zero)
                zero_md5(u, buf, len, &md5, md5hex);
        else
                md5_base64(buf, len, &md5, md5hex);
        int k;
        if (u->parts[i].size == len && streq(u->parts[i].etag, md5hex)) {
                pthread_mutex_lock(&u->lock);
                u->skipped_parts++;
                pthread_mutex_unlock(&u->lock);
                return 0;
        }
        k = zero ? copy_zero_part(u, i, len, md5hex) : 0;
        if (k < 0)
                return k;
        if (k > 0) {
                pthread_mutex_lock(&u->lock);
                memcpy(u->parts[i].etag, md5hex, sizeof(md5hex));
                u->parts[i].size = len;
                u->copied_parts++;
                pthread_mutex_unlock(&u->lock);
                return 0;
        }
        if (zero) /* no server-side copy: the zeros are sent (a hole was never read into buf) */
                memset(buf, 0, len);
        sha256_hex(buf, len, sha);
        _cleanup_free_ char *md5h = xasprintf("Content-MD5: %s", md5), *idq = s3_uri_encode(u->upload_id, false);
        _cleanup_free_ char *query = xasprintf("partNumber=%zu&uploadId=%s", i + 1, idq);
        const char *headers[] = { md5h, NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "PUT", .key = u->key, .query = query, .headers = headers,
                        .body_kind = HTTP_BODY_MEMORY, .body = buf, .body_size = len, .payload_sha256 = sha };
        k = s3_do(u->s, &call, &resp);
        if (k < 0)
                return k;
        const char *got = http_response_header(resp, "ETag");
        if (got && (strlen(got) < 32 || strncmp(got + (got[0] == '"'), md5hex, 32) != 0))
                return log_error_errno(-EBADMSG, "S3 '%s': part %zu of '%s' stored with ETag %s, expected \"%s\"",
                                       u->s->display, i + 1, u->key, got, md5hex);
        pthread_mutex_lock(&u->lock);
        memcpy(u->parts[i].etag, md5hex, sizeof(md5hex));
        u->parts[i].size = len;
        u->sent += len;
        pthread_mutex_unlock(&u->lock);
        return 0;
}

static void *worker(void *userdata) {
        Upload *u = userdata;
        _cleanup_free_ void *buf = xmalloc(u->part_size);
        for (;;) {
                pthread_mutex_lock(&u->lock);
                size_t i = u->next++;
                bool stop = u->error < 0 || i >= u->n_parts;
                pthread_mutex_unlock(&u->lock);
                if (stop)
                        break;
                int k = upload_part(u, i, buf);
                if (k < 0) {
                        pthread_mutex_lock(&u->lock);
                        if (u->error >= 0)
                                u->error = k;
                        pthread_mutex_unlock(&u->lock);
                }
        }
        return NULL;
}

static int run_workers(Upload *u) {
        unsigned n = u->s->parallel < u->n_parts ? u->s->parallel : (unsigned) u->n_parts;
        pthread_t threads[16];
        unsigned started = 0;
        for (; started < n; started++)
                if (pthread_create(&threads[started], NULL, worker, u) != 0)
                        break;
        if (started == 0)
                worker(u);
        for (unsigned i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
        return u->error;
}

static int complete_upload(Upload *u) {
        char *xml = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&xml, &size);
        fputs("<CompleteMultipartUpload>", f);
        for (size_t i = 0; i < u->n_parts; i++)
                fprintf(f, "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1, u->parts[i].etag);
        fputs("</CompleteMultipartUpload>", f);
        fclose(f);
        _cleanup_free_ char *body = xml, *idq = s3_uri_encode(u->upload_id, false);
        _cleanup_free_ char *query = xasprintf("uploadId=%s", idq);
        S3Call call = { .method = "POST", .key = u->key, .query = query, .body_kind = HTTP_BODY_MEMORY, .body = body,
                        .body_size = size, .flags = HTTP_RETRY_UNSAFE /* completing twice gives the same object */ };
        return s3_do(u->s, &call, NULL);
}

static int put_multipart(S3 *s, const RegistryBlob *blob, int fd, const char *key, uint64_t *ret_sent) {
        Upload u = { .s = s, .blob = blob, .fd = fd, .key = key, .lock = PTHREAD_MUTEX_INITIALIZER };
        u.part_size = s->part_size;
        if (u.part_size < (5ULL << 20))
                u.part_size = 5ULL << 20;
        while ((blob->size + u.part_size - 1) / u.part_size > S3_MAX_PARTS)
                u.part_size *= 2;
        u.n_parts = (blob->size + u.part_size - 1) / u.part_size;
        u.parts = xcalloc(u.n_parts, sizeof(Part));
        int k = find_upload(&u, &u.upload_id);
        if (k >= 0 && u.upload_id) {
                k = list_parts(&u);
                if (k == -ENOENT) { /* completed or aborted meanwhile */
                        u.upload_id = mfree(u.upload_id);
                        k = 0;
                } else if (k >= 0)
                        log_info("S3 '%s': resuming the upload of '%s': %d of %zu parts already there", s->display,
                                 blob->label ?: blob->digest, k, u.n_parts);
        }
        if (k >= 0 && !u.upload_id)
                k = create_upload(&u);
        if (k >= 0) {
                k = run_workers(&u);
                if (k < 0)
                        log_error("S3 '%s': the upload of '%s' stopped; its finished parts are kept and the next run "
                                  "resumes it", s->display, blob->label ?: blob->digest);
        }
        if (k >= 0)
                k = complete_upload(&u);
        if (k >= 0) {
                log_info("S3 '%s': '%s' uploaded in %zu parts of %" PRIu64 " bytes: %" PRIu64 " already there, %" PRIu64
                         " of zeros copied on the server", s->display, blob->label ?: key, u.n_parts, u.part_size,
                         u.skipped_parts, u.copied_parts);
                *ret_sent = u.sent;
        }
        free(u.upload_id);
        free(u.parts);
        free(u.zero_md5);
        return k;
}

int s3_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent) {
        S3 *s = userdata;
        _cleanup_free_ char *key = object_layout_blob_name(blob->digest);
        _cleanup_close_ int fd = -EBADF;
        if (!blob->data) {
                fd = open(blob->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(-errno, "failed to open '%s': %m", blob->path);
        }
        if (blob->size <= s->part_size)
                return put_single(s, blob, fd, key, ret_sent);
        return put_multipart(s, blob, fd, key, ret_sent);
}

int s3_abort_stale_uploads(S3 *s, unsigned min_age_s, uint64_t *ret_n) {
        _cleanup_free_ char *pq = s3_uri_encode(s->prefix, false), *query = xasprintf("uploads&prefix=%s", pq);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        S3Call call = { .method = "GET", .query = query, .max_body = 8 << 20 };
        int k = s3_do(s, &call, &resp);
        if (k < 0)
                return k;
        const char *body = http_response_body(resp, NULL), *pos = body;
        int64_t now = (int64_t) time(NULL);
        uint64_t n = 0;
        while ((pos = strstr(pos, "<Upload>"))) {
                _cleanup_free_ char *key = s3_xml_next(body, "Key", &pos), *id = s3_xml_next(body, "UploadId", &pos);
                _cleanup_free_ char *initiated = s3_xml_next(body, "Initiated", &pos);
                int64_t t = 0;
                /* min_age_s 0 means any age: Swift rounds Initiated up, so an upload made this second
                 * can look a second younger than "now". */
                if (!key || !id || !initiated || rfc3339_parse(initiated, &t) < 0 ||
                    (min_age_s > 0 && now - t < (int64_t) min_age_s) || !startswith(key, s->prefix))
                        continue;
                _cleanup_free_ char *idq = s3_uri_encode(id, false), *aq = xasprintf("uploadId=%s", idq);
                S3Call abort_call = { .method = "DELETE", .key = key + strlen(s->prefix), .query = aq };
                if (s3_do(s, &abort_call, NULL) >= 0)
                        n++;
        }
        *ret_n = n;
        return 0;
}
