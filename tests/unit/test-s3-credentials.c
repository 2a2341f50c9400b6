/* Where S3 credentials and the region come from: environment, shared credentials file, config
 * file, profiles; a half-set pair is an error; the secret is masked in every log line. */
#include "log.h"
#include "s3-credentials.h"

#include "test-lib.h"

static void clear_env(void) {
        const char *vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                               "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION", "AWS_DEFAULT_REGION" };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                unsetenv(vars[i]);
        setenv("HOME", test_scratch(), 1);
}

static void write_text(const char *name, const char *text) {
        _cleanup_free_ char *p = test_path(name);
        assert_se(write_file_atomic(p, text, strlen(text), 0600) == 0);
}

static void test_environment(void) {
        clear_env();
        setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value", 1);
        setenv("AWS_SESSION_TOKEN", "env-token-value", 1);
        _cleanup_(s3_credentials_freep) S3Credentials *c = NULL;
        assert_se(s3_credentials_load(&c) == 0);
        assert_se(streq(c->access_key_id, "AKIDENV"));
        assert_se(streq(c->secret_access_key, "env-secret-value"));
        assert_se(streq(c->session_token, "env-token-value"));
        _cleanup_free_ char *masked = log_mask("a env-secret-value b env-token-value");
        assert_se(!strstr(masked, "env-secret-value") && !strstr(masked, "env-token-value"));

        /* Half a pair is named, not silently skipped for the file. */
        unsetenv("AWS_SECRET_ACCESS_KEY");
        s3_credentials_free(TAKE_PTR(c));
        assert_se(s3_credentials_load(&c) == -EINVAL);
}

static void test_files_and_profiles(void) {
        clear_env();
        test_sh("mkdir -p '%s/.aws'", test_scratch());
        write_text(".aws/credentials", "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
                                        "aws_secret_access_key = default-secret\n\n[ci]\n"
                                        "aws_access_key_id=AKIDCI\naws_secret_access_key=ci-secret\n"
                                        "aws_session_token = ci-token\n");
        write_text(".aws/config", "[default]\nregion = eu-north-1\n[profile other]\nregion = ap-south-1\n"
                                   "aws_access_key_id = AKIDCONFIG\naws_secret_access_key = config-secret\n");
        _cleanup_(s3_credentials_freep) S3Credentials *c = NULL;
        assert_se(s3_credentials_load(&c) == 0);
        assert_se(streq(c->access_key_id, "AKIDDEFAULT") && streq(c->secret_access_key, "default-secret"));
        assert_se(!c->session_token);
        _cleanup_free_ char *r = s3_region_default("127.0.0.1:8080");
        assert_se(streq(r, "eu-north-1"));

        setenv("AWS_PROFILE", "ci", 1);
        s3_credentials_free(TAKE_PTR(c));
        assert_se(s3_credentials_load(&c) == 0);
        assert_se(streq(c->access_key_id, "AKIDCI") && streq(c->session_token, "ci-token"));
        assert_se(strstr(c->source, "[ci]"));

        /* Only in the config file, under [profile NAME]. */
        setenv("AWS_PROFILE", "other", 1);
        s3_credentials_free(TAKE_PTR(c));
        assert_se(s3_credentials_load(&c) == 0);
        assert_se(streq(c->access_key_id, "AKIDCONFIG"));
        free(r);
        r = s3_region_default("127.0.0.1:8080");
        assert_se(streq(r, "ap-south-1"));

        /* An explicit file path wins over ~/.aws. */
        write_text("elsewhere", "[other]\naws_access_key_id = AKIDELSE\naws_secret_access_key = else-secret\n");
        _cleanup_free_ char *p = test_path("elsewhere");
        setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
        s3_credentials_free(TAKE_PTR(c));
        assert_se(s3_credentials_load(&c) == 0);
        assert_se(streq(c->access_key_id, "AKIDELSE"));

        setenv("AWS_PROFILE", "missing", 1);
        s3_credentials_free(TAKE_PTR(c));
        assert_se(s3_credentials_load(&c) == -ENOKEY);
}

static void test_region(void) {
        clear_env();
        _cleanup_free_ char *home = test_path("no-home"); /* no ~/.aws/config */
        setenv("HOME", home, 1);
        static const struct {
                const char *host, *region;
        } t[] = {
                { "s3.eu-west-1.amazonaws.com", "eu-west-1" },
                { "bucket.s3.us-west-2.amazonaws.com", "us-west-2" },
                { "s3-ap-northeast-1.amazonaws.com", "ap-northeast-1" },
                { "s3.amazonaws.com", "us-east-1" },
                { "storage.googleapis.com", "auto" },
                { "127.0.0.1:8080", "us-east-1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *r = s3_region_default(t[i].host);
                assert_se(streq(r, t[i].region));
        }
        setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
        _cleanup_free_ char *r = s3_region_default("s3.eu-west-1.amazonaws.com");
        assert_se(streq(r, "sa-east-1"));
        setenv("AWS_REGION", "ca-central-1", 1);
        free(r);
        r = s3_region_default("s3.eu-west-1.amazonaws.com");
        assert_se(streq(r, "ca-central-1"));
}

int main(void) {
        test_environment();
        test_files_and_profiles();
        test_region();
        return 0;
}
