/* AWS credentials and region lookup (see s3-credentials.h). */
#include "s3-credentials.h"

#include <ctype.h>
#include <stdio.h>

#include "log.h"

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        return s;
}

int s3_ini_get(const char *path, const char *section, const char *key, char **ret) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        *ret = NULL;
        if (!f)
                return errno == ENOENT ? 0 : log_error_errno(-errno, "failed to open '%s': %m", path);
        char *line = NULL;
        size_t size = 0;
        bool in_section = false;
        while (getline(&line, &size, f) > 0) {
                char *l = strip(line);
                if (*l == '#' || *l == ';' || !*l)
                        continue;
                if (*l == '[') {
                        char *end = strchr(l, ']');
                        if (end)
                                *end = 0;
                        in_section = streq(strip(l + 1), section);
                        continue;
                }
                char *eq = strchr(l, '=');
                if (!in_section || !eq)
                        continue;
                *eq = 0;
                if (streq(strip(l), key)) {
                        *ret = xstrdup(strip(eq + 1));
                        break;
                }
        }
        if (line)
                explicit_bzero(line, size);
        free(line);
        return 0;
}

static char *aws_file(const char *env, const char *name) {
        const char *p = getenv(env);
        if (p && *p)
                return xstrdup(p);
        const char *home = getenv("HOME");
        return home ? xasprintf("%s/.aws/%s", home, name) : NULL;
}

static const char *profile_name(void) {
        const char *p = getenv("AWS_PROFILE");
        return p && *p ? p : "default";
}

/* Both halves or neither: a lone key id is a mistake worth naming. */
static int from_pair(char *id, char *secret, char *token, const char *source, S3Credentials **ret) {
        if (!id && !secret) {
                free(token);
                return 0;
        }
        if (!id || !secret || !*id || !*secret) {
                free(id);
                free(secret);
                free(token);
                return log_error_errno(-EINVAL, "S3 credentials in %s: %s is set without %s", source,
                                       id ? "the access key id" : "the secret access key",
                                       id ? "a secret access key" : "an access key id");
        }
        S3Credentials *c = xcalloc(1, sizeof(*c));
        c->access_key_id = id;
        c->secret_access_key = secret;
        c->session_token = token && *token ? token : mfree(token);
        c->source = xstrdup(source);
        log_add_secret(c->secret_access_key);
        if (c->session_token)
                log_add_secret(c->session_token);
        *ret = c;
        return 1;
}

static char *env_dup(const char *name) {
        const char *v = getenv(name);
        return v && *v ? xstrdup(v) : NULL;
}

static int from_file(const char *path, const char *section, S3Credentials **ret) {
        char *id = NULL, *secret = NULL, *token = NULL;
        int k = s3_ini_get(path, section, "aws_access_key_id", &id);
        if (k >= 0)
                k = s3_ini_get(path, section, "aws_secret_access_key", &secret);
        if (k >= 0)
                k = s3_ini_get(path, section, "aws_session_token", &token);
        if (k < 0) {
                free(id);
                free(secret);
                free(token);
                return k;
        }
        _cleanup_free_ char *source = xasprintf("'%s' [%s]", path, section);
        return from_pair(id, secret, token, source, ret);
}

int s3_credentials_load(S3Credentials **ret) {
        int k = from_pair(env_dup("AWS_ACCESS_KEY_ID"), env_dup("AWS_SECRET_ACCESS_KEY"), env_dup("AWS_SESSION_TOKEN"),
                          "the environment (AWS_ACCESS_KEY_ID)", ret);
        if (k != 0)
                return k < 0 ? k : 0;
        const char *profile = profile_name();
        _cleanup_free_ char *creds = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        if (creds) {
                k = from_file(creds, profile, ret);
                if (k != 0)
                        return k < 0 ? k : 0;
        }
        _cleanup_free_ char *config = aws_file("AWS_CONFIG_FILE", "config");
        if (config) {
                _cleanup_free_ char *section = streq(profile, "default") ? xstrdup("default")
                                                                         : xasprintf("profile %s", profile);
                k = from_file(config, section, ret);
                if (k != 0)
                        return k < 0 ? k : 0;
        }
        return log_error_errno(-ENOKEY, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                                        "profile '%s' in '%s' (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE)",
                               profile, creds ?: "~/.aws/credentials");
}

/* "s3.eu-west-1.amazonaws.com", "bucket.s3.eu-west-1.amazonaws.com", "s3-eu-west-1.amazonaws.com",
 * "s3.dualstack.eu-west-1.amazonaws.com" → "eu-west-1". */
static char *region_from_host(const char *host) {
        size_t n = strcspn(host, ":");
        _cleanup_free_ char *h = xstrndup(host, n);
        if (!endswith(h, ".amazonaws.com"))
                return endswith(h, "storage.googleapis.com") ? xstrdup("auto") : NULL;
        h[strlen(h) - strlen(".amazonaws.com")] = 0;
        const char *last = strrchr(h, '.');
        last = last ? last + 1 : h;
        if (startswith(last, "s3-"))
                return xstrdup(last + 3);
        if (streq(last, "s3") || strchr(last, '-') == NULL)
                return NULL; /* "s3.amazonaws.com": the global endpoint, us-east-1 */
        return xstrdup(last);
}

char *s3_region_default(const char *host) {
        char *r = env_dup("AWS_REGION") ?: env_dup("AWS_DEFAULT_REGION");
        if (r)
                return r;
        _cleanup_free_ char *config = aws_file("AWS_CONFIG_FILE", "config");
        const char *profile = profile_name();
        if (config) {
                _cleanup_free_ char *section = streq(profile, "default") ? xstrdup("default")
                                                                         : xasprintf("profile %s", profile);
                if (s3_ini_get(config, section, "region", &r) >= 0 && r && *r)
                        return r;
                free(r);
        }
        return region_from_host(host) ?: xstrdup("us-east-1");
}
