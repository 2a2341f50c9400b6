/* Finding an OpenStack cloud as the openstack client does (openstack.h): clouds.yaml + secure.yaml,
 * $OS_CLOUD, or the OS_* variables. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "openstack.h"
#include "strv.h"
#include "yaml-json.h"

#define free_and_replace(a, b) \
        do {                   \
                free(a);       \
                (a) = (b);     \
        } while (0)

/* The files of one kind ("clouds.yaml", "secure.yaml") in the order the client looks at them. */
static char **config_candidates(const char *file, const char *env) {
        char **l = NULL;
        const char *e = getenv(env);
        if (e && *e)
                strv_push(&l, NULL, xstrdup(e));
        strv_push(&l, NULL, xstrdup(file));
        strv_push(&l, NULL, xdg_config_path(file[0] == 'c' ? "openstack/clouds.yaml" : "openstack/secure.yaml"));
        strv_push(&l, NULL, path_join("/etc/openstack", file));
        return l;
}

/* The first candidate that exists, read; 0 and NULLs when none does. */
static int config_read_first(const char *file, const char *env, char **ret_path, json_t **ret) {
        _cleanup_(strv_freep) char **l = config_candidates(file, env);
        for (char **p = l; *p; p++) {
                json_t *j = NULL;
                int k = yaml_file_to_json(*p, &j);
                if (k == -ENOENT)
                        continue;
                if (k < 0)
                        return k;
                *ret_path = xstrdup(*p);
                *ret = j;
                return 1;
        }
        *ret_path = NULL;
        *ret = NULL;
        return 0;
}

/* Where each field comes from: its key in a clouds.yaml entry (under "auth" or not), the key the
 * client also accepts, and the OS_* variables, in the order the client prefers them. */
typedef struct CloudField {
        size_t offset;
        bool in_auth;
        const char *key, *alt_key;
        const char *env, *alt_env;
} CloudField;

#define FIELD(member, in_auth, key, alt_key, env, alt_env) \
        { offsetof(OpenStackCloud, member), in_auth, key, alt_key, env, alt_env }
static const CloudField cloud_fields[] = {
        FIELD(auth_type, false, "auth_type", NULL, "OS_AUTH_TYPE", NULL),
        FIELD(region_name, false, "region_name", NULL, "OS_REGION_NAME", NULL),
        FIELD(interface, false, "interface", NULL, "OS_INTERFACE", "OS_ENDPOINT_TYPE"),
        FIELD(endpoint, false, "image_endpoint_override", NULL, "OS_IMAGE_ENDPOINT_OVERRIDE", "OS_ENDPOINT"),
        FIELD(auth_url, true, "auth_url", NULL, "OS_AUTH_URL", NULL),
        FIELD(username, true, "username", NULL, "OS_USERNAME", NULL),
        FIELD(user_id, true, "user_id", NULL, "OS_USER_ID", NULL),
        FIELD(user_domain_name, true, "user_domain_name", NULL, "OS_USER_DOMAIN_NAME", NULL),
        FIELD(user_domain_id, true, "user_domain_id", NULL, "OS_USER_DOMAIN_ID", NULL),
        FIELD(password, true, "password", NULL, "OS_PASSWORD", NULL),
        FIELD(project_name, true, "project_name", "tenant_name", "OS_PROJECT_NAME", "OS_TENANT_NAME"),
        FIELD(project_id, true, "project_id", "tenant_id", "OS_PROJECT_ID", "OS_TENANT_ID"),
        FIELD(project_domain_name, true, "project_domain_name", NULL, "OS_PROJECT_DOMAIN_NAME", NULL),
        FIELD(project_domain_id, true, "project_domain_id", NULL, "OS_PROJECT_DOMAIN_ID", NULL),
        FIELD(app_cred_id, true, "application_credential_id", NULL, "OS_APPLICATION_CREDENTIAL_ID", NULL),
        FIELD(app_cred_name, true, "application_credential_name", NULL, "OS_APPLICATION_CREDENTIAL_NAME", NULL),
        FIELD(app_cred_secret, true, "application_credential_secret", NULL, "OS_APPLICATION_CREDENTIAL_SECRET", NULL),
        FIELD(token, true, "token", NULL, "OS_TOKEN", NULL),
};
#undef FIELD

