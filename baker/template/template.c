/* Template parsing: the document (yaml.c), its sections (sections.c), inputs and steps through
 * their kinds (kind.h, rows in steps/), the cross references between them, and the check pass
 * (check.c) when reading from a file. Every problem found is recorded, not only the first, so
 * one run of `baker validate` shows them all. */
#include "template.h"

#include <ctype.h>
#include <sys/stat.h>

#include "kind.h"
#include "log.h"
#include "sections.h"
#include "vars.h"

/* ---- enum tables ---------------------------------------------------------------------------- */

static int lookup(const char *const *table, int n, const char *s) {
        if (!s)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return i;
        return -EINVAL;
}

#define DEFINE_STRING_TABLE(name, type, max, ...)                                        \
        static const char *const name##_table[max] = { __VA_ARGS__ };                   \
        const char *name##_to_string(type v) {                                          \
                return (int) v >= 0 && (int) v < (int) (max) ? name##_table[v] : NULL;  \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                return (type) lookup(name##_table, (int) (max), s);                    \
        }

DEFINE_STRING_TABLE(fs_type, FsType, _FS_TYPE_MAX,
                    [FS_EXT4] = "ext4", [FS_VFAT] = "vfat", [FS_XFS] = "xfs", [FS_SWAP] = "swap",
                    [FS_NONE] = "none");
DEFINE_STRING_TABLE(publish_kind, PublishKind, _PUBLISH_KIND_MAX,
                    [PUBLISH_OCI] = "oci", [PUBLISH_OCI_LAYOUT] = "oci-layout",
                    [PUBLISH_S3] = "s3", [PUBLISH_AZURE_BLOB] = "azure-blob",
                    [PUBLISH_GLANCE] = "glance");

/* ---- variable references -------------------------------------------------------------------- */

int template_foreach_var_ref(const char *s, int (*fn)(const char *name, size_t len, void *userdata),
                             void *userdata) {
        const char *p = s ?: "";
        VarPiece piece;
        int r;
        while ((r = var_piece_next(&p, &piece)) > 0)
                if (piece.kind == VAR_PIECE_REF && (r = fn(piece.name, piece.name_len, userdata)) < 0)
                        return r;
        return r;
}

char *template_resolve_path(const Template *t, const char *p) {
        if (p[0] == '/')
                return xstrdup(p);
        return path_join(t->directory, p);
}

/* "'url', 'file' or 'path'" */
static char *names_list(const char *const *names, size_t n, const char *quote, const char *last_sep) {
        char *s = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *x = xasprintf("%s%s%s%s%s", s, i == 0 ? "" : i + 1 == n ? last_sep : ", ", quote, names[i], quote);
                free(s);
                s = x;
        }
        return s;
}

static const TemplateKinds no_kinds = {};

/* ---- inputs --------------------------------------------------------------------------------- */

/* The allowed keys of an input's mapping: every kind's name, then the keys of `kind` (of every
 * kind when it is not known), each once. */
static size_t input_allowed_keys(const TemplateKinds *k, const InputSyntax *kind, const char **allowed, size_t max) {
        size_t n = 0;
        for (size_t i = 0; i < k->n_inputs && n < max; i++)
                allowed[n++] = k->inputs[i]->name;
        for (size_t i = 0; i < k->n_inputs; i++) {
                if (kind && k->inputs[i] != kind)
                        continue;
                for (const char *const *key = k->inputs[i]->keys; key && *key && n < max; key++) {
                        bool dup = false;
                        for (size_t j = 0; j < n; j++)
                                dup = dup || streq(allowed[j], *key);
                        if (!dup)
                                allowed[n++] = *key;
                }
        }
        return n;
}

