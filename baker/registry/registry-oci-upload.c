/* The OCI backend's uploads: sessions, monolithic and chunked PUT/PATCH, resuming, cross-repository
 * mounts. */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "time-util.h"
#include "registry-oci-internal.h"

#define DEFAULT_CHUNK_SIZE (256ULL << 20) /* fewer, larger requests: chunking cost ~25% of throughput at 64 MiB */

static uint64_t chunk_size(void) {
        const char *e = getenv("BAKER_REGISTRY_CHUNK_SIZE");
        uint64_t v = e ? strtoull(e, NULL, 10) : 0;
        return v >= 4096 ? v : DEFAULT_CHUNK_SIZE;
}

/* POST …/blobs/uploads/ → the session URL. */
static int upload_open(Oci *o, char **ret_location) {
        _cleanup_free_ char *url = repo_url(o, "blobs/uploads/");
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "POST", .url = url, .flags = HTTP_RETRY_UNSAFE }, &resp);
        if (k < 0)
                return k;
        const char *loc = http_response_header(resp, "Location");
        if (http_response_status(resp) != 202 || !loc)
                return oci_fail("POST", url, resp, NULL);
        *ret_location = resolve_location(o, loc);
        return 0;
}

/* Asks a session how much arrived: 1 + next offset, 0 if the session is gone (start over). */
static int upload_status(Oci *o, const char *location, uint64_t *ret_next, char **ret_location) {
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "GET", .url = location, .flags = HTTP_QUIET }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        if (st == 404 || st == 400) /* unknown or invalid (e.g. the registry's secret changed) */
                return 0;
        if (st != 204 && st != 202)
                return oci_fail("GET", location, resp, NULL);
        const char *range = http_response_header(resp, "Range");
        uint64_t next = 0;
        if (range) {
                const char *dash = strchr(range, '-');
                next = dash ? strtoull(dash + 1, NULL, 10) + 1 : 0;
        }
        const char *loc = http_response_header(resp, "Location");
        if (loc) {
                free(*ret_location);
                *ret_location = resolve_location(o, loc);
        }
        (void) ret_location;
        *ret_next = next;
        return 1;
}

/* Monolithic: one PUT carries the whole blob. Replayable, so http retries it. */
static int upload_monolithic(Oci *o, const RegistryBlob *blob, int fd, const char *location, const char *query) {
        _cleanup_free_ char *url = url_with_query(location, query);
        const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        OciCall call = { .method = "PUT", .url = url, .headers = hdrs, .flags = HTTP_PROGRESS };
        if (fd >= 0) {
                call.body_kind = HTTP_BODY_FD;
                call.body_fd = fd;
                call.body_length = blob->size;
        } else {
                call.body_kind = HTTP_BODY_MEMORY;
                call.body = blob->data;
                call.body_size = blob->size;
        }
        int k = oci_call(o, &call, &resp);
        if (k < 0)
                return k;
        if (http_response_status(resp) != 201)
                return oci_fail("PUT", url, resp, NULL);
        return 0;
}

/* One PATCH of [offset, offset+len). 1 when the registry took it, 0 when the upload should ask the
 * session where it stands (broken connection, 5xx, a range it disagrees with; *ret_k holds the
 * transport error), < 0 on a definite refusal. */
static int upload_chunk(Oci *o, int fd, char **location, uint64_t offset, uint64_t len, int *ret_k) {
        _cleanup_free_ char *range = xasprintf("Content-Range: %" PRIu64 "-%" PRIu64, offset, offset + len - 1);
        const char *hdrs[] = { "Content-Type: application/octet-stream", range, NULL };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o,
                         &(OciCall){ .method = "PATCH", .url = *location, .headers = hdrs, .body_kind = HTTP_BODY_FD,
                                     .body_fd = fd, .body_offset = offset, .body_length = len,
                                     .flags = HTTP_NO_RETRY | HTTP_QUIET | HTTP_PROGRESS },
                         &resp);
        *ret_k = k;
        if (k < 0)
                return 0;
        long st = http_response_status(resp);
        if (st == 202) {
                const char *loc = http_response_header(resp, "Location");
                if (loc) {
                        free(*location);
                        *location = resolve_location(o, loc);
                }
                return 1;
        }
        if (st != 416 && st < 500)
                return oci_fail("PATCH", *location, resp, NULL);
        return 0;
}

/* After an interrupted chunk: ask the session what it has (waiting out a registry restart until
 * give_up) and set *offset to go on from there, or open a new session from 0 if it is gone. */
