/* Azure Storage credentials and SharedKey signing; see azure-auth.h. */
#include "azure-auth.h"

#include <ctype.h>
#include <stdio.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <strings.h>

#include "base64.h"
#include "log.h"
#include "strv.h"

AzureCredentials *azure_credentials_free(AzureCredentials *c) {
        if (!c)
                return NULL;
        if (c->key)
                explicit_bzero(c->key, c->key_size);
        free(c->key);
        free(c->account);
        free(c->sas);
        free(c);
        return NULL;
}

/* "Name=value" of a connection string ("A=1;B=2"), or NULL. */
static char *connection_string_get(const char *cs, const char *name) {
        size_t n = strlen(name);
        for (const char *p = cs; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
                if (strncasecmp(p, name, n) == 0 && p[n] == '=')
                        return xstrndup(p + n + 1, strcspn(p + n + 1, ";"));
        return NULL;
}

static int set_key(AzureCredentials *c, const char *key64) {
        log_add_secret(key64);
        if (base64_decode(key64, strlen(key64), &c->key, &c->key_size) < 0 || c->key_size == 0)
                return log_error_errno(-EINVAL, "Azure account '%s': the key in %s is not base64", c->account, c->source);
        return 0;
}

/* The SAS and, on its own, its signature as written and percent-decoded: a message that quotes
 * only the signature (a server's, a proxy's) shows no secret either. */
static void sas_add_secrets(const char *sas) {
        log_add_secret(sas);
        for (const char *p = sas; p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
                if (!startswith(p, "sig="))
                        continue;
                _cleanup_free_ char *sig = xstrndup(p + 4, strcspn(p + 4, "&"));
                _cleanup_free_ char *decoded = xmalloc(strlen(sig) + 1);
                char *o = decoded;
                for (const char *s = sig; *s; s++) {
                        unsigned x;
                        if (s[0] == '%' && isxdigit((unsigned char) s[1]) && isxdigit((unsigned char) s[2]) &&
                            sscanf(s + 1, "%2x", &x) == 1) {
                                *o++ = (char) x;
                                s += 2;
                        } else
                                *o++ = *s;
                }
                *o = 0;
                log_add_secret(sig);
                log_add_secret(decoded);
        }
}

int azure_credentials_load(const char *account, AzureCredentials **ret) {
        _cleanup_(azure_credentials_freep) AzureCredentials *c = xcalloc(1, sizeof(*c));
        c->account = xstrdup(account);
        const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING"), *key = getenv("AZURE_STORAGE_KEY");
        const char *sas = getenv("AZURE_STORAGE_SAS_TOKEN");
        int r;
        if (key && *key) {
                c->source = "AZURE_STORAGE_KEY";
                r = set_key(c, key);
                if (r < 0)
                        return r;
        } else if (cs && *cs) {
                c->source = "AZURE_STORAGE_CONNECTION_STRING";
                _cleanup_free_ char *name = connection_string_get(cs, "AccountName");
                _cleanup_free_ char *k = connection_string_get(cs, "AccountKey");
                c->sas = connection_string_get(cs, "SharedAccessSignature");
                if (c->sas)
                        sas_add_secrets(c->sas);
                if (name && !streq(name, account))
                        return log_error_errno(-ENOKEY, "Azure account '%s': %s is for account '%s'", account, c->source, name);
                if (k && (r = set_key(c, k)) < 0)
                        return r;
        } else if (sas && *sas) {
                c->source = "AZURE_STORAGE_SAS_TOKEN";
                c->sas = xstrdup(sas[0] == '?' ? sas + 1 : sas);
                sas_add_secrets(c->sas);
        }
        if (!c->key && !c->sas)
                return log_error_errno(-ENOKEY, "Azure account '%s': no credentials (set AZURE_STORAGE_KEY, "
                                       "AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_SAS_TOKEN)", account);
        *ret = TAKE_PTR(c);
        return 0;
}

static const char *header_value(const char *const *headers, const char *name) {
        size_t n = strlen(name);
        for (size_t i = 0; headers && headers[i]; i++)
                if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
                        return headers[i] + n + 1 + strspn(headers[i] + n + 1, " ");
        return NULL;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* x-ms-* headers, lower-cased, sorted, "name:value\n" each. */
static char *canonical_headers(const char *const *headers) {
        _cleanup_strv_free_ char **lines = NULL;
        size_t n = 0;
        for (size_t i = 0; headers && headers[i]; i++) {
                if (strncasecmp(headers[i], "x-ms-", 5) != 0)
                        continue;
                size_t nl = strcspn(headers[i], ":");
                char *line = xasprintf("%.*s:%s\n", (int) nl, headers[i], headers[i] + nl + 1 + strspn(headers[i] + nl + 1, " "));
                for (size_t k = 0; k < nl; k++)
                        line[k] = (char) tolower((unsigned char) line[k]);
                strv_push(&lines, &n, line);
        }
        if (n)
                qsort(lines, n, sizeof(char *), compare_strings);
        char *out = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *j = xasprintf("%s%s", out, lines[i]);
                free(out);
                out = j;
        }
        return out;
}

/* "/ACCOUNT/PATH" then "\nname:value" per query parameter, names lower-cased and sorted (baker's
 * queries hold no repeated names nor encoded characters that would need decoding). */
static char *canonical_resource(const char *account, const char *path, const char *query) {
        char *out = xasprintf("/%s%s", account, path);
        if (!query || !*query)
                return out;
        _cleanup_strv_free_ char **params = NULL;
        size_t n = 0;
        _cleanup_free_ char *q = xstrdup(query);
        for (char *save = NULL, *p = strtok_r(q, "&", &save); p; p = strtok_r(NULL, "&", &save)) {
                char *eq = strchr(p, '=');
                char *param = eq ? xasprintf("%.*s:%s", (int) (eq - p), p, eq + 1) : xasprintf("%s:", p);
                for (char *c = param; *c && *c != ':'; c++)
                        *c = (char) tolower((unsigned char) *c);
                strv_push(&params, &n, param);
        }
        qsort(params, n, sizeof(char *), compare_strings);
        for (size_t i = 0; i < n; i++) {
                char *j = xasprintf("%s\n%s", out, params[i]);
                free(out);
                out = j;
        }
        return out;
}

char *azure_string_to_sign(const AzureSignRequest *r, const char *account) {
        const char *const *h = r->headers;
        char length[32] = "";
        if (r->content_length > 0)
                snprintf(length, sizeof length, "%" PRIu64, r->content_length);
        _cleanup_free_ char *ch = canonical_headers(h), *cr = canonical_resource(account, r->path, r->query);
#define H(name) (header_value(h, name) ?: "")
        /* VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date (x-ms-date is used), If-Modified-Since,
         * If-Match, If-None-Match, If-Unmodified-Since, Range: one line each; then the headers and the resource */
        return xasprintf("%s\n%s\n%s\n%s\n%s\n%s\n\n%s\n%s\n%s\n%s\n%s\n%s%s", r->method, H("Content-Encoding"),
                         H("Content-Language"), length, H("Content-MD5"), H("Content-Type"), H("If-Modified-Since"),
                         H("If-Match"), H("If-None-Match"), H("If-Unmodified-Since"), H("Range"), ch, cr);
#undef H
}

char *azure_sign(const AzureSignRequest *r, const AzureCredentials *c) {
        _cleanup_free_ char *sts = azure_string_to_sign(r, c->account);
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        HMAC(EVP_sha256(), c->key, (int) c->key_size, (const uint8_t *) sts, strlen(sts), mac, &mac_len);
        _cleanup_free_ char *sig = base64_encode(mac, mac_len);
        return xasprintf("Authorization: SharedKey %s:%s", c->account, sig);
}
