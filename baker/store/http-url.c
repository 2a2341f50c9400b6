/* URLs as the security rules need them: origins, loopback hosts, hosts a user marked insecure.
 * Credentials follow curl's rule: they go only to the origin they were given for, and over plain
 * http only to a loopback host or one the user named insecure. */
#include <arpa/inet.h>
#include <ctype.h>
#include <strings.h>

#include "http.h"
#include "log.h"

static char **insecure_hosts;
static size_t n_insecure_hosts;

void http_add_insecure_host(const char *host) {
        insecure_hosts = xrealloc(insecure_hosts, (n_insecure_hosts + 1) * sizeof(char *));
        insecure_hosts[n_insecure_hosts++] = xstrdup(host);
}

void http_url_authority(const char *url, const char **ret_begin, const char **ret_end) {
        const char *p = strstr(url, "://");
        p = p ? p + 3 : url;
        *ret_begin = p;
        *ret_end = p + strcspn(p, "/?#");
}

char *http_url_display(const char *url) {
        if (!url)
                return xstrdup("(null)");
        const char *a, *e;
        http_url_authority(url, &a, &e);
        const char *at = memrchr(a, '@', e - a);
        if (!at)
                return xstrdup(url);
        return xasprintf("%.*s%s", (int) (a - url), url, at + 1);
}

/* "host:port" of the URL without userinfo; *ret_host_len is the length of the host part. */
static char *url_hostport(const char *url, size_t *ret_host_len) {
        const char *a, *e;
        http_url_authority(url, &a, &e);
        const char *at = memrchr(a, '@', e - a);
        if (at)
                a = at + 1;
        char *hostport = xstrndup(a, e - a);
        const char *colon = strrchr(hostport, ':');
        *ret_host_len = colon && !strchr(colon, ']') ? (size_t) (colon - hostport) : strlen(hostport);
        return hostport;
}

bool http_url_host_is_insecure(const char *url) {
        if (n_insecure_hosts == 0)
                return false;
        size_t host_len;
        _cleanup_free_ char *hostport = url_hostport(url, &host_len);
        for (size_t i = 0; i < n_insecure_hosts; i++) {
                const char *h = insecure_hosts[i];
                if (strcasecmp(h, hostport) == 0)
                        return true;
                if (!strchr(h, ':') && strlen(h) == host_len && strncasecmp(h, hostport, host_len) == 0)
                        return true;
        }
        return false;
}

bool http_host_is_loopback(const char *hostport) {
        if (!hostport)
                return false;
        _cleanup_free_ char *host = NULL;
        if (hostport[0] == '[') {
                const char *end = strchr(hostport, ']');
                if (!end || (end[1] && end[1] != ':'))
                        return false;
                host = xstrndup(hostport + 1, end - hostport - 1);
        } else {
                const char *colon = strchr(hostport, ':');
                /* more than one colon: a bare IPv6 address, no port */
                host = colon && !strchr(colon + 1, ':') ? xstrndup(hostport, colon - hostport) : xstrdup(hostport);
        }
        if (strcasecmp(host, "localhost") == 0)
                return true;
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) == 1)
                return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
        return false;
}

char *http_url_origin(const char *url) {
        if (!url)
                return NULL;
        const char *sep = strstr(url, "://");
        if (!sep)
                return NULL;
        _cleanup_free_ char *scheme = xstrndup(url, sep - url);
        for (char *c = scheme; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        size_t host_len;
        _cleanup_free_ char *hostport = url_hostport(url, &host_len);
        for (char *c = hostport; *c; c++)
                *c = (char) tolower((unsigned char) *c);
        const char *port = hostport[host_len] == ':' ? hostport + host_len + 1 : "";
        if (!*port)
                port = streq(scheme, "https") ? "443" : streq(scheme, "http") ? "80" : "";
        return xasprintf("%s://%.*s:%s", scheme, (int) host_len, hostport, port);
}

bool http_url_same_origin(const char *a, const char *b) {
        _cleanup_free_ char *oa = http_url_origin(a), *ob = http_url_origin(b);
        return oa && ob && streq(oa, ob);
}

bool http_url_credentials_ok(const char *url) {
        _cleanup_free_ char *origin = http_url_origin(url);
        if (!origin)
                return false;
        if (startswith(origin, "https://"))
                return true;
        if (!startswith(origin, "http://"))
                return false;
        size_t host_len;
        _cleanup_free_ char *hostport = url_hostport(url, &host_len);
        return http_host_is_loopback(hostport) || http_url_host_is_insecure(url);
}
