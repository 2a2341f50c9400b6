/* Finding an OpenStack cloud as the openstack client does (openstack.h): clouds.yaml + secure.yaml,
 * $OS_CLOUD, or the OS_* variables. */
#include <errno.h>
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

OpenStackCloud *openstack_cloud_free(OpenStackCloud *c) {
        if (!c)
                return NULL;
        char **strings[] = { &c->name, &c->source, &c->auth_type, &c->auth_url, &c->username, &c->user_id,
                             &c->user_domain_name, &c->user_domain_id, &c->password, &c->project_name,
                             &c->project_id, &c->project_domain_name, &c->project_domain_id, &c->app_cred_id,
                             &c->app_cred_name, &c->app_cred_secret, &c->token, &c->endpoint, &c->region_name,
                             &c->interface };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                if (*strings[i])
                        explicit_bzero(*strings[i], strlen(*strings[i]));
                free(*strings[i]);
        }
        free(c);
        return NULL;
}

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

static char *get_str(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) && *json_string_value(v) ? xstrdup(json_string_value(v)) : NULL;
}

static void cloud_from_json(OpenStackCloud *c, json_t *entry) {
        json_t *auth = json_object_get(entry, "auth");
        c->auth_type = get_str(entry, "auth_type");
        c->region_name = get_str(entry, "region_name");
        c->interface = get_str(entry, "interface");
        c->endpoint = get_str(entry, "image_endpoint_override");
        c->auth_url = get_str(auth, "auth_url");
        c->username = get_str(auth, "username");
        c->user_id = get_str(auth, "user_id");
        c->user_domain_name = get_str(auth, "user_domain_name");
        c->user_domain_id = get_str(auth, "user_domain_id");
        c->password = get_str(auth, "password");
        c->project_name = get_str(auth, "project_name") ?: get_str(auth, "tenant_name");
        c->project_id = get_str(auth, "project_id") ?: get_str(auth, "tenant_id");
        c->project_domain_name = get_str(auth, "project_domain_name");
        c->project_domain_id = get_str(auth, "project_domain_id");
        c->app_cred_id = get_str(auth, "application_credential_id");
        c->app_cred_name = get_str(auth, "application_credential_name");
        c->app_cred_secret = get_str(auth, "application_credential_secret");
        c->token = get_str(auth, "token");
        if (!c->endpoint)
                c->endpoint = get_str(auth, "endpoint");
}

static char *env_str(const char *name, const char *alt) {
        const char *v = getenv(name);
        if ((!v || !*v) && alt)
                v = getenv(alt);
        return v && *v ? xstrdup(v) : NULL;
}

static void cloud_from_env(OpenStackCloud *c) {
        c->source = xstrdup("the OS_* environment variables");
        c->auth_type = env_str("OS_AUTH_TYPE", NULL);
        c->auth_url = env_str("OS_AUTH_URL", NULL);
        c->username = env_str("OS_USERNAME", NULL);
        c->user_id = env_str("OS_USER_ID", NULL);
        c->user_domain_name = env_str("OS_USER_DOMAIN_NAME", NULL);
        c->user_domain_id = env_str("OS_USER_DOMAIN_ID", NULL);
        c->password = env_str("OS_PASSWORD", NULL);
        c->project_name = env_str("OS_PROJECT_NAME", "OS_TENANT_NAME");
        c->project_id = env_str("OS_PROJECT_ID", "OS_TENANT_ID");
        c->project_domain_name = env_str("OS_PROJECT_DOMAIN_NAME", NULL);
        c->project_domain_id = env_str("OS_PROJECT_DOMAIN_ID", NULL);
        c->app_cred_id = env_str("OS_APPLICATION_CREDENTIAL_ID", NULL);
        c->app_cred_name = env_str("OS_APPLICATION_CREDENTIAL_NAME", NULL);
        c->app_cred_secret = env_str("OS_APPLICATION_CREDENTIAL_SECRET", NULL);
        c->token = env_str("OS_TOKEN", NULL);
        c->endpoint = env_str("OS_IMAGE_ENDPOINT_OVERRIDE", "OS_ENDPOINT");
        c->region_name = env_str("OS_REGION_NAME", NULL);
        c->interface = env_str("OS_INTERFACE", "OS_ENDPOINT_TYPE");
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
