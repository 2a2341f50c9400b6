/* HTTP through libcurl. The only file that includes <curl/curl.h>; see http.h for the contract. */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "units.h"
#include "time-util.h"

typedef struct HttpHeader {
        char *name, *value;
} HttpHeader;

struct HttpResponse {
        long status;
        char *reason;
        HttpHeader *headers;
        size_t n_headers;
        char *body;
        size_t body_size, body_alloc;
        char *url;
};

static _Thread_local char last_error[1024];

/* One cache of name lookups and TLS sessions for every request of the process, whichever thread
 * makes it: a bake's hundreds of requests to one mirror or registry then ask DNS for its name once a
 * minute, not once a request (a DNS server that failed one query in many failed whole bakes), and
 * resume TLS sessions. Connections are not shared: each request still opens its own. */
static CURLSH *curl_share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userdata) {
        (void) handle, (void) access, (void) userdata;
        pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userdata) {
        (void) handle, (void) userdata;
        pthread_mutex_unlock(&share_locks[data]);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
                abort();
        for (size_t i = 0; i < ELEMENTSOF(share_locks); i++)
                pthread_mutex_init(&share_locks[i], NULL);
        curl_share = curl_share_init();
        if (!curl_share)
                abort();
        curl_share_setopt(curl_share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(curl_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(curl_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(curl_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

const char *http_last_error(void) {
        return last_error;
}

void http_url_register_secret(const char *url) {
        const char *a, *e;
        http_url_authority(url, &a, &e);
        const char *at = memrchr(a, '@', e - a);
        if (!at)
                return;
        const char *colon = memchr(a, ':', at - a);
        if (!colon)
                return;
        _cleanup_free_ char *pw = xstrndup(colon + 1, at - colon - 1);
        log_add_secret(pw);
}

HttpResponse *http_response_free(HttpResponse *resp) {
        if (!resp)
                return NULL;
        for (size_t i = 0; i < resp->n_headers; i++) {
                free(resp->headers[i].name);
                free(resp->headers[i].value);
        }
        free(resp->headers);
        free(resp->reason);
        free(resp->body);
        free(resp->url);
        free(resp);
        return NULL;
}

static void response_reset(HttpResponse *resp) {
        for (size_t i = 0; i < resp->n_headers; i++) {
                free(resp->headers[i].name);
                free(resp->headers[i].value);
        }
        resp->n_headers = 0;
        resp->body_size = 0;
        if (resp->body)
                resp->body[0] = 0;
        resp->status = 0;
        free(resp->reason);
        resp->reason = NULL;
}

long http_response_status(const HttpResponse *resp) {
        return resp->status;
}

static const char *status_reason(long status) {
        switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 416: return "Range Not Satisfiable";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "";
        }
}

const char *http_response_reason(const HttpResponse *resp) {
        if (resp->reason && resp->reason[0])
                return resp->reason;
        return status_reason(resp->status);
}

const char *http_response_header_n(const HttpResponse *resp, const char *name, size_t n) {
        for (size_t i = 0; i < resp->n_headers; i++)
                if (strcasecmp(resp->headers[i].name, name) == 0 && n-- == 0)
                        return resp->headers[i].value;
        return NULL;
}

const char *http_response_header(const HttpResponse *resp, const char *name) {
        return http_response_header_n(resp, name, 0);
}

const char *http_response_body(const HttpResponse *resp, size_t *ret_size) {
        if (ret_size)
                *ret_size = resp->body_size;
        return resp->body ? resp->body : "";
}

const char *http_response_url(const HttpResponse *resp) {
        return resp->url;
}

long http_response_retry_after(const HttpResponse *resp) {
        const char *v = http_response_header(resp, "Retry-After");
        if (!v || !*v)
                return -1;
        char *end;
        errno = 0;
        long s = strtol(v, &end, 10);
        if (errno == 0 && *end == 0 && s >= 0)
                return s;
        time_t t = curl_getdate(v, NULL);
        if (t < 0)
                return -1;
        time_t now = time(NULL);
        return t > now ? (long) (t - now) : 0;
}

int http_sink_fd(const void *data, size_t size, void *userdata) {
        return write_all(*(int *) userdata, data, size);
}

/* State of one attempt. */
typedef struct Transfer {
        const HttpRequest *req;
        HttpResponse *resp;
        uint64_t upload_pos;
        uint64_t delivered; /* body bytes handed to the sink */
        bool headers_done;  /* on_headers called for this response */
        int sink_error;     /* < 0 when the sink or on_headers aborted */
        bool too_big;
        bool progress;
        double progress_last, started; /* now_seconds() */
} Transfer;

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * nitems;
        HttpResponse *resp = t->resp;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                len--;
        if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                /* A new response (interim 1xx, redirect, or the final one): keep only its headers. */
                response_reset(resp);
                t->headers_done = false;
                const char *sp = memchr(buf, ' ', len);
                if (sp) {
                        resp->status = strtol(sp + 1, NULL, 10);
                        const char *sp2 = memchr(sp + 1, ' ', len - (sp + 1 - buf));
                        if (sp2)
                                resp->reason = xstrndup(sp2 + 1, len - (sp2 + 1 - buf));
                }
                return size * nitems;
        }
        const char *colon = memchr(buf, ':', len);
        if (!colon || colon == buf)
                return size * nitems;
        const char *v = colon + 1, *e = buf + len;
        while (v < e && (*v == ' ' || *v == '\t'))
                v++;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
        resp->headers = xrealloc(resp->headers, (resp->n_headers + 1) * sizeof(HttpHeader));
        resp->headers[resp->n_headers++] = (HttpHeader) {
                .name = xstrndup(buf, colon - buf),
                .value = xstrndup(v, e - v),
        };
        return size * nitems;
}

static bool status_ok(long s) {
        return s >= 200 && s < 300;
}

static bool following_redirect(const Transfer *t) {
        long s = t->resp->status;
        return (t->req->flags & HTTP_FOLLOW_REDIRECTS) && s >= 300 && s < 400 && s != 304 &&
                http_response_header(t->resp, "Location");
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        const HttpRequest *req = t->req;
        size_t len = size * nmemb;
        if (following_redirect(t))
                return len; /* the body of a redirect we follow is of no interest */
        if (req->sink && status_ok(t->resp->status)) {
                if (!t->headers_done) {
                        t->headers_done = true;
                        if (req->on_headers) {
                                int r = req->on_headers(t->resp, req->userdata);
                                if (r < 0) {
                                        t->sink_error = r;
                                        return CURL_WRITEFUNC_ERROR;
                                }
                        }
                }
                int r = req->sink(data, len, req->userdata);
                if (r < 0) {
                        t->sink_error = r;
                        return CURL_WRITEFUNC_ERROR;
                }
                t->delivered += len;
                return len;
        }
        HttpResponse *resp = t->resp;
        size_t cap = req->max_body ? req->max_body : 1024 * 1024;
        if (resp->body_size + len > cap) {
                t->too_big = true;
                return CURL_WRITEFUNC_ERROR;
        }
        if (resp->body_size + len + 1 > resp->body_alloc) {
                resp->body_alloc = MAX(resp->body_alloc * 2, resp->body_size + len + 1);
                resp->body = xrealloc(resp->body, resp->body_alloc);
        }
        memcpy(resp->body + resp->body_size, data, len);
        resp->body_size += len;
        resp->body[resp->body_size] = 0;
        return len;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata) {
        Transfer *t = userdata;
        const HttpRequest *req = t->req;
        size_t want = size * nitems;
        if (req->body_kind == HTTP_BODY_MEMORY) {
                size_t left = req->body_size - (size_t) t->upload_pos;
                size_t n = MIN(want, left);
                memcpy(buf, (const char *) req->body + t->upload_pos, n);
                t->upload_pos += n;
                return n;
        }
        if (req->body_kind == HTTP_BODY_FD) {
                uint64_t left = req->body_length - t->upload_pos;
                size_t n = (size_t) MIN((uint64_t) want, left);
                if (n == 0)
                        return 0;
                for (;;) {
                        ssize_t k = pread(req->body_fd, buf, n, (off_t) (req->body_offset + t->upload_pos));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                t->sink_error = k < 0 ? -errno : -EIO; /* file shrank under us */
                                return CURL_READFUNC_ABORT;
                        }
                        if (req->body_observer)
                                req->body_observer(buf, (size_t) k, t->upload_pos, req->userdata);
                        t->upload_pos += (uint64_t) k;
                        return (size_t) k;
                }
        }
        return 0;
}

/* Rewinds the upload on a redirect or auth retry that curl does by itself. */
static int seek_cb(void *userdata, curl_off_t offset, int origin) {
        Transfer *t = userdata;
        if (origin != SEEK_SET)
                return CURL_SEEKFUNC_CANTSEEK;
        t->upload_pos = (uint64_t) offset;
        return CURL_SEEKFUNC_OK;
}

static void progress_draw(Transfer *t, curl_off_t now_bytes, curl_off_t total, bool final) {
        double now = now_seconds();
        if (!final && now - t->progress_last < 0.2)
                return;
        t->progress_last = now;
        double secs = now - t->started;
        double done = (double) now_bytes + (double) t->req->progress_offset;
        double all = total > 0 ? (double) total + (double) t->req->progress_offset : 0;
        char a[32], b[32], r[32];
        units_format_size_rounded(done, a, sizeof a);
        units_format_size_rounded(all, b, sizeof b);
        units_format_size_rounded(secs > 0 ? (double) now_bytes / secs : 0, r, sizeof r);
        _cleanup_free_ char *label = NULL;
        if (t->req->progress_label)
                label = log_mask(t->req->progress_label);
        else {
                _cleanup_free_ char *d = http_url_display(t->req->url);
                d[strcspn(d, "?#")] = 0;
                const char *slash = strrchr(d, '/');
                label = log_mask(slash && slash[1] ? slash + 1 : d);
        }
        if (all > 0)
                fprintf(stderr, "\r\033[K%.40s  %s / %s  %3.0f%%  %s/s", label, a, b, 100.0 * done / all, r);
        else
                fprintf(stderr, "\r\033[K%.40s  %s  %s/s", label, a, r);
        if (final)
                fputs("\r\033[K", stderr);
        fflush(stderr);
}

static int xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        Transfer *t = userdata;
        if (ultotal > 0)
                progress_draw(t, ulnow, ultotal, false);
        else if (dlnow > 0)
                progress_draw(t, dlnow, dltotal, false);
        return 0;
}