static void parse_input(Template *t, const TemplateKinds *k, TemplateInput *in, const Node *v,
                        const TemplateOptions *opts) {
        char context[200];
        snprintf(context, sizeof context, "input '%s'", in->name);
        if (!node_expect(t, v, NODE_MAPPING, context))
                return;
        const InputSyntax *kind = NULL;
        unsigned n_kinds = 0;
        for (size_t i = 0; i < k->n_inputs; i++)
                if (node_get(v, k->inputs[i]->name)) {
                        n_kinds++;
                        kind = k->inputs[i];
                }
        const char *allowed[64];
        size_t n_allowed = input_allowed_keys(k, n_kinds == 1 ? kind : NULL, allowed, ELEMENTSOF(allowed));
        node_check_keys(t, v, allowed, n_allowed, context);
        if (n_kinds != 1) {
                const char *names[32];
                size_t n = MIN(k->n_inputs, ELEMENTSOF(names));
                for (size_t i = 0; i < n; i++)
                        names[i] = k->inputs[i]->name;
                _cleanup_free_ char *list = names_list(names, n, "'", " or ");
                template_add_error(t, v->pos, "input '%s' needs exactly one of %s", in->name, list);
                return;
        }
        in->kind = kind;
        kind->parse(t, in, v, opts);
}

static void parse_inputs(Template *t, const Node *m, const TemplateOptions *opts) {
        if (!node_expect(t, m, NODE_MAPPING, "'inputs'"))
                return;
        const TemplateKinds *k = opts->kinds ?: &no_kinds;
        t->inputs = xcalloc(m->n, sizeof(TemplateInput));
        for (size_t i = 0; i < m->n; i++) {
                const Node *key = m->keys[i];
                TemplateInput *in = &t->inputs[t->n_inputs++];
                in->name = xstrdup(key->value);
                in->pos = key->pos;
                if (!template_valid_name(key->value, true))
                        template_add_error(t, key->pos, "invalid input name '%s'", key->value);
                parse_input(t, k, in, m->items[i], opts);
        }
}

/* ---- steps ---------------------------------------------------------------------------------- */

/* The kind of step mapping sn: its key naming a kind. */
static const StepSyntax *step_kind_of(Template *t, const TemplateKinds *k, const Node *sn, const Node **ret_value) {
        const StepSyntax *kind = NULL;
        for (size_t j = 0; j < sn->n; j++)
                for (size_t i = 0; i < k->n_steps; i++) {
                        if (!streq(sn->keys[j]->value, k->steps[i]->name))
                                continue;
                        if (kind)
                                template_add_error(t, sn->keys[j]->pos, "step has two kinds, '%s' and '%s'", kind->name,
                                                   k->steps[i]->name);
                        else {
                                kind = k->steps[i];
                                *ret_value = sn->items[j];
                        }
                }
        return kind;
}

static void parse_step(Template *t, const TemplateKinds *k, TemplateStep *s, const Node *sn) {
        s->pos = sn->pos;
        if (sn->type != NODE_MAPPING) {
                template_add_error(t, sn->pos, "a step must be a mapping like '{ unpack: INPUT }', not %s",
                                   node_kind(sn));
                return;
        }
        const Node *value = NULL;
        const StepSyntax *kind = step_kind_of(t, k, sn, &value);
        /* allowed keys: the kind, its other keys and the common ones; without a kind every kind is
         * a candidate for the suggestion */
        const char *allowed[64];
        size_t n_allowed = 0;
        if (kind) {
                allowed[n_allowed++] = kind->name;
                for (const char *const *key = kind->keys; key && *key && n_allowed < ELEMENTSOF(allowed) - 2; key++)
                        allowed[n_allowed++] = *key;
        } else
                for (size_t i = 0; i < k->n_steps && n_allowed < ELEMENTSOF(allowed) - 2; i++)
                        allowed[n_allowed++] = k->steps[i]->name;
        allowed[n_allowed++] = "name";
        allowed[n_allowed++] = "cache";
        if (!kind) {
                if (node_check_keys(t, sn, allowed, n_allowed, "step") == 0) {
                        _cleanup_free_ char *list = names_list(allowed, n_allowed - 2, "", ", ");
                        template_add_error(t, sn->pos, "step has no kind (one of %s)", list);
                }
                return;
        }
        char context[64];
        snprintf(context, sizeof context, "%s step", kind->name);
        node_check_keys(t, sn, allowed, n_allowed, context);
        node_string(t, sn, "name", &s->name, &s->name_pos);
        s->cache = NODE_ENUM(t, sn, "cache", step_cache_mode, _STEP_CACHE_MODE_MAX, _STEP_CACHE_MODE_INVALID,
                             &s->cache_pos);
        s->kind = kind;
        kind->parse(t, s, sn, value);
}

