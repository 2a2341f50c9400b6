/* The build file: see bakefile.h for the schema. Read with libyaml's document API: the file is
 * small, and every node keeps its position for the error messages. */
#include "bakefile.h"

#include <ctype.h>
#include <stdio.h>
#include <yaml.h>

#include "log.h"
#include "strv.h"

#define MAX_TARGETS 4096

typedef struct Loader {
        const char *path;
        char *dir;            /* the build file's directory: relative paths start here */
        yaml_document_t doc;
        unsigned n_errors;
        BakeTargets *result;
} Loader;

static void target_done(BakeTarget *t) {
        free(t->name);
        free(t->template_path);
        free(t->output_dir);
        strv_free(t->vars);
        strv_free(t->var_files);
}

BakeTargets *bake_targets_free(BakeTargets *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++)
                target_done(t->targets + i);
        free(t->targets);
        free(t);
        return NULL;
}

_printf_(3, 4) static void loader_error(Loader *l, const yaml_node_t *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        _cleanup_free_ char *masked = log_mask(msg);
        fprintf(stderr, "%s:%zu:%zu: error: %s\n", l->path, n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1,
                masked);
        l->n_errors++;
}

static const char *scalar(const yaml_node_t *n) {
        return n && n->type == YAML_SCALAR_NODE ? (const char *) n->data.scalar.value : NULL;
}

static yaml_node_t *node(Loader *l, int id) {
        return yaml_document_get_node(&l->doc, id);
}

static bool name_valid(const char *s) {
        if (!*s || streq(s, ".") || streq(s, ".."))
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("._-", *s))
                        return false;
        return true;
}

static char *name_sanitise(const char *s) {
        char *r = xstrdup(*s ? s : "_");
        for (char *p = r; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("._-", *p))
                        *p = '_';
        return r;
}

static char *template_stem(const char *path) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t len = strlen(base);
        if (endswith(base, ".yaml"))
                len -= 5;
        else if (endswith(base, ".yml"))
                len -= 4;
        _cleanup_free_ char *stem = xstrndup(base, len);
        return name_sanitise(stem);
}

static char *resolve(const Loader *l, const char *p) {
        return p[0] == '/' || !l->dir ? xstrdup(p) : path_join(l->dir, p);
}

static bool name_taken(const BakeTargets *t, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->targets[i].name, name))
                        return true;
        return false;
}

static void add_target(BakeTargets *t, BakeTarget *target) {
        t->targets = xrealloc(t->targets, (t->n + 1) * sizeof(BakeTarget));
        t->targets[t->n++] = *target;
        *target = (BakeTarget) {};
}

/* A scalar string list (or one scalar) into strv; paths resolved when `paths`. */
static void load_strings(Loader *l, yaml_node_t *n, bool paths, char ***list) {
        if (scalar(n)) {
                strv_push(list, NULL, paths ? resolve(l, scalar(n)) : xstrdup(scalar(n)));
                return;
        }
        if (n->type != YAML_SEQUENCE_NODE)
                return loader_error(l, n, "expected a list of strings");
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
                yaml_node_t *v = node(l, *i);
                if (!scalar(v))
                        loader_error(l, v, "expected a string");
                else
                        strv_push(list, NULL, paths ? resolve(l, scalar(v)) : xstrdup(scalar(v)));
        }
}

static void load_vars(Loader *l, yaml_node_t *n, char ***vars) {
        if (n->type != YAML_MAPPING_NODE)
                return loader_error(l, n, "'vars' must be a mapping of NAME: VALUE");
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const char *k = scalar(node(l, p->key)), *v = scalar(node(l, p->value));
                if (!k || !v)
                        loader_error(l, node(l, p->value), "a variable's name and value must be strings");
                else
                        strv_push(vars, NULL, xasprintf("%s=%s", k, v));
        }
}

