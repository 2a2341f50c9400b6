/* Keystone v3 authentication and requests to an OpenStack service with the token (openstack.h). */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "openstack.h"

struct OpenStackSession {
        OpenStackCloud *cloud;
        char *service_type;
        char *token;          /* NULL for auth_type none */
        char *token_header;   /* "X-Auth-Token: …" */
        char *endpoint;
};

OpenStackSession *openstack_session_free(OpenStackSession *s) {
        if (!s)
                return NULL;
        openstack_cloud_free(s->cloud);
        free(s->service_type);
        if (s->token)
                explicit_bzero(s->token, strlen(s->token));
        if (s->token_header)
                explicit_bzero(s->token_header, strlen(s->token_header));
        free(s->token);
        free(s->token_header);
        free(s->endpoint);
        free(s);
        return NULL;
}

const char *openstack_session_endpoint(const OpenStackSession *s) {
        return s->endpoint;
}

const OpenStackCloud *openstack_session_cloud(const OpenStackSession *s) {
        return s->cloud;
}

/* "http://h:9292/", "http://h:9292/v2" → "http://h:9292": callers add the version themselves. */
static char *endpoint_normalise(const char *url) {
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
                n--;
        if (n >= 3 && strncmp(url + n - 3, "/v2", 3) == 0)
                n -= 3;
        return xstrndup(url, n);
}

static json_t *scope_json(const OpenStackCloud *c) {
        json_t *project = NULL;
        if (c->project_id)
                project = json_pack("{s:s}", "id", c->project_id);
        else if (c->project_name) {
                json_t *domain = c->project_domain_id ? json_pack("{s:s}", "id", c->project_domain_id)
                                                      : json_pack("{s:s}", "name", c->project_domain_name ?: "Default");
                project = json_pack("{s:s, s:o}", "name", c->project_name, "domain", domain);
        }
        return project ? json_pack("{s:o}", "project", project) : NULL;
}

static json_t *user_json(const OpenStackCloud *c, const char *secret_key, const char *secret) {
        json_t *user = c->user_id ? json_pack("{s:s}", "id", c->user_id) : json_pack("{s:s}", "name", c->username);
        if (!c->user_id)
                json_object_set_new(user, "domain",
                                    c->user_domain_id ? json_pack("{s:s}", "id", c->user_domain_id)
                                                      : json_pack("{s:s}", "name", c->user_domain_name ?: "Default"));
        if (secret)
                json_object_set_new(user, secret_key, json_string(secret));
        return user;
}

/* The body of POST /v3/auth/tokens for the cloud's auth_type. */
static json_t *auth_body(const OpenStackCloud *c) {
        json_t *identity;
        bool scoped = true;
        if (streq(c->auth_type, "password"))
                identity = json_pack("{s:[s], s:{s:o}}", "methods", "password", "password", "user",
                                     user_json(c, "password", c->password));
        else if (streq(c->auth_type, "v3applicationcredential")) {
                json_t *ac = c->app_cred_id ? json_pack("{s:s}", "id", c->app_cred_id)
                                            : json_pack("{s:s, s:o}", "name", c->app_cred_name, "user", user_json(c, NULL, NULL));
                json_object_set_new(ac, "secret", json_string(c->app_cred_secret));
                identity = json_pack("{s:[s], s:o}", "methods", "application_credential", "application_credential", ac);
                scoped = false; /* an application credential carries its project */
        } else
                identity = json_pack("{s:[s], s:{s:s}}", "methods", "token", "token", "id", c->token);
        json_t *auth = json_pack("{s:o}", "identity", identity);
        json_t *scope = scoped ? scope_json(c) : NULL;
        if (scope)
                json_object_set_new(auth, "scope", scope);
        return json_pack("{s:o}", "auth", auth);
}

/* The catalog's endpoint for the service: the cloud's interface (public by default) and region. */
static char *catalog_endpoint(const OpenStackCloud *c, json_t *catalog, const char *service_type) {
        const char *want = c->interface ?: "public";
        if (endswith(want, "URL")) /* OS_ENDPOINT_TYPE=publicURL */
                want = startswith(want, "internal") ? "internal" : startswith(want, "admin") ? "admin" : "public";
        size_t i, j;
        json_t *svc, *ep;
        json_array_foreach(catalog, i, svc) {
                if (!streq_ptr(json_string_value(json_object_get(svc, "type")), service_type))
                        continue;
                json_array_foreach(json_object_get(svc, "endpoints"), j, ep) {
                        const char *iface = json_string_value(json_object_get(ep, "interface"));
                        const char *region = json_string_value(json_object_get(ep, "region_id")) ?:
                                             json_string_value(json_object_get(ep, "region"));
                        const char *url = json_string_value(json_object_get(ep, "url"));
                        if (url && streq_ptr(iface, want) && (!c->region_name || streq_ptr(region, c->region_name)))
                                return endpoint_normalise(url);
                }
        }
        return NULL;
}