static char **field_of(OpenStackCloud *c, const CloudField *f) {
        return (char **) ((uint8_t *) c + f->offset);
}

static const char *json_lookup(void *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static const char *env_lookup(void *unused, const char *name) {
        return getenv(name);
}

/* A copy of the first non-empty value of key and alt (either may be NULL), looked up in o. */
static char *first_value(const char *(*lookup)(void *o, const char *key), void *o, const char *key, const char *alt) {
        const char *keys[] = { key, alt };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const char *v = keys[i] ? lookup(o, keys[i]) : NULL;
                if (v && *v)
                        return xstrdup(v);
        }
        return NULL;
}

OpenStackCloud *openstack_cloud_free(OpenStackCloud *c) {
        if (!c)
                return NULL;
        free(c->name);
        free(c->source);
        for (size_t i = 0; i < ELEMENTSOF(cloud_fields); i++) {
                char *s = *field_of(c, cloud_fields + i);
                if (s)
                        explicit_bzero(s, strlen(s));
                free(s);
        }
        free(c);
        return NULL;
}

static void cloud_from_json(OpenStackCloud *c, json_t *entry) {
        json_t *auth = json_object_get(entry, "auth");
        for (size_t i = 0; i < ELEMENTSOF(cloud_fields); i++) {
                const CloudField *f = cloud_fields + i;
                *field_of(c, f) = first_value(json_lookup, f->in_auth ? auth : entry, f->key, f->alt_key);
        }
        if (!c->endpoint) /* auth_type none/admin_token: the endpoint is an auth option */
                c->endpoint = first_value(json_lookup, auth, "endpoint", NULL);
}

static void cloud_from_env(OpenStackCloud *c) {
        c->source = xstrdup("the OS_* environment variables");
        for (size_t i = 0; i < ELEMENTSOF(cloud_fields); i++)
                *field_of(c, cloud_fields + i) = first_value(env_lookup, NULL, cloud_fields[i].env, cloud_fields[i].alt_env);
}

static int cloud_from_files(OpenStackCloud *c, const char *name) {
        _cleanup_free_ char *path = NULL, *secure_path = NULL;
        _cleanup_(json_decrefp) json_t *clouds = NULL, *secure = NULL;
        int k = config_read_first("clouds.yaml", "OS_CLIENT_CONFIG_FILE", &path, &clouds);
        if (k < 0)
                return k;
        if (k == 0)
                return log_error_errno(-ENOKEY, "cloud '%s': no clouds.yaml ($OS_CLIENT_CONFIG_FILE, ./clouds.yaml, "
                                       "~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)", name);
        json_t *entry = json_object_get(json_object_get(clouds, "clouds"), name);
        if (!json_is_object(entry)) {
                _cleanup_free_ char *list = NULL;
                const char *key;
                json_t *v;
                json_object_foreach(json_object_get(clouds, "clouds"), key, v) {
                        char *l = list ? xasprintf("%s, %s", list, key) : xstrdup(key);
                        free_and_replace(list, l);
                }
                return log_error_errno(-ENOKEY, "cloud '%s' not found in '%s' (it has: %s)", name, path,
                                       list ? list : "none");
        }
        k = config_read_first("secure.yaml", "OS_CLIENT_SECURE_FILE", &secure_path, &secure);
        if (k < 0)
                return k;
        json_t *sentry = json_object_get(json_object_get(secure, "clouds"), name);
        if (json_is_object(sentry))
                json_object_update_recursive(entry, sentry);
        c->name = xstrdup(name);
        c->source = TAKE_PTR(path);
        cloud_from_json(c, entry);
        return 0;
}