/* Appends one target per combination of the matrix's values (or just `base` when there is none). */
static void expand_matrix(Loader *l, yaml_node_t *matrix, const BakeTarget *base, yaml_node_t *where) {
        yaml_node_pair_t *pairs = matrix ? matrix->data.mapping.pairs.start : NULL;
        size_t n_axes = matrix ? (size_t) (matrix->data.mapping.pairs.top - pairs) : 0;
        _cleanup_free_ size_t *idx = xcalloc(n_axes + 1, sizeof(size_t));
        for (;;) {
                BakeTarget t = { .name = xstrdup(base->name), .template_path = xstrdup(base->template_path),
                                 .output_dir = base->output_dir ? xstrdup(base->output_dir) : NULL };
                for (char **v = base->vars; v && *v; v++)
                        strv_push(&t.vars, NULL, xstrdup(*v));
                for (char **v = base->var_files; v && *v; v++)
                        strv_push(&t.var_files, NULL, xstrdup(*v));
                bool carry = true;
                for (size_t a = 0; a < n_axes; a++) {
                        yaml_node_t *values = node(l, pairs[a].value);
                        const char *value = scalar(node(l, values->data.sequence.items.start[idx[a]]));
                        strv_push(&t.vars, NULL, xasprintf("%s=%s", scalar(node(l, pairs[a].key)), value));
                        _cleanup_free_ char *clean = name_sanitise(value);
                        char *nn = xasprintf("%s-%s", t.name, clean);
                        free(t.name);
                        t.name = nn;
                        if (t.output_dir) {
                                char *no = xasprintf("%s-%s", t.output_dir, clean);
                                free(t.output_dir);
                                t.output_dir = no;
                        }
                }
                if (name_taken(l->result, t.name))
                        loader_error(l, where, "target name '%s' is used twice", t.name);
                else if (l->result->n >= MAX_TARGETS)
                        loader_error(l, where, "more than %d targets", MAX_TARGETS);
                add_target(l->result, &t);
                target_done(&t);
                for (size_t a = 0; carry && a < n_axes; a++) {
                        yaml_node_t *values = node(l, pairs[a].value);
                        size_t n = (size_t) (values->data.sequence.items.top - values->data.sequence.items.start);
                        carry = ++idx[a] == n;
                        if (carry)
                                idx[a] = 0;
                }
                if (carry)
                        return;
        }
}

static bool matrix_valid(Loader *l, yaml_node_t *m) {
        if (m->type != YAML_MAPPING_NODE) {
                loader_error(l, m, "'matrix' must be a mapping of NAME: [VALUE, ...]");
                return false;
        }
        bool ok = true;
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
                yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
                if (!scalar(k) || v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) {
                        loader_error(l, v, "a matrix entry must be NAME: [VALUE, ...] with at least one value");
                        ok = false;
                        continue;
                }
                for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++)
                        if (!scalar(node(l, *i))) {
                                loader_error(l, node(l, *i), "a matrix value must be a string");
                                ok = false;
                        }
        }
        return ok;
}

static void load_target(Loader *l, yaml_node_t *n) {
        if (n->type != YAML_MAPPING_NODE)
                return loader_error(l, n, "a target must be a mapping with at least 'template'");
        _cleanup_(target_done) BakeTarget base = {};
        yaml_node_t *matrix = NULL;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t *kn = node(l, p->key), *v = node(l, p->value);
                const char *k = scalar(kn);
                if (streq_ptr(k, "vars"))
                        load_vars(l, v, &base.vars);
                else if (streq_ptr(k, "var-files"))
                        load_strings(l, v, true, &base.var_files);
                else if (streq_ptr(k, "matrix"))
                        matrix = matrix_valid(l, v) ? v : NULL;
                else if (!k || !strv_contains((const char *const[]) { "template", "name", "output", NULL }, k))
                        loader_error(l, kn, "unknown key '%s' in a target (known: template, name, output, vars, var-files, matrix)",
                                     k ? k : "?");
                else if (!scalar(v))
                        loader_error(l, v, "'%s' must be a string", k);
                else if (streq(k, "template"))
                        base.template_path = resolve(l, scalar(v));
                else if (streq(k, "output"))
                        base.output_dir = resolve(l, scalar(v));
                else if (!name_valid(scalar(v)))
                        loader_error(l, v, "target name '%s' may hold only letters, digits, '.', '_' and '-'", scalar(v));
                else
                        base.name = xstrdup(scalar(v));
        }
        if (!base.template_path)
                return loader_error(l, n, "a target needs 'template'");
        if (!base.name)
                base.name = template_stem(base.template_path);
        expand_matrix(l, matrix, &base, n);
}

