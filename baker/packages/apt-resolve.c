/* Resolving a `debian` input with apt in a private root; see apt-resolve.h. */
#include "apt-resolve.h"

#include "apt-lists.h"
#include "apt-root.h"
#include "control.h"
#include "log.h"
#include "process.h"
#include "strv.h"

const char *const *debian_variant_patterns(DebianVariant v) {
        static const char *const required[] = { "?essential", "?priority(required)", "apt", NULL };
        static const char *const important[] = { "?essential", "?priority(required)", "?priority(important)", "apt",
                                                 NULL };
        static const char *const standard[] = { "?essential",           "?priority(required)", "?priority(important)",
                                                "?priority(standard)",  "apt",                 NULL };
        switch (v) {
        case DEBIAN_VARIANT_MINBASE:
        case DEBIAN_VARIANT_REQUIRED:
                return required;
        case DEBIAN_VARIANT_IMPORTANT:
                return important;
        case DEBIAN_VARIANT_STANDARD:
                return standard;
        default:
                return NULL;
        }
}

/* The lines of apt's output that start with prefix ("E: ", "W: "), joined by "; ". NULL if none. */
static char *lines_with(const char *out, const char *prefix) {
        char *joined = NULL;
        for (const char *p = out; p && *p;) {
                size_t n = strcspn(p, "\n");
                if (strncmp(p, prefix, strlen(prefix)) == 0) {
                        char *j = xasprintf("%s%s%.*s", joined ? joined : "", joined ? "; " : "",
                                            (int) (n - strlen(prefix)), p + strlen(prefix));
                        free(joined);
                        joined = j;
                }
                p += n;
                if (*p)
                        p++;
        }
        return joined;
}

/* apt's "GPG error: URI SUITE FILE: why" names the repository; turn it into the file's URL. */
static char *release_file_url(const char *out) {
        const char *g = strstr(out, "GPG error: ");
        if (!g)
                g = strstr(out, "The repository '");
        if (!g)
                return NULL;
        g = strchr(g, ' ') + 1;
        if (*g == 'e' || *g == 'r') /* "error: " / "repository '" */
                g = strchr(g, *g == 'e' ? ' ' : '\'') + 1;
        char uri[1024], suite[256], file[256];
        if (sscanf(g, "%1023s %255s %255[A-Za-z]", uri, suite, file) != 3)
                return NULL;
        if (streq(suite, "./") || streq(suite, "/"))
                return xasprintf("%s/%s", uri, file);
        return xasprintf("%s/dists/%s/%s", uri, suite, file);
}

static bool has(const char *out, const char *what) {
        return strstr(out, what) != NULL;
}

static int update(AptRoot *root, const char *what) {
        char *argv[] = { (char *) "apt-get", (char *) "update", (char *) "-q", NULL };
        _cleanup_free_ char *out = NULL;
        int r = apt_root_run(root, argv, &out);
        if (r < 0)
                return log_error_errno(r, "%s: failed to run apt-get: %m", what);
        _cleanup_free_ char *errors = lines_with(out, "E: "), *warnings = lines_with(out, "W: ");
        const char *text = errors ? errors : warnings ? warnings : process_last_lines(out, 3);
        if (warnings && strstr(warnings, "GPG error"))
                text = warnings; /* names the key and why, where the error only says "not signed" */
        if (has(out, "GPG error") || has(out, "is not signed") || has(out, "NO_PUBKEY") || has(out, "BADSIG") ||
            has(out, "EXPKEYSIG") || has(out, "signatures were invalid") || has(out, "not signed")) {
                _cleanup_free_ char *file = release_file_url(out);
                return log_error_errno(-EBADMSG, "%s: release file '%s' failed its signature check: %s", what,
                                       file ? file : "?", text);
        }
        if (has(out, "Hash Sum mismatch") || has(out, "unexpected size"))
                return log_error_errno(-EBADMSG, "%s: an index failed its hash check: %s", what, text);
        if (r != 0 || errors || has(out, "Failed to fetch") || has(out, "Could not connect") ||
            has(out, "Could not resolve") || has(out, "Temporary failure"))
                return log_error_errno(-EHOSTUNREACH, "%s: apt-get update failed: %s", what, text);
        return 0;
}

