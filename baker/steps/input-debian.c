/* `debian: {suite, variant, packages, mirror, security, components, keyring, architecture,
 * sources}`: a root filesystem built by baker from a Debian suite's packages (apt resolves,
 * mmdebstrap installs), its package set pinned by the lock file; see input-debian.h. */
#include "input-debian.h"

#include "debian-build.h"
#include "debian-input.h"
#include "log.h"
#include "steps.h"

#define DEFAULT_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

typedef struct DebianSourceSpec {
        char *uri, *suite, *key, *key_resolved;
        char **components;
        size_t n_components;
        SourcePos pos, key_pos;
} DebianSourceSpec;

typedef struct TemplateDebian {
        SourcePos pos;
        char *suite, *mirror, *security_mirror, *keyring, *keyring_resolved, *architecture;
        SourcePos suite_pos, keyring_pos;
        DebianVariant variant;
        char **packages, **components;
        size_t n_packages, n_components;
        bool security;
        DebianSourceSpec *sources;
        size_t n_sources;

        /* debian_inputs_prepare() */
        bool prepared;
        DebianResolved resolved;
        char *request;
        char *image_sources;
        DebianKeyring *keyrings;
        size_t n_keyrings;
        int64_t epoch;
        uint8_t key[DIGEST_SIZE];
} TemplateDebian;

static TemplateDebian *data(const TemplateInput *in) {
        return in->kind && streq(in->kind->name, "debian") ? in->data : NULL;
}

static void strings_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void debian_done(TemplateInput *in) {
        TemplateDebian *d = in->data;
        if (!d)
                return;
        free(d->suite), free(d->mirror), free(d->security_mirror), free(d->keyring), free(d->keyring_resolved);
        free(d->architecture);
        strings_free(d->packages, d->n_packages);
        strings_free(d->components, d->n_components);
        for (size_t i = 0; i < d->n_sources; i++) {
                DebianSourceSpec *s = &d->sources[i];
                free(s->uri), free(s->suite), free(s->key), free(s->key_resolved);
                strings_free(s->components, s->n_components);
        }
        free(d->sources);
        debian_resolved_done(&d->resolved);
        free(d->request);
        free(d->image_sources);
        for (size_t i = 0; i < d->n_keyrings; i++)
                free(d->keyrings[i].host_path), free(d->keyrings[i].image_path);
        free(d->keyrings);
        free(d);
        in->data = NULL;
}

/* A list of strings; what names it in messages. */
static bool parse_strings(Template *t, const Node *m, const char *key, char ***ret, size_t *ret_n) {
        const Node *v = node_get(m, key);
        if (!v)
                return true;
        _cleanup_free_ char *what = xasprintf("'%s'", key);
        if (!node_expect(t, v, NODE_SEQUENCE, what))
                return false;
        char **list = xcalloc(v->n + 1, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < v->n; i++) {
                if (!node_expect(t, v->items[i], NODE_SCALAR, "an item of the list"))
                        continue;
                list[n++] = xstrdup(v->items[i]->value);
        }
        *ret = list;
        *ret_n = n;
        return true;
}

static void parse_sources(Template *t, TemplateDebian *d, const Node *m) {
        const Node *v = node_get(m, "sources");
        if (!v || !node_expect(t, v, NODE_SEQUENCE, "'sources'"))
                return;
        d->sources = xcalloc(v->n + 1, sizeof(DebianSourceSpec));
        for (size_t i = 0; i < v->n; i++) {
                const Node *s = v->items[i];
                if (!node_expect(t, s, NODE_MAPPING, "a source"))
                        continue;
                node_check_keys(t, s, KEYS("uri", "suite", "components", "key"), "a source");
                DebianSourceSpec *x = &d->sources[d->n_sources++];
                x->pos = s->pos;
                if (node_require(t, s, "uri", "a source"))
                        node_string(t, s, "uri", &x->uri, NULL);
                if (node_require(t, s, "suite", "a source"))
                        node_string(t, s, "suite", &x->suite, NULL);
                if (node_require(t, s, "key", "a source (its signing key)"))
                        node_string(t, s, "key", &x->key, &x->key_pos);
                parse_strings(t, s, "components", &x->components, &x->n_components);
        }
}