static void parse_steps(Template *t, const Node *seq, const TemplateOptions *opts) {
        if (!node_expect(t, seq, NODE_SEQUENCE, "'steps'"))
                return;
        const TemplateKinds *k = opts->kinds ?: &no_kinds;
        t->steps = xcalloc(seq->n, sizeof(TemplateStep));
        for (size_t i = 0; i < seq->n; i++)
                parse_step(t, k, &t->steps[t->n_steps++], seq->items[i]);
}

/* ---- cross references ----------------------------------------------------------------------- */

typedef struct RefCheck {
        Template *t;
        const Node *node;
} RefCheck;

static int check_one_ref(const char *name, size_t len, void *userdata) {
        RefCheck *rc = userdata;
        _cleanup_free_ char *n = xstrndup(name, len);
        if (template_find_variable(rc->t, n))
                return 0;
        const char *names[64];
        size_t k = MIN(rc->t->n_variables, ELEMENTSOF(names));
        for (size_t i = 0; i < k; i++)
                names[i] = rc->t->variables[i].name;
        const char *s = template_suggest(n, names, k);
        if (s)
                template_add_error(rc->t, rc->node->pos, "undeclared variable '%s'; did you mean '%s'?", n, s);
        else
                template_add_error(rc->t, rc->node->pos, "undeclared variable '%s' (declare it under 'variables')", n);
        return 0;
}

/* Every string value outside `variables:` may reference variables; all must be declared. */
static void check_var_refs(Template *t, const Node *n, bool top) {
        if (n->type == NODE_SCALAR) {
                RefCheck rc = { .t = t, .node = n };
                if (template_foreach_var_ref(n->value, check_one_ref, &rc) < 0)
                        template_add_error(t, n->pos, "unterminated '${var.' reference");
                return;
        }
        for (size_t i = 0; i < n->n; i++) {
                if (top && streq(n->keys[i]->value, "variables"))
                        continue;
                check_var_refs(t, n->items[i], false);
        }
}

static void check_step_refs(Template *t) {
        for (size_t i = 0; i < t->n_steps; i++) {
                TemplateStep *s = &t->steps[i];
                SourcePos pos = {};
                const char *input = s->kind && s->kind->input ? s->kind->input(s, &pos) : NULL;
                if (!input || template_find_input(t, input))
                        continue;
                const char *names[64];
                size_t k = MIN(t->n_inputs, ELEMENTSOF(names));
                for (size_t j = 0; j < k; j++)
                        names[j] = t->inputs[j].name;
                const char *sug = template_suggest(input, names, k);
                if (sug)
                        template_add_error(t, pos, "unknown input '%s'; did you mean '%s'?", input, sug);
                else
                        template_add_error(t, pos, "unknown input '%s' (declare it under 'inputs')", input);
        }
}

/* ---- the whole template --------------------------------------------------------------------- */