/* The message of an OpenStack error body ({"error":{"message":…}}, glance's HTML or text), short. */
/* The text of an HTML error page (what Glance's WSGI layer answers 413 with): the body without its
 * head, tags and runs of blanks. */
static char *html_text(const char *html, size_t n) {
        char *r = xmalloc(n + 1), *o = r;
        const char *p = html, *end = html + n, *head = memmem(html, n, "</head>", 7);
        if (head)
                p = head + 7;
        for (bool tag = false; p < end; p++) {
                if (*p == '<' || *p == '>')
                        tag = *p == '<';
                else if (!tag && !(isspace((unsigned char) *p) && (o == r || o[-1] == ' ')))
                        *o++ = isspace((unsigned char) *p) ? ' ' : *p;
        }
        while (o > r && o[-1] == ' ')
                o--;
        *o = 0;
        return r;
}

static char *server_message(const HttpResponse *resp) {
        size_t n;
        const char *body = http_response_body(resp, &n);
        json_t *j = n ? json_loadb(body, n, 0, NULL) : NULL;
        const char *m = j ? json_string_value(json_object_get(json_object_get(j, "error"), "message")) : NULL;
        _cleanup_free_ char *text = !m && n && memchr(body, '<', n) ? html_text(body, n) : NULL;
        if (text)
                body = text, n = strlen(text);
        char *r = xstrndup(m ?: body ?: "", m ? strlen(m) : MIN(n, (size_t) 300));
        json_decref(j);
        for (char *p = r; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return r;
}

static int keystone_authenticate(OpenStackSession *s) {
        const OpenStackCloud *c = s->cloud;
        size_t n = strlen(c->auth_url);
        while (n > 0 && c->auth_url[n - 1] == '/')
                n--;
        bool versioned = n >= 3 && strncmp(c->auth_url + n - 3, "/v3", 3) == 0;
        _cleanup_free_ char *url = xasprintf("%.*s%s/auth/tokens", (int) n, c->auth_url, versioned ? "" : "/v3");
        _cleanup_(json_decrefp) json_t *body = auth_body(c);
        _cleanup_free_ char *data = json_dumps(body, JSON_COMPACT);
        const char *headers[] = { "Content-Type: application/json", "Accept: application/json", NULL };
        HttpRequest req = { .method = "POST", .url = url, .headers = headers, .body_kind = HTTP_BODY_MEMORY,
                            .body = data, .body_size = strlen(data), .flags = HTTP_RETRY_UNSAFE,
                            .max_body = 16 << 20 };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = http_request(&req, &resp);
        explicit_bzero(data, strlen(data));
        if (k < 0)
                return k;
        _cleanup_free_ char *where = openstack_cloud_describe(c), *who = openstack_cloud_identity(c);
        long status = http_response_status(resp);
        if (status == 401 || status == 403) {
                _cleanup_free_ char *msg = server_message(resp);
                return log_error_errno(-EACCES, "keystone refused %s of %s: POST %s: status %ld: %s", who, where, url,
                                       status, msg);
        }
        k = http_response_check(&req, resp);
        if (k < 0)
                return k;
        const char *token = http_response_header(resp, "X-Subject-Token");
        size_t bn;
        const char *rb = http_response_body(resp, &bn);
        _cleanup_(json_decrefp) json_t *reply = json_loadb(rb, bn, 0, NULL);
        if (!token || !reply)
                return log_error_errno(-EBADMSG, "POST %s: no token in keystone's reply", url);
        log_add_secret(token);
        free(s->token);
        free(s->token_header);
        s->token = xstrdup(token);
        s->token_header = xasprintf("X-Auth-Token: %s", token);
        if (!c->endpoint && !s->endpoint) {
                s->endpoint = catalog_endpoint(c, json_object_get(json_object_get(reply, "token"), "catalog"),
                                               s->service_type);
                if (!s->endpoint)
                        return log_error_errno(-ENOENT, "%s: keystone's catalog has no '%s' endpoint (interface %s%s%s)",
                                               where, s->service_type, c->interface ?: "public",
                                               c->region_name ? ", region " : "", c->region_name ?: "");
        }
        log_debug("authenticated to %s as %s", where, who);
        return 0;
}

static int session_authenticate(OpenStackSession *s) {
        const OpenStackCloud *c = s->cloud;
        if (streq(c->auth_type, "none"))
                return 0;
        if (streq(c->auth_type, "token") && !c->auth_url) {
                /* A token for the endpoint as it is, no Keystone to ask. */
                free(s->token_header);
                s->token = xstrdup(c->token);
                s->token_header = xasprintf("X-Auth-Token: %s", c->token);
                return 0;
        }
        return keystone_authenticate(s);
}

int openstack_session_open(OpenStackCloud *cloud, const char *service_type, OpenStackSession **ret) {
        _cleanup_(openstack_session_freep) OpenStackSession *s = xcalloc(1, sizeof *s);
        s->cloud = cloud;
        s->service_type = xstrdup(service_type);
        if (cloud->endpoint)
                s->endpoint = endpoint_normalise(cloud->endpoint);
        int k = session_authenticate(s);
        if (k < 0) {
                s->cloud = NULL; /* the caller's still on failure */
                return k;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int openstack_request(OpenStackSession *s, const char *path, HttpRequest *req, const char *const *extra_headers,
                      HttpResponse **ret) {
        _cleanup_free_ char *url = xasprintf("%s%s", s->endpoint, path);
        bool renewable = s->token && s->cloud->auth_url;
        for (unsigned attempt = 0;; attempt++) {
                const char *headers[16];
                size_t n = 0;
                if (s->token_header)
                        headers[n++] = s->token_header;
                for (size_t i = 0; extra_headers && extra_headers[i] && n < ELEMENTSOF(headers) - 1; i++)
                        headers[n++] = extra_headers[i];
                headers[n] = NULL;
                req->url = url;
                req->headers = headers;
                _cleanup_(http_response_freep) HttpResponse *resp = NULL;
                int k = http_request(req, &resp);
                if (k < 0) {
                        req->url = NULL;
                        req->headers = NULL;
                        return k;
                }
                if (http_response_status(resp) == 401 && renewable && attempt == 0) {
                        log_info("%s %s: status 401, authenticating again", req->method ?: "GET", url);
                        k = keystone_authenticate(s);
                        if (k < 0)
                                return k;
                        continue;
                }
                req->url = NULL;
                req->headers = NULL;
                *ret = TAKE_PTR(resp);
                return 0;
        }
}

int openstack_response_check(OpenStackSession *s, const char *method, const char *path, const HttpResponse *resp,
                             bool quiet_404) {
        long status = http_response_status(resp);
        if (status >= 200 && status <= 299)
                return 0;
        int k = status == 404 ? -ENOENT : status == 401 || status == 403 ? -EACCES : status == 409 ? -EEXIST
                : status == 413 ? -EDQUOT : -EIO;
        if (k == -ENOENT && quiet_404)
                return k;
        _cleanup_free_ char *msg = server_message(resp);
        _cleanup_free_ char *where = openstack_cloud_describe(s->cloud), *who = openstack_cloud_identity(s->cloud);
        return log_error_errno(k, "%s %s%s: status %ld %s (%s as %s): %s", method, s->endpoint, path, status,
                               http_response_reason(resp), where, who, msg);
}

int openstack_json(OpenStackSession *s, const char *method, const char *path, const char *content_type,
                   json_t *body, json_t **ret_json) {
        _cleanup_free_ char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
        _cleanup_free_ char *ct = xasprintf("Content-Type: %s", content_type ?: "application/json");
        const char *headers[] = { "Accept: application/json", data ? ct : NULL, NULL };
        HttpRequest req = { .method = method, .max_body = 64 << 20 };
        if (data) {
                req.body_kind = HTTP_BODY_MEMORY;
                req.body = data;
                req.body_size = strlen(data);
        }
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        int k = openstack_request(s, path, &req, headers, &resp);
        if (k < 0)
                return k;
        k = openstack_response_check(s, method, path, resp, ret_json != NULL);
        if (k < 0)
                return k;
        if (ret_json) {
                size_t n;
                const char *b = http_response_body(resp, &n);
                *ret_json = n ? json_loadb(b, n, 0, NULL) : NULL;
                if (n && !*ret_json)
                        return log_error_errno(-EBADMSG, "%s %s%s: the reply is not JSON", method, s->endpoint, path);
        }
        return 0;
}
