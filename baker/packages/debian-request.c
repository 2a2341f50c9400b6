/* The `debian` input's request, its sources and canonical form; see debian-request.h. */
#include "debian-request.h"

#include <dirent.h>
#include <jansson.h>

#include "control.h"
#include "log.h"
#include "strv.h"
#include "process.h"

#define DEFAULT_MIRROR "http://deb.debian.org/debian"
#define DEFAULT_SECURITY_MIRROR "http://deb.debian.org/debian-security"
#define DEFAULT_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

static const char *const variant_names[_DEBIAN_VARIANT_MAX] = {
        [DEBIAN_VARIANT_MINBASE] = "minbase",
        [DEBIAN_VARIANT_REQUIRED] = "required",
        [DEBIAN_VARIANT_IMPORTANT] = "important",
        [DEBIAN_VARIANT_STANDARD] = "standard",
};

const char *debian_variant_to_string(DebianVariant v) {
        return v >= 0 && v < _DEBIAN_VARIANT_MAX ? variant_names[v] : NULL;
}

DebianVariant debian_variant_from_string(const char *s) {
        for (int i = 0; i < _DEBIAN_VARIANT_MAX; i++)
                if (s && streq(s, variant_names[i]))
                        return (DebianVariant) i;
        return _DEBIAN_VARIANT_INVALID;
}

static char **strv_copy(char *const *v, size_t n) {
        char **c = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

void apt_sources_free(AptSource *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(s[i].uri);
                free(s[i].suite);
                strv_free(s[i].components);
                free(s[i].key);
        }
        free(s);
}

void debian_request_done(DebianRequest *r) {
        free(r->suite);
        free(r->architecture);
        strv_free(r->packages);
        free(r->mirror);
        strv_free(r->components);
        free(r->security_mirror);
        free(r->keyring);
        apt_sources_free(r->sources, r->n_sources);
        *r = (DebianRequest) {};
}

static bool word_in(const char *list, const char *word) {
        size_t n = strlen(word);
        for (const char *p = list; p && *p;) {
                p += strspn(p, " \t\n");
                size_t k = strcspn(p, " \t\n");
                if (k == n && strncmp(p, word, n) == 0)
                        return true;
                p += k;
        }
        return false;
}

static char *first_word(const char *list) {
        list += strspn(list, " \t\n");
        return xstrndup(list, strcspn(list, " \t\n"));
}

/* The first "deb" URI in a deb822 .sources file serving suite. */
static char *find_in_sources_file(const char *path, const char *suite) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        _cleanup_(control_file_freep) ControlFile *f = NULL;
        if (read_full_file(path, &data, &size) < 0 || control_parse(data, size, &f, NULL) < 0)
                return NULL;
        for (size_t i = 0; i < f->n_paragraphs; i++) {
                const ControlParagraph *p = &f->paragraphs[i];
                const char *types = control_get(p, "Types"), *uris = control_get(p, "URIs");
                const char *suites = control_get(p, "Suites"), *enabled = control_get(p, "Enabled");
                if (enabled && streq(enabled, "no"))
                        continue;
                if (types && word_in(types, "deb") && uris && suites && word_in(suites, suite))
                        return first_word(uris);
        }
        return NULL;
}

/* The first "deb URI SUITE ..." line (options in brackets skipped) of a one-line sources.list. */
static char *find_in_list_file(const char *path, const char *suite) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char line[4096];
        while (fgets(line, sizeof line, f)) {
                char *p = line + strspn(line, " \t");
                if (strncmp(p, "deb ", 4) != 0 && strncmp(p, "deb\t", 4) != 0)
                        continue;
                p += 4;
                p += strspn(p, " \t");
                if (*p == '[') {
                        char *e = strchr(p, ']');
                        if (!e)
                                continue;
                        p = e + 1 + strspn(e + 1, " \t");
                }
                _cleanup_free_ char *uri = xstrndup(p, strcspn(p, " \t\n"));
                p += strlen(uri);
                p += strspn(p, " \t");
                _cleanup_free_ char *s = xstrndup(p, strcspn(p, " \t\n"));
                if (streq(s, suite))
                        return TAKE_PTR(uri);
        }
        return NULL;
}

/* The host's configured URI for suite, or NULL. sources.list first, then sources.list.d in name
 * order, as apt reads them. */
static char *host_mirror(const char *suite) {
        const char *root = getenv("BAKER_APT_HOST_ETC"); /* tests point this elsewhere */
        _cleanup_free_ char *etc = xstrdup(root && *root ? root : "/etc/apt");
        _cleanup_free_ char *list = path_join(etc, "sources.list");
        char *uri = find_in_list_file(list, suite);
        if (uri)
                return uri;
        _cleanup_free_ char *dir = path_join(etc, "sources.list.d");
        struct dirent **names = NULL;
        int n = scandir(dir, &names, NULL, alphasort);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = path_join(dir, names[i]->d_name);
                if (!uri && endswith(names[i]->d_name, ".sources"))
                        uri = find_in_sources_file(p, suite);
                else if (!uri && endswith(names[i]->d_name, ".list"))
                        uri = find_in_list_file(p, suite);
                free(names[i]);
        }
        free(names);
        return uri;
}

