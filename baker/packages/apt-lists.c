/* Skipping `apt-get update` when the archive has not moved; see apt-lists.h. */
#include "apt-lists.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include "digest.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "strv.h"
#include "time-util.h"

#define STAMP_NAME "lists-verified"
#define RESOLVED_DIR "resolved"
/* Debian's main InRelease is ~150 KB; no honest one comes near this. */
#define INRELEASE_MAX ((size_t) 16 << 20)

char *apt_inrelease_url(const AptSource *s) {
        if (!startswith(s->uri, "http://") && !startswith(s->uri, "https://"))
                return NULL;
        const char *sep = endswith(s->uri, "/") ? "" : "/";
        if (endswith(s->suite, "/")) {
                const char *suite = streq(s->suite, "./") || streq(s->suite, "/") ? "" : s->suite;
                return xasprintf("%s%s%sInRelease", s->uri, sep, suite);
        }
        return xasprintf("%s%sdists/%s/InRelease", s->uri, sep, s->suite);
}

/* A Release file's date ("Sat, 05 Dec 2026 02:53:00 UTC", or with "+0000", "-0130", "GMT"):
 * RFC 2822 as apt writes and reads it. */
static int release_date_parse(const char *s, int64_t *ret) {
        const char *zone = strrchr(s, ' ');
        if (!zone)
                return -EINVAL;
        zone++;
        int64_t offset = 0;
        if (zone[0] == '+' || zone[0] == '-') {
                if (strlen(zone) != 5 || strspn(zone + 1, "0123456789") != 4)
                        return -EINVAL;
                int hhmm = atoi(zone + 1);
                offset = (zone[0] == '-' ? -1 : 1) * ((hhmm / 100) * 3600 + (hhmm % 100) * 60);
        } else if (!streq(zone, "UTC") && !streq(zone, "GMT"))
                return -EINVAL;
        _cleanup_free_ char *gmt = xasprintf("%.*s GMT", (int) (zone - 1 - s), s);
        int64_t t;
        int r = http_date_parse(gmt, &t);
        if (r < 0)
                return r;
        *ret = t - offset;
        return 0;
}

bool apt_release_expired(const char *text, size_t size, int64_t now) {
        static const char field[] = "\nValid-Until:";
        const char *f = memmem(text, size, field, strlen(field));
        if (!f)
                return false;
        f += strlen(field);
        const char *end = memchr(f, '\n', (size_t) (text + size - f));
        _cleanup_free_ char *value = xstrndup(f, end ? (size_t) (end - f) : (size_t) (text + size - f));
        const char *v = value + strspn(value, " \t");
        int64_t until;
        return release_date_parse(v, &until) < 0 || until <= now;
}

typedef struct Probe {
        char *url;
        char hex[DIGEST_HEX_SIZE + 1]; /* the body's digest; "" when it could not be fetched or is expired */
} Probe;