static void convert_template(Template *t, const Node *root, const TemplateOptions *opts) {
        static const char *const top_keys[] = {
                "baker", "name", "version", "description", "epoch", "variables", "inputs",
                "disk",  "steps", "outputs", "test", "publish", "channels",
        };
        if (root->type != NODE_MAPPING) {
                if (root->null)
                        template_add_error(t, (SourcePos) { .file = t->path }, "template is empty");
                else
                        template_add_error(t, root->pos, "a template must be a YAML mapping (like 'name: web'), not %s",
                                           node_kind(root));
                return;
        }
        node_check_keys(t, root, top_keys, ELEMENTSOF(top_keys), "template");

        const Node *v = node_require(t, root, "baker", "template");
        if (v && node_expect(t, v, NODE_SCALAR, "'baker'")) {
                if (streq(v->value, "1"))
                        t->format = TEMPLATE_FORMAT;
                else
                        template_add_error(t, v->pos, "unsupported template format '%s' (this baker reads 'baker: %d')",
                                           v->value, TEMPLATE_FORMAT);
        }
        if (node_require(t, root, "name", "template") && node_string(t, root, "name", &t->name, &t->name_pos) &&
            !template_valid_name(t->name, false))
                template_add_error(t, t->name_pos,
                                   "invalid name '%s' (lower-case letters, digits, '.', '_', '-', starting with a letter or digit)",
                                   t->name);
        node_string(t, root, "version", &t->version, NULL);
        node_string(t, root, "description", &t->description, NULL);
        _cleanup_free_ char *epoch = NULL;
        if (node_string(t, root, "epoch", &epoch, &t->epoch_pos)) {
                uint64_t e;
                char *end;
                errno = 0;
                e = strtoull(epoch, &end, 10);
                if (errno || !isdigit((unsigned char) epoch[0]) || *end)
                        template_add_error(t, t->epoch_pos, "'epoch' must be a number of seconds since 1970, not '%s'",
                                           epoch);
                else {
                        t->epoch = e;
                        t->has_epoch = true;
                }
        }
        if ((v = node_get(root, "variables")))
                template_parse_variables(t, v);
        if ((v = node_get(root, "inputs")))
                parse_inputs(t, v, opts);
        if ((v = node_require(t, root, "disk", "template")))
                template_parse_disk(t, v);
        if ((v = node_get(root, "steps")))
                parse_steps(t, v, opts);
        if ((v = node_get(root, "outputs")))
                template_parse_outputs(t, v);
        if (!node_get(root, "outputs") || (t->n_outputs == 0 && t->n_errors == 0)) {
                /* no outputs: one raw image */
                free(t->outputs);
                t->outputs = xcalloc(1, sizeof(TemplateOutput));
                t->outputs[0] = (TemplateOutput) { .pos = root->pos, .format = IMAGE_FORMAT_RAW, .compress = IMAGE_COMPRESSION_NONE };
                t->n_outputs = 1;
        }
        if ((v = node_get(root, "test")))
                template_parse_test(t, v);
        if ((v = node_get(root, "publish")))
                template_parse_publish(t, v);
        if ((v = node_get(root, "channels"))) {
                template_parse_channels(t, v);
                if (t->n_channels > 0 && t->n_publish == 0 && !node_get(root, "publish"))
                        template_add_error(t, v->pos, "'channels' need a 'publish' target");
        }
        check_var_refs(t, root, true);
        check_step_refs(t);
}

static char *dirname_of(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return xstrndup(path, (size_t) (slash - path));
}

int template_parse_buffer(const char *path, const char *directory, const void *data, size_t size,
                          const TemplateOptions *opts, Template **ret) {
        static const TemplateOptions defaults = {};
        if (!opts)
                opts = &defaults;
        _cleanup_(template_freep) Template *t = xcalloc(1, sizeof *t);
        t->path = xstrdup(path);
        t->directory = xstrdup(directory ?: ".");
        SourcePos file_pos = { .file = t->path };
        if (size > TEMPLATE_SIZE_MAX) {
                template_add_error(t, file_pos, "template is too large (%zu bytes, the limit is %u)", size,
                                   TEMPLATE_SIZE_MAX);
                *ret = TAKE_PTR(t);
                return 0;
        }
        t->source = xmalloc(size + 1);
        memcpy(t->source, data, size);
        t->source[size] = 0;
        t->source_size = size;

        _cleanup_(node_freep) Node *root = template_read_yaml(t);
        if (root)
                convert_template(t, root, opts);
        template_sort_errors(t);
        *ret = TAKE_PTR(t);
        return 0;
}

/* A template that could not even be read: one error, so that callers print it (or JSON it) the
 * same way as any other problem. */