static void add_source(AptSource **s, size_t *n, char *uri, const char *suite, char *const *components,
                       size_t n_components, const char *key) {
        *s = xrealloc(*s, (*n + 1) * sizeof(AptSource));
        (*s)[(*n)++] = (AptSource) {
                .uri = uri,
                .suite = xstrdup(suite),
                .components = strv_copy(components, n_components),
                .n_components = n_components,
                .key = xstrdup(key),
        };
}

int debian_request_sources(const DebianRequest *r, AptSource **ret, size_t *ret_n) {
        static char *const main_only[] = { (char *) "main" };
        char *const *components = r->n_components ? r->components : main_only;
        size_t n_components = r->n_components ? r->n_components : 1;
        const char *key = r->keyring ? r->keyring : DEFAULT_KEYRING;
        AptSource *s = NULL;
        size_t n = 0;

        char *mirror = r->mirror ? xstrdup(r->mirror) : host_mirror(r->suite);
        if (!mirror)
                mirror = xstrdup(DEFAULT_MIRROR);
        add_source(&s, &n, mirror, r->suite, components, n_components, key);
        if (r->security) {
                _cleanup_free_ char *updates = xasprintf("%s-updates", r->suite);
                _cleanup_free_ char *security = xasprintf("%s-security", r->suite);
                add_source(&s, &n, xstrdup(mirror), updates, components, n_components, key);
                char *sm = r->security_mirror ? xstrdup(r->security_mirror) : host_mirror(security);
                add_source(&s, &n, sm ? sm : xstrdup(DEFAULT_SECURITY_MIRROR), security, components, n_components, key);
        }
        for (size_t i = 0; i < r->n_sources; i++) {
                const AptSource *x = &r->sources[i];
                add_source(&s, &n, xstrdup(x->uri), x->suite, x->components, x->n_components, x->key);
        }
        *ret = s;
        *ret_n = n;
        return 0;
}

char *apt_sources_to_deb822(const AptSource *s, size_t n) {
        char *text = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *comps = xstrdup("");
                for (size_t j = 0; j < s[i].n_components; j++) {
                        char *c = xasprintf("%s%s%s", comps, j ? " " : "", s[i].components[j]);
                        free(comps);
                        comps = c;
                }
                char *t = xasprintf("%s%sTypes: deb\nURIs: %s\nSuites: %s\n%s%s%sSigned-By: %s\n", text, i ? "\n" : "",
                                    s[i].uri, s[i].suite, *comps ? "Components: " : "", comps, *comps ? "\n" : "",
                                    s[i].key);
                free(comps);
                free(text);
                text = t;
        }
        return text;
}

static json_t *strings_json(char *const *v, size_t n, bool sorted) {
        _cleanup_free_ char **copy = xcalloc(n + 1, sizeof(char *));
        memcpy(copy, v, n * sizeof(char *));
        if (sorted)
                strv_sort(copy, n);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(copy[i]));
        return a;
}

char *debian_request_canonical(const DebianRequest *r, const char *architecture) {
        static char *const main_only[] = { (char *) "main" };
        json_t *o = json_object();
        json_object_set_new(o, "suite", json_string(r->suite));
        json_object_set_new(o, "variant", json_string(debian_variant_to_string(r->variant)));
        json_object_set_new(o, "architecture", json_string(architecture));
        json_object_set_new(o, "packages", strings_json(r->packages, r->n_packages, true));
        json_object_set_new(o, "components", r->n_components ? strings_json(r->components, r->n_components, false)
                                                               : strings_json(main_only, 1, false));
        json_object_set_new(o, "security", json_boolean(r->security));
        json_t *sources = json_array();
        for (size_t i = 0; i < r->n_sources; i++)
                json_array_append_new(sources, json_pack("{s:s, s:s, s:o}", "uri", r->sources[i].uri, "suite",
                                                         r->sources[i].suite, "components",
                                                         strings_json(r->sources[i].components,
                                                                      r->sources[i].n_components, false)));
        json_object_set_new(o, "sources", sources);
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        return s;
}

char *debian_host_architecture(void) {
        char *argv[] = { (char *) "dpkg", (char *) "--print-architecture", NULL };
        _cleanup_free_ char *out = NULL;
        if (process_run(argv, NULL, &out) != 0 || !out || !*out)
                return xstrdup("amd64");
        out[strcspn(out, "\n")] = 0;
        return xstrdup(out);
}
