/* AWS Signature Version 4 (see s3-sigv4.h), following AWS's "Signature Version 4 signing process"
 * documentation step by step: canonical request, string to sign, derived key, signature. */
#include "s3-sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#include "digest.h"
#include "strv.h"

S3Credentials *s3_credentials_free(S3Credentials *c) {
        if (!c)
                return NULL;
        /* The secret does not linger in freed memory. */
        if (c->secret_access_key)
                explicit_bzero(c->secret_access_key, strlen(c->secret_access_key));
        if (c->session_token)
                explicit_bzero(c->session_token, strlen(c->session_token));
        free(c->access_key_id);
        free(c->secret_access_key);
        free(c->session_token);
        free(c->source);
        free(c);
        return NULL;
}

static bool unreserved(unsigned char c) {
        return isascii(c) && (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~');
}

char *s3_uri_encode(const char *s, bool keep_slash) {
        char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (unreserved(*p) || (keep_slash && *p == '/'))
                        *o++ = (char) *p;
                else
                        o += sprintf(o, "%%%02X", *p);
        *o = 0;
        return out;
}

/* Decodes %XX (and leaves a malformed '%' as it is): the query arrives as sent, its canonical form
 * re-encodes every name and value the one strict way. */
static char *uri_decode(const char *s, size_t n) {
        char *out = xmalloc(n + 1), *o = out;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;
                if (s[i] == '%' && i + 2 < n && (hi = unhexchar(s[i + 1])) >= 0 &&
                    (lo = unhexchar(s[i + 2])) >= 0) {
                        *o++ = (char) (hi << 4 | lo);
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

static int cmp_param(const void *a, const void *b) {
        /* "name=value" with both parts encoded: byte order of the name first, then of the value. */
        const char *x = *(const char *const *) a, *y = *(const char *const *) b;
        size_t nx = strcspn(x, "="), ny = strcspn(y, "=");
        int c = strncmp(x, y, nx < ny ? nx : ny);
        if (c != 0)
                return c;
        if (nx != ny)
                return nx < ny ? -1 : 1;
        return strcmp(x + nx, y + ny);
}

static char *canonical_query(const char *query) {
        char **params = NULL;
        size_t n = 0;
        for (const char *p = query ?: ""; *p;) {
                size_t len = strcspn(p, "&");
                if (len > 0) {
                        size_t nlen = strcspn(p, "=");
                        if (nlen > len)
                                nlen = len;
                        _cleanup_free_ char *name = uri_decode(p, nlen);
                        _cleanup_free_ char *value = nlen < len ? uri_decode(p + nlen + 1, len - nlen - 1) : xstrdup("");
                        _cleanup_free_ char *en = s3_uri_encode(name, false), *ev = s3_uri_encode(value, false);
                        strv_push(&params, &n, xasprintf("%s=%s", en, ev));
                }
                p += len;
                if (*p == '&')
                        p++;
        }
        if (n > 0)
                qsort(params, n, sizeof(char *), cmp_param);
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i > 0 ? "&" : "", params[i]);
        fclose(f);
        strv_free(params);
        return buf;
}

/* "name:value" with the name lower-cased and the value trimmed, inner runs of spaces folded. */
static char *canonical_header(const char *h) {
        const char *colon = strchr(h, ':');
        if (!colon)
                return NULL;
        char *out = xmalloc(strlen(h) + 1), *o = out;
        for (const char *p = h; p < colon; p++)
                *o++ = (char) tolower((unsigned char) *p);
        *o++ = ':';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
                v++;
        bool space = false;
        for (; *v; v++) {
                if (*v == ' ' || *v == '\t') {
                        space = true;
                        continue;
                }
                if (space)
                        *o++ = ' ';
                space = false;
                *o++ = *v;
        }
        *o = 0;
        return out;
}

static int cmp_header(const void *a, const void *b) {
        const char *x = *(const char *const *) a, *y = *(const char *const *) b;
        size_t nx = strcspn(x, ":"), ny = strcspn(y, ":");
        int c = strncmp(x, y, nx < ny ? nx : ny);
        return c != 0 ? c : nx != ny ? (nx < ny ? -1 : 1) : 0;
}

/* All headers signed, canonical and sorted (stable for repeated names: qsort is not, so the
 * original index breaks ties). */
static char **collect_headers(const SigV4Request *req, const char *amz_date, const char *session_token,
                              size_t *ret_n) {
        char **l = NULL;
        size_t n = 0;
        _cleanup_free_ char *host = xasprintf("host:%s", req->host);
        _cleanup_free_ char *date = xasprintf("x-amz-date:%s", amz_date);
        _cleanup_free_ char *sha = xasprintf("x-amz-content-sha256:%s", req->payload_sha256);
        strv_push(&l, &n, canonical_header(host));
        strv_push(&l, &n, canonical_header(date));
        strv_push(&l, &n, canonical_header(sha));
        if (session_token) {
                _cleanup_free_ char *t = xasprintf("x-amz-security-token:%s", session_token);
                strv_push(&l, &n, canonical_header(t));
        }
        for (size_t i = 0; req->headers && req->headers[i]; i++) {
                char *c = canonical_header(req->headers[i]);
                if (c)
                        strv_push(&l, &n, c);
        }
        /* Insertion sort: stable, and the lists are short. */
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && cmp_header(&l[j - 1], &l[j]) > 0; j--) {
                        char *t = l[j];
                        l[j] = l[j - 1];
                        l[j - 1] = t;
                }
        *ret_n = n;
        return l;
}

char *sigv4_canonical_request(const SigV4Request *req, const char *amz_date, const char *session_token,
                              char **ret_signed_headers) {
        size_t n;
        char **headers = collect_headers(req, amz_date, session_token, &n);
        _cleanup_free_ char *query = canonical_query(req->query);
        char *buf = NULL, *sbuf = NULL;
        size_t size = 0, ssize = 0;
        FILE *f = open_memstream(&buf, &size), *s = open_memstream(&sbuf, &ssize);

        fprintf(f, "%s\n%s\n%s\n", req->method, req->path && *req->path ? req->path : "/", query);
        for (size_t i = 0; i < n; i++) {
                size_t nl = strcspn(headers[i], ":");
                bool same_as_next = i + 1 < n && cmp_header(&headers[i], &headers[i + 1]) == 0;
                bool same_as_prev = i > 0 && cmp_header(&headers[i - 1], &headers[i]) == 0;
                if (!same_as_prev) {
                        fprintf(f, "%.*s:", (int) nl, headers[i]);
                        fprintf(s, "%s%.*s", ftell(s) > 0 ? ";" : "", (int) nl, headers[i]);
                }
                fprintf(f, "%s%s", headers[i] + nl + 1, same_as_next ? "," : "\n");
        }
        fclose(s);
        fprintf(f, "\n%s\n%s", sbuf, req->payload_sha256);
        fclose(f);
        strv_free(headers);
        *ret_signed_headers = sbuf;
        return buf;
}

static void hmac(const void *key, size_t key_size, const char *msg, uint8_t ret[DIGEST_SIZE]) {
        unsigned len = DIGEST_SIZE;
        HMAC(EVP_sha256(), key, (int) key_size, (const unsigned char *) msg, strlen(msg), ret, &len);
}

int sigv4_sign(const SigV4Request *req, const S3Credentials *creds, char ***ret_headers) {
        char amz_date[17], day[9];
        struct tm tm;
        if (!gmtime_r(&req->when, &tm) || strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm) == 0)
                return -EINVAL;
        memcpy(day, amz_date, 8);
        day[8] = 0;

        _cleanup_free_ char *signed_headers = NULL;
        _cleanup_free_ char *creq = sigv4_canonical_request(req, amz_date, creds->session_token, &signed_headers);
        uint8_t d[DIGEST_SIZE];
        char hex[DIGEST_HEX_SIZE + 1];
        digest_buffer(creq, strlen(creq), d);
        digest_to_hex(d, hex);
        _cleanup_free_ char *scope = xasprintf("%s/%s/%s/aws4_request", day, req->region, req->service);
        _cleanup_free_ char *to_sign = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hex);

        /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request") */
        size_t klen = strlen(creds->secret_access_key) + 4;
        _cleanup_free_ char *k0 = xasprintf("AWS4%s", creds->secret_access_key);
        uint8_t k[DIGEST_SIZE], sig[DIGEST_SIZE];
        hmac(k0, klen, day, k);
        explicit_bzero(k0, klen);
        hmac(k, sizeof(k), req->region, k);
        hmac(k, sizeof(k), req->service, k);
        hmac(k, sizeof(k), "aws4_request", k);
        hmac(k, sizeof(k), to_sign, sig);
        explicit_bzero(k, sizeof(k));
        digest_to_hex(sig, hex);

        char **l = NULL;
        size_t n = 0;
        strv_push(&l, &n,
                  xasprintf("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                            creds->access_key_id, scope, signed_headers, hex));
        strv_push(&l, &n, xasprintf("x-amz-date: %s", amz_date));
        strv_push(&l, &n, xasprintf("x-amz-content-sha256: %s", req->payload_sha256));
        if (creds->session_token)
                strv_push(&l, &n, xasprintf("x-amz-security-token: %s", creds->session_token));
        *ret_headers = l;
        return 0;
}
