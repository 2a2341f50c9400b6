#pragma once
/* An OpenStack cloud as the openstack client finds it, and an authenticated session with one of its
 * services (Glance, for publishing).
 *
 * Where a cloud comes from (openstack-config.c), as the openstack client reads it:
 *   - a named entry of clouds.yaml: the first file that exists of $OS_CLIENT_CONFIG_FILE,
 *     ./clouds.yaml, $XDG_CONFIG_HOME/openstack/clouds.yaml (~/.config/…), /etc/openstack/clouds.yaml;
 *     merged with the same entry of secure.yaml ($OS_CLIENT_SECURE_FILE, then the same folders);
 *   - no name: $OS_CLOUD names the entry, else the OS_* variables (OS_AUTH_URL, OS_USERNAME,
 *     OS_PASSWORD, OS_PROJECT_NAME, OS_APPLICATION_CREDENTIAL_ID, OS_TOKEN, OS_ENDPOINT, …).
 * Secrets (password, application credential secret, token) are registered with log_add_secret()
 * as soon as they are read, and never travel on a command line.
 *
 * Authentication (openstack-auth.c): auth_type "password" and "v3applicationcredential" post to
 * Keystone v3 (POST AUTH_URL/v3/auth/tokens; the token is the X-Subject-Token header, the service's
 * endpoint comes from the catalog in the reply); "token" with an auth_url exchanges the token the
 * same way; "token" with an endpoint and no auth_url (the client's admin_token/token_endpoint) sends
 * the token as it is; "none" talks to the endpoint without any token. A request answered 401 is
 * authenticated afresh and sent once more. */
#include <jansson.h>
#include <stdbool.h>

#include "http.h"
#include "util.h"

typedef struct OpenStackCloud {
        char *name;   /* the clouds.yaml entry; NULL for the OS_* variables */
        char *source; /* "FILE" or "the OS_* environment variables", for messages */
        char *auth_type;
        char *auth_url;
        char *username, *user_id, *user_domain_name, *user_domain_id;
        char *password;
        char *project_name, *project_id, *project_domain_name, *project_domain_id;
        char *app_cred_id, *app_cred_name, *app_cred_secret;
        char *token;
        char *endpoint; /* the service's endpoint, overriding the catalog (image_endpoint_override) */
        char *region_name, *interface;
} OpenStackCloud;

/* name NULL: $OS_CLOUD, else the OS_* variables. -ENOKEY (logged, with the files looked at and the
 * clouds they have) when there is no such cloud; -EINVAL (logged) for an incomplete one. */
int openstack_cloud_load(const char *name, OpenStackCloud **ret);
OpenStackCloud *openstack_cloud_free(OpenStackCloud *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(OpenStackCloud *, openstack_cloud_free);
/* "cloud 'NAME' (FILE)" or "the OS_* environment variables", for messages. */
char *openstack_cloud_describe(const OpenStackCloud *c);
/* Who authenticates: "user 'alice' in project 'demo'", "application credential 'ID'", "a token",
 * "no authentication" (never a secret). */
char *openstack_cloud_identity(const OpenStackCloud *c);

typedef struct OpenStackSession OpenStackSession;

/* Authenticates (unless auth_type is none) and finds the endpoint of service_type ("image"). Takes
 * over cloud. -EACCES (logged: the cloud, the identity, Keystone's message) for refused
 * credentials. */
int openstack_session_open(OpenStackCloud *cloud, const char *service_type, OpenStackSession **ret);
OpenStackSession *openstack_session_free(OpenStackSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(OpenStackSession *, openstack_session_free);
/* The service's endpoint without a trailing '/' ("http://127.0.0.1:9292"). */
const char *openstack_session_endpoint(const OpenStackSession *s);
const OpenStackCloud *openstack_session_cloud(const OpenStackSession *s);

/* http_request() on endpoint + path (req->url and req->headers are set for the call and reset to
 * NULL after it) with the session's token; on 401, one new authentication and one more try.
 * extra_headers: NULL-terminated, or NULL. */
int openstack_request(OpenStackSession *s, const char *path, HttpRequest *req, const char *const *extra_headers,
                      HttpResponse **ret);
/* 0 for a 2xx response; otherwise logs METHOD URL, the status, the cloud, the identity and the
 * server's message, and returns -ENOENT (404; not logged when quiet_404), -EACCES (401/403),
 * -EEXIST (409), -EDQUOT (413) or -EIO. */
int openstack_response_check(OpenStackSession *s, const char *method, const char *path, const HttpResponse *resp,
                             bool quiet_404);
/* openstack_request() with a JSON body (or none) and a JSON reply, checked as above; with ret_json
 * a 404 is returned as -ENOENT without logging (an answer the caller handles). ret_json (optional):
 * the reply's body, NULL when empty. */
int openstack_json(OpenStackSession *s, const char *method, const char *path, const char *content_type,
                   json_t *body, json_t **ret_json);