static void load_root(Loader *l, yaml_node_t *root) {
        if (!root || root->type != YAML_MAPPING_NODE)
                return loader_error(l, root, "a build file is a mapping with 'targets'");
        bool have_targets = false;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
                yaml_node_t *kn = node(l, p->key), *v = node(l, p->value);
                const char *k = scalar(kn);
                if (streq_ptr(k, "jobs")) {
                        char *end = NULL;
                        unsigned long j = scalar(v) ? strtoul(scalar(v), &end, 10) : 0;
                        if (!end || *end || j < 1 || j > 256)
                                loader_error(l, v, "'jobs' must be a number from 1 to 256");
                        else
                                l->result->jobs = (unsigned) j;
                } else if (streq_ptr(k, "targets")) {
                        have_targets = true;
                        if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start) {
                                loader_error(l, v, "'targets' must be a non-empty list");
                                continue;
                        }
                        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++)
                                load_target(l, node(l, *i));
                } else
                        loader_error(l, kn, "unknown key '%s' (known: jobs, targets)", k ? k : "?");
        }
        if (!have_targets)
                loader_error(l, root, "the build file has no 'targets'");
}

int bakefile_load(const char *path, BakeTargets **ret) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r = read_full_file(path, &data, &size);
        if (r < 0)
                return log_error_errno(r, "failed to read build file '%s': %m", path);
        Loader l = { .path = path, .result = xcalloc(1, sizeof(BakeTargets)) };
        const char *slash = strrchr(path, '/');
        l.dir = slash ? xstrndup(path, slash == path ? 1 : (size_t) (slash - path)) : NULL;
        yaml_parser_t y;
        if (!yaml_parser_initialize(&y))
                abort();
        yaml_parser_set_input_string(&y, (const unsigned char *) data, size);
        if (!yaml_parser_load(&y, &l.doc)) {
                fprintf(stderr, "%s:%zu:%zu: error: %s\n", path, y.problem_mark.line + 1, y.problem_mark.column + 1,
                        y.problem ? y.problem : "invalid YAML");
                yaml_parser_delete(&y);
                free(l.dir);
                bake_targets_free(l.result);
                return -EINVAL;
        }
        load_root(&l, yaml_document_get_root_node(&l.doc));
        yaml_document_delete(&l.doc);
        yaml_parser_delete(&y);
        free(l.dir);
        if (l.n_errors > 0) {
                bake_targets_free(l.result);
                return -EINVAL;
        }
        *ret = l.result;
        return 0;
}

int bake_targets_from_templates(char *const *paths, size_t n, BakeTargets **ret) {
        BakeTargets *t = xcalloc(1, sizeof(BakeTargets));
        for (size_t i = 0; i < n; i++) {
                BakeTarget target = { .template_path = xstrdup(paths[i]), .name = template_stem(paths[i]) };
                for (unsigned k = 2; name_taken(t, target.name); k++) {
                        free(target.name);
                        _cleanup_free_ char *stem = template_stem(paths[i]);
                        target.name = xasprintf("%s-%u", stem, k);
                }
                add_target(t, &target);
        }
        *ret = t;
        return 0;
}

int bake_targets_select(BakeTargets *t, char *const *names) {
        for (char *const *n = names; n && *n; n++)
                if (!name_taken(t, *n))
                        return log_error_errno(-ENOENT, "no target named '%s'", *n);
        size_t k = 0;
        for (size_t i = 0; i < t->n; i++) {
                if (strv_contains((const char *const *) names, t->targets[i].name))
                        t->targets[k++] = t->targets[i];
                else
                        target_done(t->targets + i);
        }
        t->n = k;
        return 0;
}