/* A kept root whose archive has not moved keeps its verified lists; see apt-lists.h. */
static int update_unless_current(AptRoot *root, const AptSource *sources, size_t n, const char *what,
                                 bool *ret_current) {
        *ret_current = apt_lists_current(root, sources, n);
        if (*ret_current) {
                log_info("%s: the archive's indexes are unchanged", what);
                return 0;
        }
        apt_lists_forget(root);
        int r = update(root, what);
        if (r >= 0)
                apt_lists_mark_verified(root, sources, n);
        return r;
}

#define SUGGEST_MAX_DISTANCE 3

static unsigned edit_distance(const char *a, const char *b) {
        size_t n = strlen(a), m = strlen(b);
        if (n > 64 || m > 64)
                return 100;
        unsigned row[65];
        for (size_t j = 0; j <= m; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= n; i++) {
                unsigned prev = row[0];
                row[0] = (unsigned) i;
                for (size_t j = 1; j <= m; j++) {
                        unsigned cur = row[j];
                        unsigned sub = prev + (a[i - 1] != b[j - 1]);
                        row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), sub);
                        prev = cur;
                }
        }
        return row[m];
}

static char *suggestion(AptRoot *root, const char *name) {
        size_t n;
        char **names = apt_root_package_names(root, &n);
        const char *best = NULL;
        unsigned best_d = SUGGEST_MAX_DISTANCE + 1;
        for (size_t i = 0; i < n; i++) {
                unsigned d = edit_distance(name, names[i]);
                if (d < best_d)
                        best = names[i], best_d = d;
        }
        char *r = best && best_d <= MAX(1u, strlen(name) / 3) ? xstrdup(best) : NULL;
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

static int explain_install_failure(AptRoot *root, const char *out, const char *what) {
        const char *u = strstr(out, "E: Unable to locate package ");
        if (u) {
                u += strlen("E: Unable to locate package ");
                _cleanup_free_ char *name = xstrndup(u, strcspn(u, "\n"));
                _cleanup_free_ char *s = suggestion(root, name);
                if (s)
                        return log_error_errno(-ENOENT, "%s: unknown package '%s', did you mean '%s'?", what, name, s);
                return log_error_errno(-ENOENT, "%s: unknown package '%s'", what, name);
        }
        const char *v = strstr(out, "E: Version '");
        if (v)
                return log_error_errno(-ENOENT, "%s: %.*s", what, (int) strcspn(v + 3, "\n"), v + 3);
        const char *unmet = strstr(out, "The following packages have unmet dependencies:");
        if (unmet) {
                _cleanup_free_ char *text = xstrdup(unmet);
                return log_error_errno(-ENXIO, "%s: the packages cannot be installed together; apt says:\n%s", what,
                                       text);
        }
        return log_error_errno(-ENXIO, "%s: apt-get cannot resolve the package set: %s", what,
                               process_last_lines(out, 6));
}

typedef struct Chosen {
        char *name, *version, *arch;
} Chosen;

static void chosen_free(Chosen *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(c[i].name);
                free(c[i].version);
                free(c[i].arch);
        }
        free(c);
}

static char **install_argv(const DebianRequest *req, const char *mode) {
        const char *const *patterns = debian_variant_patterns(req->variant);
        size_t np = 0;
        while (patterns[np])
                np++;
        char **argv = xcalloc(np + req->n_packages + 6, sizeof(char *));
        size_t k = 0;
        argv[k++] = (char *) "apt-get";
        argv[k++] = (char *) mode;
        argv[k++] = (char *) "-q";
        argv[k++] = (char *) "install";
        for (size_t i = 0; i < np; i++)
                argv[k++] = (char *) patterns[i];
        for (size_t i = 0; i < req->n_packages; i++)
                argv[k++] = req->packages[i];
        return argv;
}

static char *percent_decode(const char *s, size_t n) {
        char *d = xmalloc(n + 1);
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned v;
                if (s[i] == '%' && i + 2 < n + 0 + 1 && sscanf(s + i + 1, "%2x", &v) == 1) {
                        d[k++] = (char) v;
                        i += 2;
                } else
                        d[k++] = s[i];
        }
        d[k] = 0;
        return d;
}

/* The package a download is: apt names the file NAME_VERSION_ARCH.deb, the epoch's colon written
 * %3a (neither names nor versions may hold '_'). A foreign architecture's package is NAME:ARCH. */