static bool method_idempotent(const char *m) {
        return streq(m, "GET") || streq(m, "HEAD") || streq(m, "PUT") || streq(m, "DELETE") ||
                streq(m, "OPTIONS");
}

static int curl_code_to_errno(CURLcode c) {
        switch (c) {
        case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING: return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_TOO_MANY_REDIRECTS: return -EPROTO;
        default: return -EIO;
        }
}

static bool curl_code_retryable(CURLcode c) {
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR: /* often a reset during the handshake */
        case CURLE_COULDNT_RESOLVE_HOST: /* curl can't tell "no such name" from a DNS server's hiccup */
        case CURLE_COULDNT_RESOLVE_PROXY:
                return true;
        default:
                return false;
        }
}

static bool status_retryable(long s) {
        return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static unsigned env_unsigned(const char *name, unsigned def) {
        const char *v = getenv(name);
        if (!v || !*v)
                return def;
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        return *end == 0 ? (unsigned) n : def;
}

static void sleep_ms(uint64_t ms) {
        struct timespec ts = { .tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static void set_last_error(const char *method, const char *url, const char *fmt, ...) _printf_(3, 4);
static void set_last_error(const char *method, const char *url, const char *fmt, ...) {
        _cleanup_free_ char *d = http_url_display(url);
        char text[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        snprintf(last_error, sizeof last_error, "%s %s: %s", method, d, text);
}

static void log_request_debug(const char *method, const char *url, const char *const *headers) {
        if (log_get_max_level() < LOG_LEVEL_DEBUG)
                return;
        _cleanup_free_ char *d = http_url_display(url);
        log_debug("http: %s %s", method, d);
        for (const char *const *h = headers; h && *h; h++) {
                if (strncasecmp(*h, "Authorization:", 14) == 0 || strncasecmp(*h, "Proxy-Authorization:", 20) == 0)
                        log_debug("http:   %.*s ***", (int) strcspn(*h, ":") + 1, *h);
                else
                        log_debug("http:   %s", *h);
        }
}

static void slist_freep(struct curl_slist **l) {
        curl_slist_free_all(*l);
}
static void easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}

/* How often and how patiently one request is tried. */
typedef struct RetryPolicy {
        unsigned max_attempts, backoff_ms, timeout_s;
} RetryPolicy;

static RetryPolicy retry_policy(const HttpRequest *req, const char *method) {
        RetryPolicy p = {
                .max_attempts = req->max_attempts ? req->max_attempts : env_unsigned("BAKER_HTTP_ATTEMPTS", 5),
                .backoff_ms = env_unsigned("BAKER_HTTP_BACKOFF_MS", 1000),
                .timeout_s = env_unsigned("BAKER_HTTP_TIMEOUT", 60),
        };
        if (req->flags & HTTP_NO_RETRY)
                p.max_attempts = 1;
        if (!method_idempotent(method) && !(req->flags & HTTP_RETRY_UNSAFE))
                p.max_attempts = 1;
        return p;
}

static void transfer_set_method(CURL *c, Transfer *t, const char *method) {
        const HttpRequest *req = t->req;
        if (streq(method, "HEAD")) {
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
                return;
        }
        if (streq(method, "GET") && req->body_kind == HTTP_BODY_NONE) {
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
                return;
        }
        /* Every other method goes out as an upload, so a body-less POST or PUT still carries
         * "Content-Length: 0" (registries insist). */
        uint64_t len = req->body_kind == HTTP_BODY_MEMORY ? req->body_size :
                req->body_kind == HTTP_BODY_FD             ? req->body_length :
                                                             0;
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, t);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
}

/* The handle for one attempt; errbuf must outlive it. */
static CURL *transfer_handle(Transfer *t, const char *method, struct curl_slist *headers, char *errbuf,
                             unsigned timeout_s) {
        CURL *c = curl_easy_init();
        if (!c)
                return NULL;
        const HttpRequest *req = t->req;
        curl_easy_setopt(c, CURLOPT_SHARE, curl_share);
        curl_easy_setopt(c, CURLOPT_URL, req->url);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_USERAGENT, "baker");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A stalled transfer counts as a timeout: less than 1 byte/s for timeout_s seconds. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long) timeout_s);
        bool verify = !http_url_host_is_insecure(req->url);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
        if (req->flags & HTTP_FOLLOW_REDIRECTS) {
                curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        }
        transfer_set_method(c, t, method);
        if (t->progress) {
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
                curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
        }
        return c;
}