static void debian_parse(Template *t, TemplateInput *in, const Node *m, const TemplateOptions *opts) {
        const Node *v = node_get(m, "debian");
        if (!node_expect(t, v, NODE_MAPPING, "'debian'"))
                return;
        TemplateDebian *d = xcalloc(1, sizeof(TemplateDebian));
        in->data = d;
        in->location = xstrdup("debian");
        in->location_pos = v->pos;
        d->pos = v->pos;
        node_check_keys(t, v,
                        KEYS("suite", "variant", "packages", "mirror", "security", "security_mirror", "components",
                             "keyring", "architecture", "sources"),
                        "'debian'");
        if (node_require(t, v, "suite", "'debian'"))
                node_string(t, v, "suite", &d->suite, &d->suite_pos);
        d->variant = NODE_ENUM(t, v, "variant", debian_variant, _DEBIAN_VARIANT_MAX, DEBIAN_VARIANT_MINBASE, NULL);
        parse_strings(t, v, "packages", &d->packages, &d->n_packages);
        parse_strings(t, v, "components", &d->components, &d->n_components);
        node_string(t, v, "mirror", &d->mirror, NULL);
        node_string(t, v, "security_mirror", &d->security_mirror, NULL);
        node_string(t, v, "keyring", &d->keyring, &d->keyring_pos);
        node_string(t, v, "architecture", &d->architecture, NULL);
        node_bool(t, v, "security", &d->security, NULL);
        parse_sources(t, d, v);
}

static char *check_keyring(Template *t, const TemplateInput *in, const char *key, SourcePos pos) {
        char *p = template_resolve_path(t, key);
        if (access(p, R_OK) < 0)
                template_add_error(t, pos, "input '%s': keyring '%s' cannot be read (%s)", in->name, key, p);
        return p;
}

static void debian_check(Template *t, TemplateInput *in) {
        TemplateDebian *d = in->data;
        if (!d)
                return;
        if (!t->has_epoch)
                template_add_error(t, d->pos,
                                   "input '%s': a debian input needs the template's 'epoch:' (the time every "
                                   "installed file gets, for a reproducible root filesystem)",
                                   in->name);
        if (d->keyring)
                d->keyring_resolved = check_keyring(t, in, d->keyring, d->keyring_pos);
        for (size_t i = 0; i < d->n_sources; i++)
                if (d->sources[i].key)
                        d->sources[i].key_resolved = check_keyring(t, in, d->sources[i].key, d->sources[i].key_pos);
}

static int debian_digest(const TemplateInput *in, FileDigestFn hash_file, void *userdata, uint8_t ret[DIGEST_SIZE]) {
        TemplateDebian *d = in->data;
        if (!d || !d->prepared)
                return -EAGAIN; /* debian_inputs_prepare() was not called */
        memcpy(ret, d->key, DIGEST_SIZE);
        return 0;
}

static int substitute(const Vars *vars, const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        return vars_substitute(vars, s, VARS_SUBSTITUTE_ALL, ret);
}

static char **substitute_all(const Vars *vars, char *const *v, size_t n, int *r) {
        char **out = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n && *r >= 0; i++)
                *r = substitute(vars, v[i], &out[i]);
        return out;
}

static char **copy_strings(char *const *v, size_t n) {
        char **out = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                out[i] = xstrdup(v[i]);
        return out;
}

/* The template's values, variables substituted, as a DebianRequest. */
static int make_request(const TemplateDebian *d, const Vars *vars, DebianRequest *ret) {
        DebianRequest req = { .variant = d->variant, .security = d->security };
        int r = substitute(vars, d->suite, &req.suite);
        if (r >= 0)
                r = substitute(vars, d->mirror, &req.mirror);
        if (r >= 0)
                r = substitute(vars, d->security_mirror, &req.security_mirror);
        if (r >= 0)
                r = substitute(vars, d->architecture, &req.architecture);
        req.packages = substitute_all(vars, d->packages, d->n_packages, &r);
        req.n_packages = d->n_packages;
        req.components = d->n_components ? copy_strings(d->components, d->n_components) : NULL;
        req.n_components = d->n_components;
        req.keyring = d->keyring_resolved ? xstrdup(d->keyring_resolved) : NULL;
        req.sources = xcalloc(d->n_sources + 1, sizeof(AptSource));
        for (size_t i = 0; i < d->n_sources && r >= 0; i++) {
                const DebianSourceSpec *s = &d->sources[i];
                AptSource *a = &req.sources[req.n_sources++];
                r = substitute(vars, s->uri, &a->uri);
                if (r >= 0)
                        r = substitute(vars, s->suite, &a->suite);
                a->components = copy_strings(s->components, s->n_components);
                a->n_components = s->n_components;
                a->key = xstrdup(s->key_resolved ? s->key_resolved : "");
        }
        if (r < 0) {
                debian_request_done(&req);
                return r;
        }
        *ret = req;
        return 0;
}

/* What the image's own apt uses: the same sources, the archive keyring where the image has it,
 * other keyrings copied into /etc/apt/keyrings. */