static int chosen_from_file(const char *file, size_t len, const char *native, Chosen *ret) {
        _cleanup_free_ char *f = percent_decode(file, len);
        char *first = strchr(f, '_'), *last = strrchr(f, '_');
        if (!endswith(f, ".deb") || !first || first == last || first == f)
                return -EBADMSG;
        f[strlen(f) - strlen(".deb")] = 0;
        *first = *last = 0;
        const char *arch = last + 1;
        bool foreign = !streq(arch, "all") && !streq(arch, native);
        *ret = (Chosen) {
                .name = foreign ? xasprintf("%s:%s", f, arch) : xstrdup(f),
                .version = xstrdup(first + 1),
                .arch = xstrdup(arch),
        };
        return 0;
}

/* "'URI' FILE SIZE [HASH]" lines: the URIs (decoded) and the packages they are. One apt run gives
 * both the plan and where each package comes from. */
static int parse_uris(const char *out, const char *native, char ***ret_uris, Chosen **ret_chosen, size_t *ret_n) {
        char **uris = xcalloc(1, sizeof(char *));
        Chosen *c = NULL;
        size_t n = 0;
        for (const char *p = out; p && *p;) {
                size_t len = strcspn(p, "\n");
                const char *q = len > 2 && p[0] == '\'' ? memchr(p + 1, '\'', len - 1) : NULL;
                if (q) {
                        const char *file = q + 1 + strspn(q + 1, " ");
                        c = xrealloc(c, (n + 1) * sizeof(Chosen));
                        if (chosen_from_file(file, strcspn(file, " \n"), native, c + n) < 0) {
                                chosen_free(c, n);
                                strv_free(uris);
                                return -EBADMSG;
                        }
                        uris = xrealloc(uris, (n + 2) * sizeof(char *));
                        uris[n++] = percent_decode(p + 1, (size_t) (q - p - 1));
                        uris[n] = NULL;
                }
                p += len;
                if (*p)
                        p++;
        }
        *ret_uris = uris;
        *ret_chosen = c;
        *ret_n = n;
        return 0;
}

static char *repository_of(char *const *uris, size_t n, const char *filename) {
        _cleanup_free_ char *suffix = xasprintf("/%s", filename);
        for (size_t i = 0; i < n; i++)
                if (endswith(uris[i], suffix))
                        return xstrndup(uris[i], strlen(uris[i]) - strlen(suffix));
        return NULL;
}

static int record_to_package(const ControlParagraph *p, char *const *uris, size_t n_uris, DebPackage *ret) {
        const char *sha = control_get(p, "SHA256"), *size = control_get(p, "Size");
        const char *filename = control_get(p, "Filename");
        DebPackage pkg = {
                .name = xstrdup(control_get(p, "Package")),
                .version = xstrdup(control_get(p, "Version")),
                .architecture = xstrdup(control_get(p, "Architecture")),
                .filename = filename ? xstrdup(filename) : NULL,
        };
        deb_package_set_source(&pkg, control_get(p, "Source"));
        if (!sha || digest_from_string(sha, pkg.sha256) < 0 || !size || !filename) {
                deb_package_done(&pkg);
                return -EBADMSG;
        }
        pkg.has_sha256 = true;
        pkg.size = strtoull(size, NULL, 10);
        pkg.repository = repository_of(uris, n_uris, filename);
        *ret = pkg;
        return 0;
}

/* apt-cache show NAME=VERSION for every chosen package: one record each, matched to its URI. */
static int show_records(AptRoot *root, const Chosen *c, size_t n, char *const *uris, size_t n_uris, const char *what,
                        DebPackageSet *ret) {
        char **argv = xcalloc(n + 4, sizeof(char *));
        argv[0] = (char *) "apt-cache";
        argv[1] = (char *) "show";
        argv[2] = (char *) "--no-all-versions";
        for (size_t i = 0; i < n; i++)
                argv[3 + i] = xasprintf("%s=%s", c[i].name, c[i].version);
        _cleanup_free_ char *out = NULL;
        int r = apt_root_run(root, argv, &out);
        for (size_t i = 0; i < n; i++)
                free(argv[3 + i]);
        free(argv);
        if (r != 0)
                return log_error_errno(r < 0 ? r : -EPROTO, "%s: apt-cache show failed: %s", what,
                                       out ? process_last_lines(out, 3) : "");
        _cleanup_(control_file_freep) ControlFile *f = NULL;
        if (control_parse(out, strlen(out), &f, NULL) < 0)
                return log_error_errno(-EBADMSG, "%s: cannot parse apt-cache's output", what);
        DebPackageSet set = {};
        for (size_t i = 0; i < f->n_paragraphs; i++) {
                const char *name = control_get(&f->paragraphs[i], "Package");
                if (!name || deb_package_set_find(&set, name))
                        continue;
                DebPackage pkg;
                if (record_to_package(&f->paragraphs[i], uris, n_uris, &pkg) < 0) {
                        deb_package_set_done(&set);
                        return log_error_errno(-EBADMSG, "%s: the index has no sha256, size or file for '%s'", what, name);
                }
                deb_package_set_add(&set, &pkg);
                deb_package_done(&pkg);
        }
        for (size_t i = 0; i < n; i++) {
                const char *base = c[i].name;
                _cleanup_free_ char *plain = xstrndup(base, strcspn(base, ":"));
                const DebPackage *p = deb_package_set_find(&set, plain);
                if (!p || !streq(p->version, c[i].version) || !p->repository) {
                        deb_package_set_done(&set);
                        return log_error_errno(-EBADMSG, "%s: apt chose '%s' %s but its index record or URI is missing",
                                               what, c[i].name, c[i].version);
                }
        }
        (void) deb_package_set_sort(&set);
        *ret = set;
        return 0;
}