static int request_error(const HttpRequest *req, int r) {
        if (req->flags & HTTP_QUIET)
                return log_debug_errno(r, "%s", last_error);
        return log_error_errno(r, "%s", last_error);
}

/* A response arrived. 0 when it is the answer, 1 to try again after *ret_wait_s seconds (-1: the
 * backoff decides), < 0 when the caller's on_headers refused it. */
static int attempt_answered(CURL *c, Transfer *t, const char *method, unsigned attempt, unsigned max_attempts,
                            long *ret_wait_s) {
        const HttpRequest *req = t->req;
        HttpResponse *resp = t->resp;
        char *eff = NULL;
        curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
        free(resp->url);
        resp->url = xstrdup(eff ? eff : req->url);
        if (!status_retryable(resp->status)) {
                if (req->sink && status_ok(resp->status) && !t->headers_done && req->on_headers)
                        return MIN(req->on_headers(resp, req->userdata), 0);
                return 0;
        }
        if (attempt >= max_attempts)
                return 0;
        *ret_wait_s = http_response_retry_after(resp);
        _cleanup_free_ char *d = http_url_display(resp->url);
        log_info("%s %s: status %ld %s, retrying (attempt %u of %u)", method, d, resp->status,
                 http_response_reason(resp), attempt + 1, max_attempts);
        return 1;
}

