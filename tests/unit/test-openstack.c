/* OpenStack cloud configuration as the openstack client reads it (clouds.yaml + secure.yaml,
 * $OS_CLOUD, OS_* variables, auth_type defaults and aliases) and glance: references. */
#include <stdlib.h>

#include "glance.h"
#include "log.h"
#include "openstack.h"
#include "test-lib.h"

static const char *os_vars[] = {
        "OS_CLOUD", "OS_AUTH_TYPE", "OS_AUTH_URL", "OS_USERNAME", "OS_USER_ID", "OS_PASSWORD", "OS_PROJECT_NAME",
        "OS_TENANT_NAME", "OS_PROJECT_ID", "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME",
        "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET", "OS_TOKEN", "OS_ENDPOINT",
        "OS_IMAGE_ENDPOINT_OVERRIDE", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE", "OS_REGION_NAME",
};

static void clear_env(void) {
        for (size_t i = 0; i < ELEMENTSOF(os_vars); i++)
                unsetenv(os_vars[i]);
}

static void put(const char *path, const char *text) {
        assert_se(write_file_atomic(path, text, strlen(text), 0600) >= 0);
}

static void test_files(const char *dir) {
        _cleanup_free_ char *clouds = path_join(dir, "clouds.yaml"), *secure = path_join(dir, "secure.yaml");
        put(clouds, "clouds:\n"
                      "  pw:\n"
                      "    region_name: RegionTwo\n"
                      "    auth:\n"
                      "      auth_url: http://keystone:5000/v3\n"
                      "      username: alice\n"
                      "      project_name: demo\n"
                      "      user_domain_name: Default\n"
                      "  ac:\n"
                      "    auth_type: v3applicationcredential\n"
                      "    auth: { auth_url: 'http://k:5000', application_credential_id: abc123 }\n"
                      "  open:\n"
                      "    auth_type: none\n"
                      "    auth: { endpoint: 'http://127.0.0.1:9292' }\n"
                      "  broken:\n"
                      "    auth_type: none\n");
        put(secure, "clouds:\n  pw:\n    auth:\n      password: s3cret-pw\n"
                      "  ac:\n    auth: { application_credential_secret: s3cret-ac }\n");
        setenv("OS_CLIENT_CONFIG_FILE", clouds, 1);
        setenv("OS_CLIENT_SECURE_FILE", secure, 1);

        _cleanup_(openstack_cloud_freep) OpenStackCloud *c = NULL;
        assert_se(openstack_cloud_load("pw", &c) == 0);
        assert_se(streq(c->auth_type, "password")); /* the default with a username */
        assert_se(streq(c->password, "s3cret-pw")); /* from secure.yaml */
        assert_se(streq(c->region_name, "RegionTwo") && streq(c->project_name, "demo"));
        assert_se(streq(c->source, clouds));
        _cleanup_free_ char *who = openstack_cloud_identity(c);
        assert_se(streq(who, "user 'alice' in project 'demo'"));
        /* Registered as a secret: masked in anything logged. */
        _cleanup_free_ char *masked = log_mask("password is s3cret-pw");
        assert_se(!strstr(masked, "s3cret-pw"));
        c = openstack_cloud_free(c);

        assert_se(openstack_cloud_load("ac", &c) == 0);
        assert_se(streq(c->auth_type, "v3applicationcredential") && streq(c->app_cred_secret, "s3cret-ac"));
        c = openstack_cloud_free(c);

        setenv("OS_CLOUD", "open", 1);
        assert_se(openstack_cloud_load(NULL, &c) == 0);
        assert_se(streq(c->auth_type, "none") && streq(c->endpoint, "http://127.0.0.1:9292"));
        c = openstack_cloud_free(c);
        unsetenv("OS_CLOUD");

        assert_se(openstack_cloud_load("nosuch", &c) == -ENOKEY);
        assert_se(openstack_cloud_load("broken", &c) == -EINVAL); /* none without an endpoint */

        put(clouds, "clouds:\n  x: [unclosed\n");
        assert_se(openstack_cloud_load("x", &c) == -EBADMSG);
        setenv("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml", 1);
        assert_se(chdir(dir) == 0); /* ./clouds.yaml is next in the search path */
        put(clouds, "clouds:\n  here: { auth_type: none, auth: { endpoint: 'http://h:1' } }\n");
        assert_se(openstack_cloud_load("here", &c) == 0);
        assert_se(streq(c->source, "clouds.yaml"));
        c = openstack_cloud_free(c);
        clear_env();
}

static void test_env(void) {
        _cleanup_(openstack_cloud_freep) OpenStackCloud *c = NULL;
        setenv("OS_AUTH_URL", "http://k:5000/v3", 1);
        setenv("OS_USERNAME", "bob", 1);
        assert_se(openstack_cloud_load(NULL, &c) == -EINVAL); /* no password */
        setenv("OS_PASSWORD", "pw-from-env", 1);
        setenv("OS_TENANT_NAME", "legacy", 1);
        assert_se(openstack_cloud_load(NULL, &c) == 0);
        assert_se(streq(c->auth_type, "password") && streq(c->project_name, "legacy") && !c->name);
        c = openstack_cloud_free(c);
        clear_env();

        setenv("OS_TOKEN", "token-from-env-123", 1);
        setenv("OS_ENDPOINT", "http://glance:9292/v2/", 1);
        setenv("OS_AUTH_TYPE", "admin_token", 1);
        assert_se(openstack_cloud_load(NULL, &c) == 0);
        assert_se(streq(c->auth_type, "token") && streq(c->endpoint, "http://glance:9292/v2/"));
        c = openstack_cloud_free(c);
        setenv("OS_AUTH_TYPE", "kerberos", 1);
        assert_se(openstack_cloud_load(NULL, &c) == -EINVAL);
        clear_env();
}

static void test_refs(void) {
        static const struct {
                const char *in;
                int ok;
                const char *cloud, *name, *channel, *digest;
        } refs[] = {
                { "glance:prod/web", 1, "prod", "web", NULL, NULL },
                { "glance:/web:stable", 1, NULL, "web", "stable", NULL },
                { "glance:web", 1, NULL, "web", NULL, NULL },
                { "glance:c/web@sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 1, "c", "web",
                  NULL, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { .in = "glance:c/web@sha256:1234", .ok = 0 },
                { .in = "glance:c/", .ok = 0 },
                { .in = "glance:c/web:", .ok = 0 },
                { .in = "oci-layout:x", .ok = 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(refs); i++) {
                _cleanup_(glance_ref_freep) GlanceRef *r = NULL;
                int k = glance_ref_parse(refs[i].in, &r);
                if (!refs[i].ok) {
                        assert_se(k == -EINVAL);
                        continue;
                }
                assert_se(k == 0);
                assert_se(streq_ptr(r->cloud, refs[i].cloud) && streq(r->name, refs[i].name));
                assert_se(streq_ptr(r->channel, refs[i].channel) && streq_ptr(r->digest, refs[i].digest));
        }
}

int main(void) {
        clear_env();
        unsetenv("XDG_CONFIG_HOME");
        setenv("HOME", test_scratch(), 1); /* no ~/.config/openstack of the machine's */
        test_files(test_scratch());
        test_env();
        test_refs();
        return 0;
}