static void *probe_run(void *userdata) {
        Probe *p = userdata;
        HttpRequest req = { .url = p->url, .max_body = INRELEASE_MAX, .max_attempts = 1,
                            .flags = HTTP_FOLLOW_REDIRECTS | HTTP_QUIET };
        _cleanup_(http_response_freep) HttpResponse *resp = NULL;
        if (http_request(&req, &resp) < 0 || http_response_status(resp) != 200)
                return NULL;
        size_t size;
        const char *body = http_response_body(resp, &size);
        if (apt_release_expired(body, size, time(NULL)))
                return NULL;
        uint8_t d[DIGEST_SIZE];
        digest_buffer(body, size, d);
        digest_to_hex(d, p->hex);
        return NULL;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The digests the stamp covers, in an order that does not depend on where they came from. */
static bool stamp_of(AptRoot *root, const AptSource *s, size_t n, char **inrelease, size_t n_inrelease,
                     char ret[DIGEST_HEX_SIZE + 1]) {
        qsort(inrelease, n_inrelease, sizeof(char *), compare_strings);
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker-apt-lists-v1\n");
        _cleanup_free_ char *sources = path_join(root->dir, "etc/apt/sources.list.d/baker.sources");
        uint8_t f[DIGEST_SIZE];
        char hex[DIGEST_HEX_SIZE + 1];
        for (size_t i = 0; i <= n; i++) {
                if (digest_file(i == 0 ? sources : s[i - 1].key, f, NULL) < 0)
                        return false;
                digest_to_hex(f, hex);
                digest_update_string(d, hex);
        }
        for (size_t i = 0; i < n_inrelease; i++)
                digest_update_string(d, inrelease[i]);
        digest_final(d, f);
        digest_to_hex(f, ret);
        return true;
}

/* The distinct InRelease URLs of the sources; NULL when one cannot be fetched by baker. */
static char **inrelease_urls(const AptSource *s, size_t n, size_t *ret_n) {
        char **urls = NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                char *u = apt_inrelease_url(&s[i]);
                if (!u) {
                        strv_free(urls);
                        return NULL;
                }
                if (urls && strv_contains((const char *const *) urls, u))
                        free(u);
                else
                        strv_push(&urls, &k, u);
        }
        *ret_n = k;
        return urls;
}

static char *stamp_path(AptRoot *root) {
        return path_join(root->dir, STAMP_NAME);
}

bool apt_lists_current(AptRoot *root, const AptSource *s, size_t n) {
        _cleanup_free_ char *path = stamp_path(root), *stamp = NULL;
        size_t size, k = 0;
        if (root->scratch || read_full_file(path, &stamp, &size) < 0 || size != DIGEST_HEX_SIZE)
                return false;
        char **urls = inrelease_urls(s, n, &k);
        if (!urls || k == 0) {
                strv_free(urls);
                return false;
        }
        Probe *probes = xcalloc(k, sizeof(Probe));
        pthread_t *threads = xcalloc(k, sizeof(pthread_t));
        bool *started = xcalloc(k, sizeof(bool));
        for (size_t i = 0; i < k; i++)
                http_url_register_secret(urls[i]); /* before the threads: see http.h */
        for (size_t i = 0; i < k; i++) {
                probes[i].url = urls[i];
                started[i] = pthread_create(&threads[i], NULL, probe_run, &probes[i]) == 0;
                if (!started[i])
                        probe_run(&probes[i]);
        }
        char **digests = xcalloc(k, sizeof(char *));
        bool all = true;
        for (size_t i = 0; i < k; i++) {
                if (started[i])
                        pthread_join(threads[i], NULL);
                all = all && probes[i].hex[0];
                digests[i] = probes[i].hex;
        }
        char now[DIGEST_HEX_SIZE + 1];
        bool current = all && stamp_of(root, s, n, digests, k, now) && memcmp(now, stamp, DIGEST_HEX_SIZE) == 0;
        log_debug("apt lists in '%s': %s", root->dir, current ? "current, no update needed" : "to be updated");
        free(digests);
        free(started);
        free(threads);
        free(probes);
        strv_free(urls);
        return current;
}

/* The digests of the InRelease files apt kept in the lists directory. */
static char **kept_inrelease(AptRoot *root, size_t *ret_n) {
        _cleanup_free_ char *lists = path_join(root->dir, "var/lib/apt/lists");
        DIR *dir = opendir(lists);
        if (!dir)
                return NULL;
        char **digests = xcalloc(1, sizeof(char *));
        size_t n = 0;
        for (struct dirent *de; (de = readdir(dir));) {
                if (!endswith(de->d_name, "_InRelease"))
                        continue;
                _cleanup_free_ char *p = path_join(lists, de->d_name);
                uint8_t d[DIGEST_SIZE];
                char hex[DIGEST_HEX_SIZE + 1];
                if (digest_file(p, d, NULL) < 0) {
                        closedir(dir);
                        return strv_free(digests);
                }
                digest_to_hex(d, hex);
                strv_push(&digests, &n, xstrdup(hex));
        }
        closedir(dir);
        *ret_n = n;
        return digests;
}

