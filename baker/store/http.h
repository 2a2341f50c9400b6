#pragma once
/* Every HTTP request baker makes: downloads (fetch) and the OCI registry client. The only module
 * that includes <curl/curl.h>. One general call, http_request(), with retries and exponential
 * backoff on timeouts, connection failures, 5xx and 429 (honouring Retry-After) where a retry is
 * safe, TLS verification always on, proxies from the standard environment variables (libcurl's
 * http_proxy/https_proxy/no_proxy), and a progress bar on a terminal.
 *
 * No authentication logic lives here: callers pass "Authorization: ..." headers themselves (and
 * register the secret with log_add_secret()). Authorization headers and URL userinfo are never
 * printed. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct HttpResponse HttpResponse; /* opaque; see the accessors below */

/* Receives the body of a 2xx response as it arrives. Return >= 0 to continue, < 0 (-errno) to
 * abort the transfer; http_request() then returns that error without retrying or logging. */
typedef int (*HttpSink)(const void *data, size_t size, void *userdata);
/* Called once the final response's status and headers are known, before its first body byte
 * reaches the sink (only for 2xx responses when a sink is set). Lets a caller check e.g. 206 vs
 * 200 and Content-Range and prepare the sink. Return < 0 to abort (no retry, no logging). May be
 * called again on a retry, before the body is delivered afresh. */
typedef int (*HttpOnHeaders)(const HttpResponse *resp, void *userdata);

/* Sees each chunk of an HTTP_BODY_FD body as it goes out (offset: within the body). A retry or
 * rewind starts again at offset 0. Lets a caller hash exactly the bytes it sent. */
typedef void (*HttpBodyObserver)(const void *data, size_t size, uint64_t offset, void *userdata);

typedef enum HttpBodyKind {
        HTTP_BODY_NONE = 0,
        HTTP_BODY_MEMORY, /* body, body_size */
        HTTP_BODY_FD,     /* body_fd from body_offset, body_length bytes (pread: fd offset untouched) */
} HttpBodyKind;

typedef enum HttpFlags {
        /* Follow 3xx redirects (downloads). Without it a 3xx is returned as the response, e.g. so a
         * registry client sees 202 + Location, or 307 for a blob on another host. */
        HTTP_FOLLOW_REDIRECTS = 1 << 0,
        /* Retry even a non-idempotent method (POST, PATCH): the caller says repeating is harmless.
         * GET, HEAD, PUT, DELETE and OPTIONS are retried anyway. Bodies from memory or an fd range
         * can always be replayed. */
        HTTP_RETRY_UNSAFE = 1 << 1,
        /* Never retry (one attempt). */
        HTTP_NO_RETRY = 1 << 2,
        /* Show a progress bar (bytes, total, rate) if stderr is a terminal; nothing otherwise. */
        HTTP_PROGRESS = 1 << 3,
        /* Don't log transport errors at error level (they go to debug); the caller reports
         * http_last_error() itself, e.g. because it will resume and try again. */
        HTTP_QUIET = 1 << 4,
} HttpFlags;

typedef struct HttpRequest {
        const char *method; /* NULL = "GET"; "HEAD" fetches no body */
        const char *url;
        /* NULL-terminated "Name: value" strings, or NULL. "Name:" removes a curl default header. */
        const char *const *headers;

        HttpBodyKind body_kind;
        const void *body;
        size_t body_size;
        int body_fd;
        uint64_t body_offset, body_length;
        HttpBodyObserver body_observer; /* HTTP_BODY_FD only; gets userdata */

        /* Response body: a 2xx body goes to sink if set; otherwise (and for every non-2xx
         * response) it is collected in memory, up to max_body bytes (0 = 1 MiB). A larger
         * in-memory body fails with -EFBIG. */
        HttpSink sink;
        HttpOnHeaders on_headers;
        void *userdata;
        size_t max_body;

        unsigned flags;        /* HttpFlags */
        unsigned max_attempts; /* 0 = 5 (or $BAKER_HTTP_ATTEMPTS) */
        const char *progress_label; /* NULL = the URL without userinfo or query */
        uint64_t progress_offset;   /* bytes already there (a resumed download), for the bar */
} HttpRequest;