static int upload_resume(Oci *o, const RegistryBlob *blob, char **location, uint64_t *offset, uint64_t give_up) {
        const char *label = blob->label ?: blob->digest;
        int k = 0;
        for (unsigned failures = 0;; failures++) {
                uint64_t next = 0;
                usleep((useconds_t) MIN(200000u << MIN(failures, 4u), 2000000u));
                k = upload_status(o, *location, &next, location);
                if (k > 0) {
                        log_info("registry has %" PRIu64 " bytes of '%s'; continuing", next, label);
                        *offset = next;
                        return 0;
                }
                if (k == 0) {
                        log_info("upload session of '%s' is gone; starting a new one", label);
                        free(*location);
                        *location = NULL;
                        k = upload_open(o, location);
                        if (k >= 0) {
                                *offset = 0;
                                return 0;
                        }
                }
                if (now_usec() > give_up)
                        return log_error_errno(k < 0 ? k : -EIO, "upload of '%s' to '%s' failed: %s", label, o->host,
                                               http_last_error());
        }
}

/* Chunked and resumable; only files are this large. Returns the bytes sent, resends included. */
static int upload_chunked(Oci *o, const RegistryBlob *blob, int fd, char **location, uint64_t *ret_sent) {
        uint64_t offset = 0, sent = 0, chunk = chunk_size();
        uint64_t give_up = 0; /* now_usec() */
        while (offset < blob->size) {
                uint64_t len = MIN(chunk, blob->size - offset);
                int k;
                int r = upload_chunk(o, fd, location, offset, len, &k);
                if (r < 0)
                        return r;
                if (r > 0) {
                        offset += len;
                        sent += len;
                        give_up = 0;
                        continue;
                }
                if (give_up == 0)
                        give_up = now_usec() + 60 * USEC_PER_SEC;
                log_warning("upload of '%s' interrupted at %" PRIu64 " of %" PRIu64 " bytes%s%s; resuming",
                            blob->label ?: blob->digest, offset, blob->size, k < 0 ? ": " : "",
                            k < 0 ? http_last_error() : "");
                r = upload_resume(o, blob, location, &offset, give_up);
                if (r < 0)
                        return r;
        }
        *ret_sent = sent;
        return 0;
}

int oci_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent) {
        Oci *o = userdata;
        _cleanup_close_ int fd = -1;
        if (blob->path) {
                fd = open(blob->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(-errno, "failed to open '%s': %m", blob->path);
        }
        _cleanup_free_ char *location = NULL;
        int k = upload_open(o, &location);
        if (k < 0)
                return k;
        _cleanup_free_ char *escaped = url_escape(blob->digest), *q = xasprintf("digest=%s", escaped);
        if (blob->size <= chunk_size()) {
                k = upload_monolithic(o, blob, fd, location, q);
                if (k >= 0)
                        *ret_sent = blob->size;
                return k;
        }
        if (fd < 0)
                return -EINVAL;
        uint64_t sent = 0;
        k = upload_chunked(o, blob, fd, &location, &sent);
        if (k < 0)
                return k;
        _cleanup_free_ char *url = url_with_query(location, q);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        k = oci_call(o, &(OciCall){ .method = "PUT", .url = url }, &resp);
        if (k < 0)
                return k;
        if (http_response_status(resp) != 201)
                return oci_fail("PUT", url, resp, NULL);
        *ret_sent = sent;
        return 0;
}

int oci_blob_mount(void *userdata, const char *digest, const char *from) {
        Oci *o = userdata;
        _cleanup_free_ char *ed = url_escape(digest), *ef = url_escape(from);
        _cleanup_free_ char *tail = xasprintf("blobs/uploads/?mount=%s&from=%s", ed, ef), *url = repo_url(o, tail);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o, &(OciCall){ .method = "POST", .url = url, .mount_from = from, .flags = HTTP_RETRY_UNSAFE }, &resp);
        if (k < 0)
                return k;
        long st = http_response_status(resp);
        if (st == 201)
                return 1;
        if (st == 202) {
                /* The registry opened a plain upload instead; drop it, the caller uploads. */
                const char *loc = http_response_header(resp, "Location");
                if (loc) {
                        _cleanup_free_ char *lurl = resolve_location(o, loc);
                        _cleanup_(http_response_freep) HttpResponse *r2 = NULL;
                        (void) oci_call(o, &(OciCall){ .method = "DELETE", .url = lurl, .flags = HTTP_QUIET }, &r2);
                }
                return 0;
        }
        return oci_fail("POST", url, resp, NULL);
}