/* apt's own root has no package installed and no .deb in its archive folder, so --print-uris
 * lists every package of the set. */
static int resolve_with_apt(AptRoot *root, char **uri_argv, const char *arch, const char *what, DebPackageSet *ret) {
        _cleanup_free_ char *out = NULL;
        int r = apt_root_run(root, uri_argv, &out);
        if (r < 0)
                return log_error_errno(r, "%s: failed to run apt-get: %m", what);
        if (r != 0)
                return explain_install_failure(root, out, what);
        Chosen *chosen = NULL;
        char **uris = NULL;
        size_t n = 0;
        int k = parse_uris(out, arch, &uris, &chosen, &n);
        if (k >= 0 && n == 0) {
                strv_free(uris);
                k = -EBADMSG;
        }
        if (k < 0)
                return log_error_errno(-EBADMSG, "%s: cannot read apt-get's plan: %s", what, process_last_lines(out, 3));
        r = show_records(root, chosen, n, uris, n, what, ret);
        strv_free(uris);
        chosen_free(chosen, n);
        return r;
}

/* Everything apt is asked besides the lists: its command line and the request. */
static char *recall_key(char **argv, const DebianRequest *req, const char *arch) {
        _cleanup_free_ char *canonical = debian_request_canonical(req, arch);
        char *key = xstrdup(canonical);
        for (size_t i = 0; argv[i]; i++) {
                char *k = xasprintf("%s\n%s", key, argv[i]);
                free(key);
                key = k;
        }
        return key;
}

int apt_resolve(const DebianRequest *req, const AptResolveOptions *opts, DebPackageSet *ret) {
        const char *what = opts && opts->what ? opts->what : "debian input";
        if (!debian_variant_patterns(req->variant))
                return log_error_errno(-EINVAL, "%s: unknown variant", what);
        _cleanup_free_ char *arch = req->architecture ? xstrdup(req->architecture) : debian_host_architecture();
        AptSource *sources = NULL;
        size_t n_sources = 0;
        int r = debian_request_sources(req, &sources, &n_sources);
        if (r < 0)
                return r;
        /* A kept state directory per set of sources: its lists make the next update a few
         * conditional requests. */
        _cleanup_free_ char *state = NULL;
        if (opts && opts->state_dir) {
                _cleanup_free_ char *text = apt_sources_to_deb822(sources, n_sources);
                _cleanup_free_ char *material = xasprintf("baker-apt-state-v1\n%s\n%s", arch, text);
                uint8_t d[DIGEST_SIZE];
                char hex[DIGEST_HEX_SIZE + 1];
                digest_buffer(material, strlen(material), d);
                digest_to_hex(d, hex);
                state = path_join(opts->state_dir, hex);
        }
        _cleanup_(apt_root_freep) AptRoot *root = NULL;
        r = apt_root_new(state, arch, sources, n_sources, &root);
        bool current = false;
        if (r >= 0)
                r = update_unless_current(root, sources, n_sources, what, &current);
        apt_sources_free(sources, n_sources);
        if (r < 0)
                return r;

        _cleanup_free_ char **uri_argv = install_argv(req, "--print-uris");
        _cleanup_free_ char *key = recall_key(uri_argv, req, arch);
        if (current && apt_lists_recall(root, key, ret)) {
                log_debug("%s: the package set apt chose for these indexes is known", what);
                return 0;
        }
        r = resolve_with_apt(root, uri_argv, arch, what, ret);
        if (r >= 0)
                apt_lists_remember(root, key, ret);
        return r;
}