/* The auth_type the client would pick when none is written, and the spellings it accepts. */
static int cloud_normalise(OpenStackCloud *c) {
        _cleanup_free_ char *where = openstack_cloud_describe(c);
        if (!c->auth_type)
                c->auth_type = xstrdup(c->app_cred_id || c->app_cred_name ? "v3applicationcredential"
                                       : c->token && !c->username && !c->user_id ? "token"
                                                                                 : "password");
        const char *t = c->auth_type;
        if (streq(t, "v3password"))
                free_and_replace(c->auth_type, xstrdup("password"));
        else if (streq(t, "applicationcredential"))
                free_and_replace(c->auth_type, xstrdup("v3applicationcredential"));
        else if (streq(t, "v3token") || streq(t, "admin_token") || streq(t, "token_endpoint"))
                free_and_replace(c->auth_type, xstrdup("token"));
        else if (streq(t, "noauth"))
                free_and_replace(c->auth_type, xstrdup("none"));
        t = c->auth_type;
        if (streq(t, "none"))
                return c->endpoint ? 0 : log_error_errno(-EINVAL, "%s: auth_type 'none' needs an endpoint", where);
        if (streq(t, "token")) {
                if (!c->token)
                        return log_error_errno(-EINVAL, "%s: auth_type 'token' needs a token", where);
                if (!c->auth_url && !c->endpoint)
                        return log_error_errno(-EINVAL, "%s: a token needs an auth_url or an endpoint", where);
                return 0;
        }
        if (!streq(t, "password") && !streq(t, "v3applicationcredential"))
                return log_error_errno(-EINVAL, "%s: auth_type '%s' is not supported (password, "
                                       "v3applicationcredential, token, none)", where, t);
        if (!c->auth_url)
                return log_error_errno(-EINVAL, "%s: no auth_url", where);
        if (streq(t, "password") && (!(c->username || c->user_id) || !c->password))
                return log_error_errno(-EINVAL, "%s: password authentication needs a username and a password", where);
        if (streq(t, "v3applicationcredential") && (!(c->app_cred_id || (c->app_cred_name && c->username)) ||
                                                    !c->app_cred_secret))
                return log_error_errno(-EINVAL, "%s: an application credential needs its id (or name and username) "
                                       "and its secret", where);
        return 0;
}

int openstack_cloud_load(const char *name, OpenStackCloud **ret) {
        _cleanup_(openstack_cloud_freep) OpenStackCloud *c = xcalloc(1, sizeof *c);
        if (!name || !*name) {
                const char *e = getenv("OS_CLOUD");
                name = e && *e ? e : NULL;
        }
        int k = 0;
        if (name)
                k = cloud_from_files(c, name);
        else
                cloud_from_env(c);
        if (k < 0)
                return k;
        const char *secrets[] = { c->password, c->app_cred_secret, c->token };
        for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
                if (secrets[i])
                        log_add_secret(secrets[i]);
        k = cloud_normalise(c);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(c);
        return 0;
}

char *openstack_cloud_describe(const OpenStackCloud *c) {
        if (c->name)
                return xasprintf("cloud '%s' (%s)", c->name, c->source);
        return xstrdup(c->source ?: "the OS_* environment variables");
}

char *openstack_cloud_identity(const OpenStackCloud *c) {
        const char *t = c->auth_type ?: "";
        if (streq(t, "none"))
                return xstrdup("no authentication");
        if (streq(t, "token"))
                return xstrdup("a token");
        if (streq(t, "v3applicationcredential"))
                return xasprintf("application credential '%s'", c->app_cred_id ?: c->app_cred_name);
        const char *project = c->project_name ?: c->project_id;
        return project ? xasprintf("user '%s' in project '%s'", c->username ?: c->user_id, project)
                       : xasprintf("user '%s'", c->username ?: c->user_id);
}
