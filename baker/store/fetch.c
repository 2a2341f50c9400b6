/* Inputs into the cache: URLs through http, local files by copy; see fetch.h. */
#include "fetch.h"

#include <fcntl.h>
#include <inttypes.h>
#include <strings.h>

#include "http.h"
#include "log.h"

/* Returned by on_headers to ask for a fresh download without Range. */
#define RESTART_WITHOUT_RANGE (-ERANGE)

#define MAX_RESUMES 20

typedef struct Download {
        CacheWriter *writer;
        uint64_t requested_offset; /* the Range we asked for, 0 = none */
        int write_error;           /* the cache writer's, already logged */
} Download;

static int download_sink(const void *data, size_t size, void *userdata) {
        Download *d = userdata;
        int r = cache_blob_writer_write(d->writer, data, size);
        if (r < 0)
                d->write_error = r;
        return r;
}

static int download_on_headers(const HttpResponse *resp, void *userdata) {
        Download *d = userdata;
        long status = http_response_status(resp);
        if (d->requested_offset == 0) {
                /* A partial file is worth keeping only where a Range request can continue it. */
                const char *ar = http_response_header(resp, "Accept-Ranges");
                if (status == 200 && !(ar && strcasecmp(ar, "bytes") == 0))
                        cache_blob_writer_discard(d->writer);
                return 0;
        }
        if (status == 206) {
                const char *cr = http_response_header(resp, "Content-Range");
                uint64_t start;
                if (cr && sscanf(cr, "bytes %" SCNu64 "-", &start) == 1 && start == d->requested_offset)
                        return 0;
                log_debug("fetch: unexpected Content-Range '%s', restarting", cr ? cr : "");
                return RESTART_WITHOUT_RANGE;
        }
        /* 200: the server ignored Range and sends everything; start over with this body. */
        log_info("server ignored the range request, downloading from the start");
        d->requested_offset = 0;
        return cache_blob_writer_truncate(d->writer);
}

static void resume_key(const char *url, const uint8_t *pin, char ret[DIGEST_HEX_SIZE + 1]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker-fetch-partial-v1");
        digest_update_string(d, url);
        digest_update(d, pin, DIGEST_SIZE);
        uint8_t k[DIGEST_SIZE];
        digest_final(d, k);
        digest_to_hex(k, ret);
}

static int report_mismatch(const char *what, const uint8_t *expected, const uint8_t *actual) {
        char e[DIGEST_STRING_MAX], a[DIGEST_STRING_MAX];
        digest_to_string(expected, e);
        digest_to_string(actual, a);
        return log_error_errno(-EBADMSG, "%s: sha256 mismatch: expected %s, got %s", what, e, a);
}

/* The pinned blob when the cache holds it already (another bake may have just finished it). */
static bool take_cached(Cache *c, const uint8_t *pin, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]) {
        if (!pin || cache_blob_path(c, pin, ret_path) < 0)
                return false;
        memcpy(ret_digest, pin, DIGEST_SIZE);
        return true;
}

/* One GET into the writer, from its offset (a Range request when it has bytes already). 0 when the
 * body is complete; RESTART_WITHOUT_RANGE, -EAGAIN (cut after progress and may_resume: continue)
 * or an error (logged). */
static int download_once(Download *dl, const char *url, const char *shown, bool use_range, bool may_resume) {
        CacheWriter *w = dl->writer;
        uint64_t offset = cache_blob_writer_offset(w);
        if (offset > 0 && !use_range) {
                int r = cache_blob_writer_truncate(w);
                if (r < 0)
                        return r;
                offset = 0;
        }
        dl->requested_offset = offset;
        _cleanup_free_ char *range = NULL;
        if (offset > 0) {
                range = xasprintf("Range: bytes=%" PRIu64 "-", offset);
                log_info("resuming '%s' at byte %" PRIu64, shown, offset);
        }
        const char *headers[] = { range, NULL };
        HttpRequest req = {
                .method = "GET",
                .url = url,
                .headers = range ? headers : NULL,
                .sink = download_sink,
                .on_headers = download_on_headers,
                .userdata = dl,
                .max_body = 64 * 1024,
                .flags = HTTP_FOLLOW_REDIRECTS | HTTP_PROGRESS | HTTP_QUIET,
                .progress_offset = offset,
        };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int r = http_request(&req, &resp);
        if (r == RESTART_WITHOUT_RANGE)
                return r;
        if (r < 0 && dl->write_error < 0)
                return r; /* the disk, already reported */
        if (r < 0) {
                /* A transfer cut after some progress continues where it stopped. */
                if (cache_blob_writer_offset(w) > offset && may_resume &&
                    (r == -ECONNRESET || r == -ETIMEDOUT || r == -ECONNREFUSED)) {
                        log_info("%s", http_last_error());
                        return -EAGAIN;
                }
                if (http_last_error()[0])
                        return log_error_errno(r, "%s", http_last_error());
                return log_error_errno(r, "failed to download '%s': %m", shown);
        }
        if (http_response_status(resp) == 416 && offset > 0) {
                /* Our partial file may hold everything already ("bytes * /TOTAL"). */
                const char *cr = http_response_header(resp, "Content-Range");
                uint64_t total;
                if (cr && sscanf(cr, "bytes */%" SCNu64, &total) == 1 && total == offset)
                        return 0;
                return RESTART_WITHOUT_RANGE;
        }
        return http_response_check(&req, resp);
}

