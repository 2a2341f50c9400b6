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

#include "http.h"
#include "log.h"

#define DEFAULT_CHUNK_SIZE (256ULL << 20) /* fewer, larger requests: chunking cost ~25% of throughput at 64 MiB */
#define MANIFEST_ACCEPT                                                                                   \
        "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "   \
        "application/vnd.docker.distribution.manifest.v2+json, "                                         \
        "application/vnd.docker.distribution.manifest.list.v2+json"

typedef struct Token {
        char *scope;
        char *header; /* "Authorization: Bearer …" */
} Token;

typedef struct Oci {
        char *host, *repository;
        char *origin; /* "https://host" */
        bool creds_loaded;
        char *user, *password;
        char *basic_header; /* "Authorization: Basic …" once the registry asked for basic */
        Token *tokens;
        size_t n_tokens;
        bool no_referrers_api;
} Oci;

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

static char *url_escape(const char *s) {
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
static char *resolve_location(Oci *o, const char *loc) {
        if (startswith(loc, "http://") || startswith(loc, "https://"))
                return xstrdup(loc);
        return xasprintf("%s%s%s", o->origin, loc[0] == '/' ? "" : "/", loc);
}

static char *url_with_query(const char *url, const char *query) {
        return xasprintf("%s%c%s", url, strchr(url, '?') ? '&' : '?', query);
}

/* ---- auth ---- */

static void load_credentials(Oci *o) {
        if (o->creds_loaded)
                return;
        o->creds_loaded = true;
        if (registry_credentials_get(o->host, &o->user, &o->password) > 0) {
                _cleanup_free_ char *plain = xasprintf("%s:%s", o->user, o->password);
                size_t n = strlen(plain);
                _cleanup_free_ char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
                EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, (int) n);
                log_add_secret(b64);
                o->basic_header = xasprintf("Authorization: Basic %s", b64);
                explicit_bzero(plain, n);
        }
}