static Template *template_unreadable(const char *path, const char *dir, const char *fmt, ...) _printf_(3, 4);
static Template *template_unreadable(const char *path, const char *dir, const char *fmt, ...) {
        Template *t = xcalloc(1, sizeof *t);
        t->path = xstrdup(path);
        t->directory = xstrdup(dir);
        va_list ap;
        va_start(ap, fmt);
        template_add_error_va(t, (SourcePos) { .file = t->path }, fmt, ap);
        va_end(ap);
        return t;
}

int template_parse(const char *path, const TemplateOptions *opts, Template **ret) {
        _cleanup_free_ char *dir = dirname_of(path);
        struct stat st;
        if (stat(path, &st) < 0) {
                *ret = template_unreadable(path, dir, "cannot read template: %s", strerror(errno));
                return 0;
        }
        if (S_ISDIR(st.st_mode)) {
                *ret = template_unreadable(path, dir, "cannot read template: %s", strerror(EISDIR));
                return 0;
        }
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size > TEMPLATE_SIZE_MAX) {
                /* refused before reading: a huge file costs nothing */
                *ret = template_unreadable(path, dir, "template is too large (%llu bytes, the limit is %u)",
                                           (unsigned long long) st.st_size, TEMPLATE_SIZE_MAX);
                return 0;
        }
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r = read_full_file(path, &data, &size);
        if (r < 0) {
                *ret = template_unreadable(path, dir, "cannot read template: %s", strerror(-r));
                return 0;
        }
        Template *t = NULL;
        r = template_parse_buffer(path, dir, data, size, opts, &t);
        if (r < 0)
                return r;
        template_check(t);
        *ret = t;
        return 0;
}

int template_load(const char *path, const TemplateOptions *opts, Template **ret) {
        _cleanup_(template_freep) Template *t = NULL;
        int r = template_parse(path, opts, &t);
        if (r < 0)
                return r;
        if (t->n_errors > 0) {
                template_print_errors(t);
                return -EINVAL;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

Template *template_free(Template *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_variables; i++) {
                free(t->variables[i].name);
                free(t->variables[i].default_value);
                free(t->variables[i].description);
        }
        free(t->variables);
        for (size_t i = 0; i < t->n_inputs; i++) {
                TemplateInput *in = &t->inputs[i];
                if (in->kind && in->kind->done)
                        in->kind->done(in);
                free(in->name);
                free(in->location);
                free(in->resolved_path);
        }
        free(t->inputs);
        for (size_t i = 0; i < t->disk.n_partitions; i++) {
                free(t->disk.partitions[i].label);
                free(t->disk.partitions[i].mount);
                free(t->disk.partitions[i].uuid);
        }
        free(t->disk.partitions);
        for (size_t i = 0; i < t->n_steps; i++) {
                TemplateStep *s = &t->steps[i];
                if (s->kind && s->kind->done)
                        s->kind->done(s);
                free(s->name);
        }
        free(t->steps);
        free(t->outputs);
        free(t->test.expect);
        for (size_t i = 0; i < t->test.n_commands; i++) {
                free(t->test.commands[i].send);
                free(t->test.commands[i].expect);
        }
        free(t->test.commands);
        for (size_t i = 0; i < t->n_publish; i++) {
                free(t->publish[i].target);
                template_glance_free(t->publish[i].glance);
        }
        free(t->publish);
        for (size_t i = 0; i < t->n_channels; i++)
                free(t->channels[i]);
        free(t->channels);
        free(t->channel_pos);
        for (size_t i = 0; i < t->n_errors; i++)
                free(t->errors[i].message);
        free(t->errors);
        free(t->name);
        free(t->version);
        free(t->description);
        free(t->source);
        free(t->directory);
        free(t->path);
        free(t);
        return NULL;
}

const TemplateInput *template_find_input(const Template *t, const char *name) {
        for (size_t i = 0; i < t->n_inputs; i++)
                if (streq(t->inputs[i].name, name))
                        return &t->inputs[i];
        return NULL;
}

const TemplateVariable *template_find_variable(const Template *t, const char *name) {
        for (size_t i = 0; i < t->n_variables; i++)
                if (streq(t->variables[i].name, name))
                        return &t->variables[i];
        return NULL;
}
