/* The OCI backend's auth: credentials, challenges, bearer tokens, and oci_call() with the auth
 * dance around one request. */

#include "base64.h"
#include "http.h"
#include "log.h"
#include "registry-oci-internal.h"

/* ---- auth ---- */

void load_credentials(Oci *o) {
        if (o->creds_loaded)
                return;
        o->creds_loaded = true;
        if (registry_credentials_get(o->host, &o->user, &o->password) > 0) {
                _cleanup_free_ char *plain = xasprintf("%s:%s", o->user, o->password);
                size_t n = strlen(plain);
                _cleanup_free_ char *b64 = base64_encode(plain, n);
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

/* Whether a request to url may carry the registry's credentials or tokens: only to the registry's
 * own origin (an upload Location or a Link elsewhere gets none), and over plain http only when the
 * host is loopback or named insecure. */
static bool may_authenticate(Oci *o, const char *url) {
        if (!http_url_same_origin(url, o->origin))
                return false;
        if (http_url_credentials_ok(url))
                return true;
        if (!o->warned_plain_http) {
                log_warning("not sending credentials to '%s' over plain http; name it with --insecure (or "
                            "`insecure: true`) if that is meant", o->host);
                o->warned_plain_http = true;
        }
        return false;
}

/* Whether the token request to a bearer realm may carry the registry's basic credentials: only
 * when the realm is the registry's exact origin (scheme, host and port), under the rule of the
 * registry's own requests (https, or plain http to a loopback host or one named insecure). A token
 * service anywhere else, another port of the same host included, is asked without them and gives
 * what it gives anonymous clients: credentials never reach an origin they were not given for. */
static bool realm_may_get_credentials(Oci *o, const char *realm) {
        return http_url_same_origin(realm, o->origin) && http_url_credentials_ok(realm);
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
        bool send = o->basic_header && realm_may_get_credentials(o, realm);
        _cleanup_free_ char *realm_disp = http_url_display(realm);
        if (o->basic_header && !send)
                log_warning("asking the token service '%s' without the credentials for '%s': credentials go only "
                            "to the origin they were given for%s", realm_disp, o->host,
                            http_url_same_origin(realm, o->origin) ? ", and not over plain http" : "");
        const char *headers[] = { o->basic_header, NULL };
        HttpRequest req = { .method = "GET", .url = url, .headers = send ? headers : NULL,
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

/* One request with the auth dance around it. Returns the response whatever its status. */
int oci_call(Oci *o, const OciCall *call, HttpResponse **ret) {
        _cleanup_free_ char *scope = request_scope(o, call->method, call->mount_from);
        const char *hdrs[16];
        bool authed = may_authenticate(o, call->url);
        int k;

        for (int attempt = 0; attempt < 3; attempt++) {
                size_t n = 0;
                for (const char *const *h = call->headers; h && *h && n < 12; h++)
                        hdrs[n++] = *h;
                Token *t = authed ? token_find(o, scope) : NULL;
                if (t)
                        hdrs[n++] = t->header;
                else if (authed && o->basic_header && o->n_tokens == 0)
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
                if (http_response_status(resp) != 401 || attempt == 2 || !authed) {
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