static void image_sources(TemplateDebian *d, const TemplateInput *in, const DebianRequest *req) {
        AptSource *s = NULL;
        size_t n = 0;
        (void) debian_request_sources(req, &s, &n);
        for (size_t i = 0; i < n; i++) {
                if (streq(s[i].key, DEFAULT_KEYRING))
                        continue;
                bool armored = endswith(s[i].key, ".asc");
                char *image = xasprintf("/etc/apt/keyrings/%s-%zu.%s", in->name, i, armored ? "asc" : "gpg");
                d->keyrings = xrealloc(d->keyrings, (d->n_keyrings + 1) * sizeof(DebianKeyring));
                d->keyrings[d->n_keyrings++] = (DebianKeyring) { .host_path = s[i].key, .image_path = xstrdup(image) };
                s[i].key = image;
        }
        d->image_sources = apt_sources_to_deb822(s, n);
        apt_sources_free(s, n);
}

static DebianBuild build_of(const TemplateInput *in, const TemplateDebian *d, const char *what) {
        return (DebianBuild) {
                .what = what,
                .packages = &d->resolved.packages,
                .variant = d->variant,
                .epoch = d->epoch,
                .image_sources = d->image_sources,
                .keyrings = d->keyrings,
                .n_keyrings = d->n_keyrings,
        };
}

static int prepare_one(const Template *t, const TemplateInput *in, const Vars *vars, const DebianPrepare *o) {
        TemplateDebian *d = in->data;
        DebianRequest req;
        int r = make_request(d, vars, &req);
        if (r < 0)
                return template_error_at(t, d->pos, "input '%s': failed to substitute variables", in->name);
        DebianResolve ro = { .input = in->name, .lock_path = o->lock_path, .lock = o->lock, .refresh = o->refresh,
                             .relock = o->relock, .state_dir = o->state_dir };
        debian_resolved_done(&d->resolved);
        r = debian_input_resolve(&req, &ro, &d->resolved);
        if (r >= 0) {
                _cleanup_free_ char *arch = req.architecture ? xstrdup(req.architecture) : debian_host_architecture();
                free(d->request);
                d->request = debian_request_canonical(&req, arch);
                free(d->image_sources);
                image_sources(d, in, &req);
                d->epoch = t->has_epoch ? (int64_t) t->epoch : 1;
                _cleanup_free_ char *what = xasprintf("input '%s'", in->name);
                DebianBuild b = build_of(in, d, what);
                debian_build_key(&b, d->key);
                d->prepared = true;
        }
        debian_request_done(&req);
        return r;
}

bool template_has_debian_inputs(const Template *t) {
        for (size_t i = 0; i < t->n_inputs; i++)
                if (data(&t->inputs[i]))
                        return true;
        return false;
}

int debian_inputs_prepare(const Template *t, const Vars *vars, const DebianPrepare *o) {
        for (size_t i = 0; i < t->n_inputs; i++) {
                if (!data(&t->inputs[i]))
                        continue;
                int r = prepare_one(t, &t->inputs[i], vars, o);
                if (r < 0)
                        return r;
        }
        return 0;
}

const DebPackageSet *debian_input_packages(const TemplateInput *in) {
        TemplateDebian *d = data(in);
        return d && d->prepared ? &d->resolved.packages : NULL;
}

bool debian_input_resolved(const TemplateInput *in) {
        TemplateDebian *d = data(in);
        return d && d->prepared && d->resolved.resolved;
}

const PackageDiff *debian_input_changes(const TemplateInput *in) {
        TemplateDebian *d = data(in);
        return d && d->prepared ? &d->resolved.changes : NULL;
}

const char *debian_input_request(const TemplateInput *in) {
        TemplateDebian *d = data(in);
        return d && d->prepared ? d->request : NULL;
}

static int debian_fetch_input(Cache *c, const TemplateInput *in, char **ret_path) {
        TemplateDebian *d = in->data;
        if (!d || !d->prepared)
                return log_error_errno(-EAGAIN, "input '%s': its package set was not prepared", in->name);
        _cleanup_free_ char *what = xasprintf("input '%s'", in->name);
        DebianBuild b = build_of(in, d, what);
        uint8_t digest[DIGEST_SIZE];
        return debian_build(c, &b, ret_path, digest);
}

static uint32_t debian_copy_mode(const TemplateInput *in) {
        return 0644; /* the root filesystem tarball */
}

const InputOps input_debian = {
        .syntax = {
                .name = "debian",
                .parse = debian_parse,
                .check = debian_check,
                .done = debian_done,
                .digest = debian_digest,
        },
        .fetch = debian_fetch_input,
        .copy_mode = debian_copy_mode,
};