void apt_lists_mark_verified(AptRoot *root, const AptSource *s, size_t n) {
        if (root->scratch)
                return;
        size_t k = 0, kept = 0;
        char **urls = inrelease_urls(s, n, &k);
        char **digests = urls ? kept_inrelease(root, &kept) : NULL;
        char stamp[DIGEST_HEX_SIZE + 1];
        _cleanup_free_ char *path = stamp_path(root);
        if (digests && kept == k && stamp_of(root, s, n, digests, kept, stamp))
                (void) write_file_atomic(path, stamp, DIGEST_HEX_SIZE, 0644);
        strv_free(digests);
        strv_free(urls);
}

void apt_lists_forget(AptRoot *root) {
        _cleanup_free_ char *path = stamp_path(root), *resolved = path_join(root->dir, RESOLVED_DIR);
        (void) unlink(path);
        (void) rm_rf(resolved);
}

/* The installed apt-get, by its file's stamps: an upgrade of apt (whose solver may choose
 * differently) replaces the file. NULL when it is not found. */
static char *apt_identity(void) {
        const char *path = getenv("PATH");
        for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *dir = xstrndup(p, n), *tool = path_join(*dir ? dir : ".", "apt-get");
                struct stat st;
                if (stat(tool, &st) == 0 && S_ISREG(st.st_mode))
                        return xasprintf("%s %ju:%ju:%jd:%jd.%09ld:%jd.%09ld", tool, (uintmax_t) st.st_dev,
                                         (uintmax_t) st.st_ino, (intmax_t) st.st_size, (intmax_t) st.st_mtim.tv_sec,
                                         st.st_mtim.tv_nsec, (intmax_t) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
                p += n;
                if (*p)
                        p++;
        }
        return NULL;
}

/* "ROOT/resolved/HEX.lock" for key, or NULL without a stamp or an apt. */
static char *recall_path(AptRoot *root, const char *key) {
        _cleanup_free_ char *stamp_file = stamp_path(root), *stamp = NULL, *apt = apt_identity();
        size_t size;
        if (root->scratch || !apt || read_full_file(stamp_file, &stamp, &size) < 0)
                return NULL;
        _cleanup_free_ char *material = xasprintf("baker-apt-resolved-v1\n%s\n%s\n%s", stamp, apt, key);
        uint8_t d[DIGEST_SIZE];
        char hex[DIGEST_HEX_SIZE + 1];
        digest_buffer(material, strlen(material), d);
        digest_to_hex(d, hex);
        return xasprintf("%s/" RESOLVED_DIR "/%s.lock", root->dir, hex);
}

bool apt_lists_recall(AptRoot *root, const char *key, DebPackageSet *ret) {
        _cleanup_free_ char *path = recall_path(root, key);
        _cleanup_(lock_freep) Lock *memo = NULL;
        if (!path || lock_load(path, &memo) < 0)
                return false;
        const LockInput *in = lock_find(memo, "resolved");
        if (!in)
                return false;
        *ret = (DebPackageSet) {};
        for (size_t i = 0; i < in->packages.n; i++)
                deb_package_set_add(ret, &in->packages.packages[i]);
        return true;
}

void apt_lists_remember(AptRoot *root, const char *key, const DebPackageSet *set) {
        _cleanup_free_ char *path = recall_path(root, key);
        if (!path)
                return;
        _cleanup_free_ char *dir = path_join(root->dir, RESOLVED_DIR);
        _cleanup_(lock_freep) Lock *memo = lock_new();
        lock_set(memo, "resolved", "{}", set);
        if (mkdir_p(dir, 0755) >= 0)
                (void) lock_save(memo, path);
}