/* Parses 'Bearer realm="…",service="…",scope="…",error="…"' into a json object of its params. */
json_t *registry_oci_parse_challenge(const char *h, char **ret_scheme) {
        const char *p = h;
        while (*p && *p != ' ')
                p++;
        *ret_scheme = xstrndup(h, p - h);
        json_t *params = json_object();
        while (*p) {
                while (*p == ' ' || *p == ',')
                        p++;
                const char *eq = strchr(p, '=');
                if (!eq)
                        break;
                _cleanup_free_ char *key = xstrndup(p, eq - p);
                p = eq + 1;
                char *val;
                if (*p == '"') {
                        const char *end = strchr(++p, '"');
                        if (!end)
                                end = p + strlen(p);
                        val = xstrndup(p, end - p);
                        p = *end ? end + 1 : end;
                } else {
                        const char *end = strchr(p, ',');
                        if (!end)
                                end = p + strlen(p);
                        val = xstrndup(p, end - p);
                        p = end;
                }
                for (char *k = key; *k; k++)
                        *k = (char) (*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
                json_object_set_new(params, key, json_string(val));
                free(val);
        }
        return params;
}

static Token *token_find(Oci *o, const char *scope) {
        for (size_t i = 0; i < o->n_tokens; i++)
                if (streq(o->tokens[i].scope, scope))
                        return &o->tokens[i];
        return NULL;
}

/* GET realm?service=…&scope=…(&scope=…) with basic credentials if any; caches the token. */
static int token_fetch(Oci *o, json_t *challenge, const char *scope_key, const char *const *scopes, size_t n_scopes) {
        const char *realm = json_string_value(json_object_get(challenge, "realm"));
        const char *service = json_string_value(json_object_get(challenge, "service"));
        if (!realm)
                return log_error_errno(-EPROTO, "registry '%s' sent a bearer challenge without realm", o->host);
        _cleanup_free_ char *url = xstrdup(realm);
        if (service) {
                _cleanup_free_ char *e = url_escape(service), *q = xasprintf("service=%s", e);
                char *n = url_with_query(url, q);
                free(url);
                url = n;
        }
        for (size_t i = 0; i < n_scopes; i++) {
                _cleanup_free_ char *e = url_escape(scopes[i]), *q = xasprintf("scope=%s", e);
                char *n = url_with_query(url, q);
                free(url);
                url = n;
        }
        load_credentials(o);
        const char *headers[] = { o->basic_header, NULL };
        HttpRequest req = { .method = "GET", .url = url, .headers = o->basic_header ? headers : NULL,
                            .flags = HTTP_FOLLOW_REDIRECTS };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = http_request(&req, &resp);
        if (k < 0)
                return k;
        if (http_response_status(resp) != 200) {
                _cleanup_free_ char *disp = http_url_display(url);
                return log_error_errno(-EACCES, "GET %s: status %ld %s: token request refused%s", disp,
                                       http_response_status(resp), http_response_reason(resp),
                                       o->basic_header ? "" : " (no credentials for this registry; see 'baker login')");
        }
        size_t size;
        const char *body = http_response_body(resp, &size);
        json_t *j = json_loadb(body, size, 0, NULL);
        const char *tok = json_string_value(json_object_get(j, "token")) ?: json_string_value(json_object_get(j, "access_token"));
        if (!tok) {
                json_decref(j);
                return log_error_errno(-EPROTO, "token server '%s' returned no token", realm);
        }
        log_add_secret(tok);
        Token *t = token_find(o, scope_key);
        if (!t) {
                o->tokens = xrealloc(o->tokens, (o->n_tokens + 1) * sizeof(Token));
                t = &o->tokens[o->n_tokens++];
                t->scope = xstrdup(scope_key);
                t->header = NULL;
        }
        free(t->header);
        t->header = xasprintf("Authorization: Bearer %s", tok);
        json_decref(j);
        return 0;
}

/* The scope a request needs: pull for reads, pull+push for writes, delete for DELETE. */
static char *request_scope(Oci *o, const char *method, const char *extra_pull_repo) {
        const char *actions = streq(method, "GET") || streq(method, "HEAD") ? "pull"
                              : streq(method, "DELETE")                    ? "delete"
                                                                           : "pull,push";
        if (extra_pull_repo)
                return xasprintf("repository:%s:%s repository:%s:pull", o->repository, actions, extra_pull_repo);
        return xasprintf("repository:%s:%s", o->repository, actions);
}

typedef struct OciCall {
        const char *method;
        const char *url;
        const char *const *headers; /* extra, NULL-terminated */
        HttpBodyKind body_kind;
        const void *body;
        size_t body_size;
        int body_fd;
        uint64_t body_offset, body_length;
        HttpSink sink;
        void *userdata;
        unsigned flags;
        size_t max_body;
        const char *mount_from; /* adds a pull scope on another repository */
} OciCall;

/* One request with the auth dance around it. Returns the response whatever its status. */
static int oci_call(Oci *o, const OciCall *call, HttpResponse **ret) {
        _cleanup_free_ char *scope = request_scope(o, call->method, call->mount_from);
        const char *hdrs[16];
        int k;

        for (int attempt = 0; attempt < 3; attempt++) {
                size_t n = 0;
                for (const char *const *h = call->headers; h && *h && n < 12; h++)
                        hdrs[n++] = *h;
                Token *t = token_find(o, scope);
                if (t)
                        hdrs[n++] = t->header;
                else if (o->basic_header && o->n_tokens == 0)
                        hdrs[n++] = o->basic_header;
                hdrs[n] = NULL;
                HttpRequest req = {
                        .method = call->method, .url = call->url, .headers = hdrs,
                        .body_kind = call->body_kind, .body = call->body, .body_size = call->body_size,
                        .body_fd = call->body_fd, .body_offset = call->body_offset, .body_length = call->body_length,
                        .sink = call->sink, .userdata = call->userdata, .flags = call->flags, .max_body = call->max_body,
                };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                k = http_request(&req, &resp);
                if (k < 0)
                        return k;
                if (http_response_status(resp) != 401 || attempt == 2) {
                        *ret = TAKE_PTR(resp);
                        return 0;
                }
                const char *h = http_response_header(resp, "WWW-Authenticate");
                if (!h) {
                        *ret = TAKE_PTR(resp);
                        return 0;
                }
                _cleanup_free_ char *scheme = NULL;
                json_t *ch = registry_oci_parse_challenge(h, &scheme);
                if (strcasecmp(scheme, "Basic") == 0) {
                        load_credentials(o);
                        json_decref(ch);
                        if (!o->basic_header || (attempt > 0 && !t)) {
                                *ret = TAKE_PTR(resp);
                                return 0;
                        }
                        continue;
                }
                if (strcasecmp(scheme, "Bearer") != 0) {
                        json_decref(ch);
                        *ret = TAKE_PTR(resp);
                        return 0;
                }
                /* Ask for what we need and for what the registry says it needs (insufficient_scope
                 * names the missing scopes). */
                const char *scopes[8];
                size_t ns = 0;
                _cleanup_free_ char *mine = xstrdup(scope);
                for (char *save = NULL, *s = strtok_r(mine, " ", &save); s && ns < 4; s = strtok_r(NULL, " ", &save))
                        scopes[ns++] = s;
                _cleanup_free_ char *theirs = xstrdup(json_string_value(json_object_get(ch, "scope")) ?: "");
                for (char *save = NULL, *s = strtok_r(theirs, " ", &save); s && ns < 8; s = strtok_r(NULL, " ", &save)) {
                        bool dup = false;
                        for (size_t i = 0; i < ns; i++)
                                dup = dup || streq(scopes[i], s);
                        if (!dup)
                                scopes[ns++] = s;
                }
                if (streq_ptr(json_string_value(json_object_get(ch, "error")), "insufficient_scope"))
                        log_debug("registry '%s' wants scope '%s'", o->host, json_string_value(json_object_get(ch, "scope")));
                k = token_fetch(o, ch, scope, scopes, ns);
                json_decref(ch);
                if (k < 0)
                        return k;
        }
        return -EACCES; /* not reached */
}

/* Logs "METHOD URL: status N Reason: CODE: message" with the registry's JSON error and returns an
 * errno for the status. */
static int oci_fail(const char *method, const char *url, const HttpResponse *resp, const char *hint) {
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

static char *repo_url(Oci *o, const char *fmt_tail) {
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

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static int oci_blob_push(void *userdata, const RegistryBlob *blob, uint64_t *ret_sent) {
        Oci *o = userdata;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *location = NULL;
        uint64_t sent = 0, chunk = chunk_size();
        int k;

        if (blob->path) {
                fd = open(blob->path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(-errno, "failed to open '%s': %m", blob->path);
        }
        k = upload_open(o, &location);
        if (k < 0)
                return k;
        _cleanup_free_ char *escaped = url_escape(blob->digest), *q = xasprintf("digest=%s", escaped);

        if (blob->size <= chunk) {
                /* Monolithic: one PUT carries the whole blob. Replayable, so http retries it. */
                _cleanup_free_ char *url = url_with_query(location, q);
                const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                OciCall call = { .method = "PUT", .url = url, .headers = hdrs, .flags = HTTP_PROGRESS };
                if (blob->path) {
                        call.body_kind = HTTP_BODY_FD;
                        call.body_fd = fd;
                        call.body_length = blob->size;
                } else {
                        call.body_kind = HTTP_BODY_MEMORY;
                        call.body = blob->data;
                        call.body_size = blob->size;
                }
                k = oci_call(o, &call, &resp);
                if (k < 0)
                        return k;
                if (http_response_status(resp) != 201)
                        return oci_fail("PUT", url, resp, NULL);
                *ret_sent = blob->size;
                return 0;
        }

        /* Chunked, resumable. Only files are this large. */
        if (fd < 0)
                return -EINVAL;
        uint64_t offset = 0;
        int64_t give_up = 0;
        unsigned failures = 0;
        while (offset < blob->size) {
                uint64_t len = MIN(chunk, blob->size - offset);
                _cleanup_free_ char *range = xasprintf("Content-Range: %" PRIu64 "-%" PRIu64, offset, offset + len - 1);
                const char *hdrs[] = { "Content-Type: application/octet-stream", range, NULL };
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                k = oci_call(o,
                             &(OciCall){ .method = "PATCH", .url = location, .headers = hdrs, .body_kind = HTTP_BODY_FD,
                                         .body_fd = fd, .body_offset = offset, .body_length = len,
                                         .flags = HTTP_NO_RETRY | HTTP_QUIET | HTTP_PROGRESS },
                             &resp);
                if (k >= 0 && http_response_status(resp) == 202) {
                        const char *loc = http_response_header(resp, "Location");
                        if (loc) {
                                free(location);
                                location = resolve_location(o, loc);
                        }
                        offset += len;
                        sent += len;
                        failures = 0;
                        give_up = 0;
                        continue;
                }
                if (k >= 0) {
                        long st = http_response_status(resp);
                        if (st != 416 && st < 500)
                                return oci_fail("PATCH", location, resp, NULL);
                }
                /* Broken connection, 5xx or a range the server disagrees with: ask the session what
                 * it has (waiting out a registry restart for up to a minute) and go on from there. */
                if (give_up == 0)
                        give_up = now_ms() + 60000;
                log_warning("upload of '%s' interrupted at %" PRIu64 " of %" PRIu64 " bytes%s%s; resuming",
                            blob->label ?: blob->digest, offset, blob->size, k < 0 ? ": " : "",
                            k < 0 ? http_last_error() : "");
                for (;;) {
                        uint64_t next = 0;
                        usleep((useconds_t) MIN(200000u << MIN(failures, 4u), 2000000u));
                        failures++;
                        k = upload_status(o, location, &next, &location);
                        if (k > 0) {
                                log_info("registry has %" PRIu64 " bytes of '%s'; continuing", next,
                                         blob->label ?: blob->digest);
                                offset = next;
                                break;
                        }
                        if (k == 0) {
                                log_info("upload session of '%s' is gone; starting a new one", blob->label ?: blob->digest);
                                free(location);
                                location = NULL;
                                k = upload_open(o, &location);
                                if (k >= 0) {
                                        offset = 0;
                                        break;
                                }
                        }
                        if (now_ms() > give_up)
                                return log_error_errno(k < 0 ? k : -EIO, "upload of '%s' to '%s' failed: %s",
                                                       blob->label ?: blob->digest, o->host, http_last_error());
                }
        }
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

static int oci_blob_mount(void *userdata, const char *digest, const char *from) {
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

static int oci_blob_get(void *userdata, const char *digest, int fd) {
        Oci *o = userdata;
        _cleanup_free_ char *tail = xasprintf("blobs/%s", digest), *url = repo_url(o, tail);
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = oci_call(o,
                         &(OciCall){ .method = "GET", .url = url, .sink = http_sink_fd, .userdata = &fd,
                                     .flags = HTTP_FOLLOW_REDIRECTS | HTTP_PROGRESS },
                         &resp);
        if (k < 0)
                return k;
        if (http_response_status(resp) != 200)
                return oci_fail("GET", url, resp, NULL);
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

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Extracts the target of 'Link: <URL>; rel="next"'. */
char *registry_oci_link_next(const char *link) {
        if (!link || !strstr(link, "rel=\"next\"") || link[0] != '<')
                return NULL;
        const char *end = strchr(link, '>');
        return end ? xstrndup(link + 1, end - link - 1) : NULL;
}

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

        for (unsigned pages = 0; url && pages < 10000; pages++) {
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
                json_t *j = json_loadb(body, size, 0, NULL), *t;
                size_t i;
                json_array_foreach(json_object_get(j, "tags"), i, t)
                        if (json_string_value(t)) {
                                tags = xrealloc(tags, (n + 2) * sizeof(char *));
                                tags[n++] = xstrdup(json_string_value(t));
                        }
                json_decref(j);
                _cleanup_free_ char *next = registry_oci_link_next(http_response_header(resp, "Link"));
                free(url);
                url = next ? resolve_location(o, next) : NULL;
        }
        free(url);
        if (k < 0) {
                strv_free(tags, n);
                return k;
        }
        if (!tags)
                tags = xcalloc(1, sizeof(char *));
        qsort(tags, n, sizeof(char *), cmp_str);
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