/* GETs until the body is complete: resumed after a cut (at most MAX_RESUMES times), restarted
 * from zero when the server cannot continue. */
static int download(CacheWriter *w, const char *url, const char *shown) {
        Download dl = { .writer = w };
        unsigned resumes = 0;
        bool use_range = true;
        for (;;) {
                int r = download_once(&dl, url, shown, use_range, resumes < MAX_RESUMES);
                if (r == RESTART_WITHOUT_RANGE && use_range) {
                        use_range = false;
                        continue;
                }
                if (r == -EAGAIN) {
                        resumes++;
                        continue;
                }
                return r;
        }
}

int fetch_url(Cache *c, const char *url, const uint8_t *pin, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]) {
        _cleanup_free_ char *shown = http_url_display(url);
        if (take_cached(c, pin, ret_path, ret_digest)) {
                log_debug("fetch: '%s' is in the cache", shown);
                return 0;
        }
        /* Only a pinned download may continue across runs: an unpinned URL may serve other bytes
         * next time, and the pieces would not fit together. */
        char key[DIGEST_HEX_SIZE + 1];
        if (pin)
                resume_key(url, pin, key);
        _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
        int r = cache_blob_writer_begin(c, pin ? key : NULL, &w);
        if (r < 0)
                return r;
        if (take_cached(c, pin, ret_path, ret_digest))
                return 0; /* another bake finished the same download while we waited for its lock */
        r = download(w, url, shown);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        uint8_t digest[DIGEST_SIZE];
        r = cache_blob_writer_commit(w, pin, digest, &path);
        if (r == -EBADMSG)
                return report_mismatch(shown, pin, cache_blob_writer_digest(w));
        if (r < 0)
                return r;
        memcpy(ret_digest, digest, DIGEST_SIZE);
        *ret_path = TAKE_PTR(path);
        return 0;
}

int fetch_file(Cache *c, const char *path, const uint8_t *pin, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]) {
        uint8_t digest[DIGEST_SIZE];
        int r = digest_file(path, digest, NULL);
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", path);
        if (pin && memcmp(pin, digest, DIGEST_SIZE) != 0)
                return report_mismatch(path, pin, digest);

        _cleanup_free_ char *blob = NULL;
        if (cache_blob_path(c, digest, &blob) >= 0) {
                memcpy(ret_digest, digest, DIGEST_SIZE);
                *ret_path = TAKE_PTR(blob);
                return 0;
        }

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", path);
        _cleanup_(cache_blob_writer_freep) CacheWriter *w = NULL;
        r = cache_blob_writer_begin(c, NULL, &w);
        if (r < 0)
                return r;
        _cleanup_free_ char *buf = xmalloc(1 << 20);
        for (;;) {
                ssize_t n = read(fd, buf, 1 << 20);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "failed to read '%s': %m", path);
                }
                if (n == 0)
                        break;
                r = cache_blob_writer_write(w, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        /* Checked against the first pass: the file must not change while it is copied. */
        r = cache_blob_writer_commit(w, digest, NULL, &blob);
        if (r == -EBADMSG)
                return log_error_errno(r, "'%s' changed while it was being copied into the cache", path);
        if (r < 0)
                return r;
        memcpy(ret_digest, digest, DIGEST_SIZE);
        *ret_path = TAKE_PTR(blob);
        return 0;
}