/* Performs the request. Returns 0 when a response was received, whatever its status (a 404 is an
 * answer for a registry's HEAD; use http_response_check() for "2xx or log and fail"), with
 * *ret_resp set. Retries as described above; a response already streamed partly to the sink is not
 * retried (the caller resumes with a Range request). On a transport failure logs "METHOD URL:
 * curl's error text" (unless HTTP_QUIET) and returns -ECONNREFUSED, -ETIMEDOUT, -ECONNRESET,
 * -EHOSTUNREACH (resolve failure), -EPROTO (TLS/protocol) or -EIO; a final 5xx/429 after the last
 * attempt is still returned as a response. */
int http_request(const HttpRequest *req, HttpResponse **ret_resp);

/* If the status is 2xx returns 0; otherwise logs "METHOD URL: status 404 Not Found" and returns
 * -ENOENT (404), -EACCES (401, 403), -EAGAIN (429, 503) or -EIO. */
int http_response_check(const HttpRequest *req, const HttpResponse *resp);

HttpResponse *http_response_free(HttpResponse *resp);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpResponse *, http_response_free);

long http_response_status(const HttpResponse *resp);
/* Reason phrase of the status line, or a standard one when the server sent none (HTTP/2). */
const char *http_response_reason(const HttpResponse *resp);
/* Case-insensitive; the value with surrounding whitespace removed, or NULL. Only the final
 * response's headers (after redirects). For repeated headers (WWW-Authenticate, Link) n selects
 * the nth occurrence (0-based). */
const char *http_response_header(const HttpResponse *resp, const char *name);
const char *http_response_header_n(const HttpResponse *resp, const char *name, size_t n);
/* In-memory body (NUL-terminated, so JSON can be parsed directly); size excludes the NUL. Empty
 * when the body went to the sink. */
const char *http_response_body(const HttpResponse *resp, size_t *ret_size);
/* The URL the final response came from (after redirects). */
const char *http_response_url(const HttpResponse *resp);
/* Retry-After in seconds (delta or HTTP date), or -1. */
long http_response_retry_after(const HttpResponse *resp);

/* Text of the last transport failure in this thread: "GET https://host/x: couldn't connect to
 * host", userinfo removed. */
const char *http_last_error(void);

/* URLs and origins (http-url.c). */
/* Hosts ("host" or "host:port") for which TLS certificate verification is skipped, and to which
 * credentials may go over plain http. Only for hosts a user named explicitly (registry --insecure
 * HOST, a publish target's `insecure: true`). */
void http_add_insecure_host(const char *host);
bool http_url_host_is_insecure(const char *url);
/* A URL fit for printing: userinfo removed ("https://user:pw@h/x" -> "https://h/x"). */
char *http_url_display(const char *url);
/* Pointers to the authority part of a URL ("user@host:port"): [*ret_begin, *ret_end). */
void http_url_authority(const char *url, const char **ret_begin, const char **ret_end);
/* "localhost", an address in 127.0.0.0/8 or "[::1]"/"::1", with or without ":port"; exact names
 * only ("localhost.example" and "127.0.0.1.example" are not). */
bool http_host_is_loopback(const char *hostport);
/* "scheme://host:port" of a URL, lower-cased, the port explicit (80/443 by default), userinfo
 * dropped; NULL for a URL without "scheme://". Two URLs are the same origin when these are equal. */
char *http_url_origin(const char *url);
bool http_url_same_origin(const char *a, const char *b);
/* Whether credentials may travel to url: https, or plain http to a loopback host or one named
 * insecure. */
bool http_url_credentials_ok(const char *url);
/* Registers a password in the URL's userinfo as a secret (log_add_secret), so no log line shows
 * it. http_request() does it for each request; callers that start requests from several threads
 * call it first for every URL, as the secret list is not changed under a lock. */
void http_url_register_secret(const char *url);

/* HttpSink writing to the fd pointed at by userdata (int *). */
int http_sink_fd(const void *data, size_t size, void *userdata);