/* curl gave up on the attempt. 1 to try again, else the error (logged). */
static int attempt_failed(const Transfer *t, CURLcode code, const char *errbuf, const char *method, unsigned attempt,
                          unsigned max_attempts) {
        const char *text = errbuf[0] ? errbuf : curl_easy_strerror(code);
        char lower[CURL_ERROR_SIZE + 1];
        snprintf(lower, sizeof lower, "%s", text);
        lower[0] = (char) tolower((unsigned char) lower[0]);
        set_last_error(method, t->req->url, "%s", lower);
        /* Bytes already in the sink can't be taken back: the caller resumes. */
        if (!curl_code_retryable(code) || t->delivered > 0 || attempt >= max_attempts)
                return request_error(t->req, curl_code_to_errno(code));
        log_info("%s, retrying (attempt %u of %u)", last_error, attempt + 1, max_attempts);
        return 1;
}

int http_request(const HttpRequest *req, HttpResponse **ret_resp) {
        pthread_once(&curl_once, curl_init_once);
        const char *method = req->method ? req->method : "GET";
        http_url_register_secret(req->url);
        log_request_debug(method, req->url, req->headers);
        last_error[0] = 0;

        _cleanup_(slist_freep) struct curl_slist *hl = NULL;
        for (const char *const *h = req->headers; h && *h; h++)
                hl = curl_slist_append(hl, *h);
        /* No "Expect: 100-continue" round trip before uploads. */
        hl = curl_slist_append(hl, "Expect:");

        RetryPolicy policy = retry_policy(req, method);
        bool progress = (req->flags & HTTP_PROGRESS) && log_is_tty() && log_get_max_level() >= LOG_LEVEL_NOTICE;
        _cleanup_(http_response_freep) HttpResponse *resp = xcalloc(1, sizeof(HttpResponse));
        for (unsigned attempt = 1;; attempt++) {
                response_reset(resp);
                Transfer t = { .req = req, .resp = resp, .progress = progress, .started = now_seconds() };
                char errbuf[CURL_ERROR_SIZE] = "";
                _cleanup_(easy_cleanupp) CURL *c = transfer_handle(&t, method, hl, errbuf, policy.timeout_s);
                if (!c)
                        return log_error_errno(-ENOMEM, "failed to create a curl handle");

                CURLcode code = curl_easy_perform(c);
                if (progress && t.delivered + t.upload_pos > 0) {
                        curl_off_t dl = 0;
                        curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &dl);
                        progress_draw(&t, dl, 0, true);
                }
                if (t.sink_error < 0)
                        return t.sink_error; /* the caller's own error, reported by the caller */
                if (t.too_big) {
                        set_last_error(method, req->url, "response body larger than %zu bytes",
                                       req->max_body ? req->max_body : (size_t) 1024 * 1024);
                        return request_error(req, -EFBIG);
                }

                long wait_s = -1;
                int r = code == CURLE_OK ? attempt_answered(c, &t, method, attempt, policy.max_attempts, &wait_s) :
                                           attempt_failed(&t, code, errbuf, method, attempt, policy.max_attempts);
                if (r < 0)
                        return r;
                if (r == 0) {
                        *ret_resp = TAKE_PTR(resp);
                        return 0;
                }
                uint64_t ms = (uint64_t) policy.backoff_ms << MIN(attempt - 1, 5u);
                if (wait_s >= 0)
                        ms = (uint64_t) MIN(wait_s, 300L) * 1000;
                sleep_ms(MIN(ms, (uint64_t) 300000));
        }
}

int http_response_check(const HttpRequest *req, const HttpResponse *resp) {
        if (status_ok(resp->status))
                return 0;
        int r = resp->status == 404                          ? -ENOENT :
                resp->status == 401 || resp->status == 403   ? -EACCES :
                resp->status == 429 || resp->status == 503   ? -EAGAIN :
                                                               -EIO;
        _cleanup_free_ char *d = http_url_display(req->url);
        return log_error_errno(r, "%s %s: status %ld %s", req->method ? req->method : "GET", d, resp->status,
                               http_response_reason(resp));
}
