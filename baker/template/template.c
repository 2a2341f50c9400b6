/* Template parsing and validation. libyaml is read through its event API into a small node tree
 * that keeps every position; the tree is then checked and converted into the typed model, and
 * every problem found is recorded (not just the first), so one run of `baker validate` shows them
 * all. Aliases are refused outright: they are the only way a small YAML file can expand into a
 * huge document ("billion laughs"), and templates have no need for them. */
#include "template.h"

#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <yaml.h>

#include "log.h"
#include "units.h"
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

DEFINE_STRING_TABLE(input_kind, InputKind, _INPUT_KIND_MAX,
                    [INPUT_URL] = "url", [INPUT_FILE] = "file", [INPUT_PATH] = "path");
DEFINE_STRING_TABLE(fs_type, FsType, _FS_TYPE_MAX,
                    [FS_EXT4] = "ext4", [FS_VFAT] = "vfat", [FS_XFS] = "xfs", [FS_SWAP] = "swap",
                    [FS_NONE] = "none");
DEFINE_STRING_TABLE(step_kind, StepKind, _STEP_KIND_MAX,
                    [STEP_UNPACK] = "unpack", [STEP_COPY] = "copy", [STEP_FILE] = "file",
                    [STEP_RUN] = "run", [STEP_SYSPREP] = "sysprep", [STEP_BOOTLOADER] = "bootloader");
DEFINE_STRING_TABLE(publish_kind, PublishKind, _PUBLISH_KIND_MAX,
                    [PUBLISH_OCI] = "oci", [PUBLISH_OCI_LAYOUT] = "oci-layout");


/* ---- errors --------------------------------------------------------------------------------- */

static void add_error_va(Template *t, SourcePos pos, const char *fmt, va_list ap) {
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        t->errors = xrealloc(t->errors, (t->n_errors + 1) * sizeof(TemplateError));
        t->errors[t->n_errors++] = (TemplateError) { .pos = pos, .message = msg };
}

void template_add_error(Template *t, SourcePos pos, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        add_error_va(t, pos, fmt, ap);
        va_end(ap);
}

static int error_cmp(const void *a, const void *b) {
        const TemplateError *x = a, *y = b;
        /* Errors in the template itself by position; others (variable files, command line) after
         * them in the order found. The message breaks ties so the order never depends on qsort. */
        bool xf = x->pos.line > 0, yf = y->pos.line > 0;
        int c = streq_ptr(x->pos.file, y->pos.file) ? 0 : 1;
        if (c == 0 && xf && yf) {
                if (x->pos.line != y->pos.line)
                        return x->pos.line < y->pos.line ? -1 : 1;
                if (x->pos.column != y->pos.column)
                        return x->pos.column < y->pos.column ? -1 : 1;
                return strcmp(x->message, y->message);
        }
        return 0;
}

void template_sort_errors(Template *t) {
        /* Insertion sort: stable, and error lists are short. */
        for (size_t i = 1; i < t->n_errors; i++)
                for (size_t j = i; j > 0 && error_cmp(&t->errors[j - 1], &t->errors[j]) > 0; j--) {
                        TemplateError tmp = t->errors[j];
                        t->errors[j] = t->errors[j - 1];
                        t->errors[j - 1] = tmp;
                }
}

/* Writes the source line `line` of the template and a caret under `column`. Control bytes are
 * shown as '?' so a binary file cannot drive the terminal. */
static void print_snippet(FILE *f, const Template *t, SourcePos pos) {
        if (!t || !t->source || pos.line == 0 || !streq_ptr(pos.file, t->path))
                return;
        const char *s = t->source, *end = t->source + t->source_size;
        for (unsigned l = 1; l < pos.line && s < end; s++)
                if (*s == '\n')
                        l++;
        if (s >= end && pos.line > 1)
                return;
        const char *e = s;
        while (e < end && *e != '\n')
                e++;
        if (e > s && e[-1] == '\r')
                e--;
        size_t len = MIN((size_t) (e - s), (size_t) 200);
        _cleanup_free_ char *line = xmalloc(len + 1); /* not strndup: the line may hold NULs */
        memcpy(line, s, len);
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f || line[i] == 0)
                        line[i] = '?';
        line[len] = 0;
        _cleanup_free_ char *masked = log_mask(line);
        fprintf(f, "%5u | %s\n      | ", pos.line, masked);
        /* libyaml counts columns in characters: walk UTF-8 sequences, keeping tabs as tabs. */
        unsigned col = 1;
        for (size_t i = 0; i < len && col < pos.column; i++) {
                unsigned char c = (unsigned char) line[i];
                if ((c & 0xC0) == 0x80)
                        continue;
                fputc(c == '\t' ? '\t' : ' ', f);
                col++;
        }
        fputs("^\n", f);
}

static void print_one(FILE *f, const Template *t, SourcePos pos, const char *level, const char *msg) {
        _cleanup_free_ char *masked = log_mask(msg);
        if (pos.file && pos.line > 0)
                fprintf(f, "%s:%u:%u: %s: %s\n", pos.file, pos.line, pos.column, level, masked);
        else if (pos.file)
                fprintf(f, "%s: %s: %s\n", pos.file, level, masked);
        else
                fprintf(f, "%s: %s\n", level, masked);
        print_snippet(f, t, pos);
}

void template_print_errors(const Template *t) {
        for (size_t i = 0; i < t->n_errors; i++)
                print_one(stderr, t, t->errors[i].pos, "error", t->errors[i].message);
        if (t->n_errors > 0)
                fprintf(stderr, "%zu error%s\n", t->n_errors, t->n_errors == 1 ? "" : "s");
}

int template_error_at(const Template *t, SourcePos pos, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        print_one(stderr, t, pos, "error", msg);
        free(msg);
        return -EINVAL;
}

void template_warning_at(const Template *t, SourcePos pos, const char *fmt, ...) {
        va_list ap;
        char *msg = NULL;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (log_get_max_level() >= LOG_LEVEL_WARNING)
                print_one(stderr, t, pos, "warning", msg);
        free(msg);
}

/* ---- suggestions ---------------------------------------------------------------------------- */

/* Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
 * neighbours ("bsae" -> "base") each count one; case is ignored. */
unsigned template_edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64) /* keys are short; long ones are never typos of ours */
                return 64;
        unsigned d[65][65];
        for (size_t i = 0; i <= la; i++)
                d[i][0] = (unsigned) i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        int ca = tolower((unsigned char) a[i - 1]), cb = tolower((unsigned char) b[j - 1]);
                        unsigned v = MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + (ca != cb));
                        if (i > 1 && j > 1 && ca == tolower((unsigned char) b[j - 2]) &&
                            tolower((unsigned char) a[i - 2]) == cb)
                                v = MIN(v, d[i - 2][j - 2] + 1);
                        d[i][j] = v;
                }
        return d[la][lb];
}

const char *template_suggest(const char *word, const char *const *candidates, size_t n) {
        const char *best = NULL;
        unsigned best_d = UINT32_MAX;
        size_t lw = strlen(word);
        for (size_t i = 0; i < n; i++) {
                if (!candidates[i])
                        continue;
                unsigned d = template_edit_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        /* Close enough to be a typo: at most 2 edits, and fewer than half the word. */
        if (best && best_d <= 2 && best_d * 2 < MAX(lw, strlen(best)))
                return best;
        return NULL;
}

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

/* ---- the node tree -------------------------------------------------------------------------- */

typedef enum NodeType {
        NODE_SCALAR,
        NODE_MAPPING,
        NODE_SEQUENCE,
} NodeType;

typedef struct Node Node;
struct Node {
        NodeType type;
        SourcePos pos;
        char *value;  /* scalar */
        bool null;    /* plain "", "~" or "null" */
        Node **keys;  /* mapping: scalar key nodes */
        Node **items; /* mapping values, sequence items */
        size_t n;
};

static Node *node_free(Node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n; i++) {
                if (n->keys)
                        node_free(n->keys[i]);
                node_free(n->items[i]);
        }
        free(n->keys);
        free(n->items);
        free(n->value);
        free(n);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Node *, node_free);

static const Node *node_get(const Node *m, const char *key) {
        if (!m || m->type != NODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < m->n; i++)
                if (streq(m->keys[i]->value, key))
                        return m->items[i];
        return NULL;
}

typedef struct Parser {
        yaml_parser_t yaml;
        Template *t;
        size_t n_nodes;
} Parser;

static SourcePos mark_pos(const Template *t, yaml_mark_t m) {
        return (SourcePos) { .file = t->path, .line = (unsigned) m.line + 1, .column = (unsigned) m.column + 1 };
}

static SourcePos offset_pos(const Template *t, size_t offset) {
        SourcePos pos = { .file = t->path, .line = 1, .column = 1 };
        for (size_t i = 0; i < offset && i < t->source_size; i++) {
                unsigned char c = (unsigned char) t->source[i];
                if (c == '\n') {
                        pos.line++;
                        pos.column = 1;
                } else if ((c & 0xC0) != 0x80)
                        pos.column++;
        }
        return pos;
}

static int parser_error(Parser *ps) {
        yaml_parser_t *y = &ps->yaml;
        SourcePos pos = y->error == YAML_READER_ERROR ? offset_pos(ps->t, y->problem_offset)
                                                      : mark_pos(ps->t, y->problem_mark);
        const char *problem = y->problem ?: "unknown problem";
        if (y->error == YAML_MEMORY_ERROR)
                abort();
        if (y->error == YAML_READER_ERROR)
                template_add_error(ps->t, pos, "not a text file: %s (byte 0x%02x)", problem,
                                   (unsigned) (y->problem_value & 0xff));
        else if (y->context)
                template_add_error(ps->t, pos, "invalid YAML: %s, %s", problem, y->context);
        else
                template_add_error(ps->t, pos, "invalid YAML: %s", problem);
        return -EINVAL;
}

static int next_event(Parser *ps, yaml_event_t *e) {
        if (!yaml_parser_parse(&ps->yaml, e))
                return parser_error(ps);
        return 0;
}

static Node *node_new(Parser *ps, NodeType type, yaml_mark_t m) {
        Node *n = xcalloc(1, sizeof *n);
        n->type = type;
        n->pos = mark_pos(ps->t, m);
        return n;
}

static void node_append(Node *parent, Node *key, Node *item) {
        if ((parent->n & (parent->n - 1)) == 0) { /* grow at powers of two */
                size_t cap = parent->n ? parent->n * 2 : 1;
                parent->items = xrealloc(parent->items, cap * sizeof(Node *));
                if (parent->type == NODE_MAPPING)
                        parent->keys = xrealloc(parent->keys, cap * sizeof(Node *));
        }
        if (parent->type == NODE_MAPPING)
                parent->keys[parent->n] = key;
        parent->items[parent->n++] = item;
}

/* Builds the node starting with event e (which this takes over). */
static int parse_node(Parser *ps, yaml_event_t *e, unsigned depth, Node **ret) {
        int r;
        if (++ps->n_nodes > TEMPLATE_NODES_MAX) {
                template_add_error(ps->t, mark_pos(ps->t, e->start_mark),
                                   "template has too many nodes (more than %u)", TEMPLATE_NODES_MAX);
                yaml_event_delete(e);
                return -EINVAL;
        }
        switch (e->type) {
        case YAML_ALIAS_EVENT:
                template_add_error(ps->t, mark_pos(ps->t, e->start_mark), "YAML aliases are not supported");
                yaml_event_delete(e);
                return -EINVAL;
        case YAML_SCALAR_EVENT: {
                Node *n = node_new(ps, NODE_SCALAR, e->start_mark);
                size_t len = e->data.scalar.length;
                const char *v = (const char *) e->data.scalar.value;
                n->value = xstrndup(v, len);
                if (strlen(n->value) != len) {
                        template_add_error(ps->t, n->pos, "string contains a NUL character");
                        n->value[0] = 0; /* keep going: other errors may follow */
                }
                n->null = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                          (len == 0 || streq(n->value, "~") || streq(n->value, "null") ||
                           streq(n->value, "Null") || streq(n->value, "NULL"));
                yaml_event_delete(e);
                *ret = n;
                return 0;
        }
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
                bool mapping = e->type == YAML_MAPPING_START_EVENT;
                _cleanup_(node_freep) Node *n = node_new(ps, mapping ? NODE_MAPPING : NODE_SEQUENCE, e->start_mark);
                yaml_event_delete(e);
                if (depth >= TEMPLATE_DEPTH_MAX) {
                        template_add_error(ps->t, n->pos, "template nested too deeply (more than %u levels)",
                                           TEMPLATE_DEPTH_MAX);
                        return -EINVAL;
                }
                for (;;) {
                        yaml_event_t ev;
                        r = next_event(ps, &ev);
                        if (r < 0)
                                return r;
                        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
                                yaml_event_delete(&ev);
                                break;
                        }
                        _cleanup_(node_freep) Node *key = NULL;
                        if (mapping) {
                                r = parse_node(ps, &ev, depth + 1, &key);
                                if (r < 0)
                                        return r;
                                r = next_event(ps, &ev);
                                if (r < 0)
                                        return r;
                        }
                        _cleanup_(node_freep) Node *item = NULL;
                        r = parse_node(ps, &ev, depth + 1, &item);
                        if (r < 0)
                                return r;
                        if (mapping && key->type != NODE_SCALAR) {
                                template_add_error(ps->t, key->pos, "mapping keys must be strings");
                                continue;
                        }
                        if (mapping && node_get(n, key->value)) {
                                template_add_error(ps->t, key->pos, "duplicate key '%s'", key->value);
                                continue;
                        }
                        node_append(n, TAKE_PTR(key), TAKE_PTR(item));
                }
                *ret = TAKE_PTR(n);
                return 0;
        }
        default:
                template_add_error(ps->t, mark_pos(ps->t, e->start_mark), "unexpected YAML event");
                yaml_event_delete(e);
                return -EINVAL;
        }
}

/* Parses t->source into a node tree; NULL (with errors recorded) when there is none. */
static Node *parse_yaml(Template *t) {
        Parser ps = { .t = t };
        SourcePos file_pos = { .file = t->path };
        if (t->source_size == 0) {
                template_add_error(t, file_pos, "template is empty");
                return NULL;
        }
        if (!yaml_parser_initialize(&ps.yaml))
                abort();
        yaml_parser_set_input_string(&ps.yaml, (const unsigned char *) t->source, t->source_size);
        Node *root = NULL;
        yaml_event_t e;
        bool done = false;
        if (next_event(&ps, &e) < 0) /* STREAM_START */
                goto finish;
        yaml_event_delete(&e);
        if (next_event(&ps, &e) < 0)
                goto finish;
        if (e.type == YAML_STREAM_END_EVENT) {
                yaml_event_delete(&e);
                template_add_error(t, file_pos, "template is empty");
                goto finish;
        }
        yaml_event_delete(&e); /* DOCUMENT_START */
        if (next_event(&ps, &e) < 0)
                goto finish;
        if (parse_node(&ps, &e, 0, &root) < 0)
                goto finish;
        if (next_event(&ps, &e) < 0) /* DOCUMENT_END */
                goto finish;
        yaml_event_delete(&e);
        if (next_event(&ps, &e) < 0)
                goto finish;
        if (e.type != YAML_STREAM_END_EVENT)
                template_add_error(t, mark_pos(t, e.start_mark), "more than one YAML document in template");
        else
                done = true;
        yaml_event_delete(&e);
finish:
        yaml_parser_delete(&ps.yaml);
        if (!done)
                root = node_free(root);
        return root;
}

/* ---- conversion helpers --------------------------------------------------------------------- */

static const char *node_kind(const Node *n) {
        if (n->type == NODE_MAPPING)
                return "a mapping";
        if (n->type == NODE_SEQUENCE)
                return "a list";
        return n->null ? "empty" : "a string";
}

static bool expect_type(Template *t, const Node *n, NodeType type, const char *what) {
        if (n->type == type && !(type == NODE_SCALAR && n->null))
                return true;
        static const char *const names[] = {
                [NODE_SCALAR] = "a string",
                [NODE_MAPPING] = "a mapping",
                [NODE_SEQUENCE] = "a list",
        };
        if (n->null)
                template_add_error(t, n->pos, "%s has no value, expected %s", what, names[type]);
        else
                template_add_error(t, n->pos, "%s must be %s, not %s", what, names[type], node_kind(n));
        return false;
}

/* Unknown keys, each with a suggestion from `allowed` when one is close. Returns how many. */
static unsigned check_keys(Template *t, const Node *m, const char *const *allowed, size_t n_allowed,
                           const char *context) {
        unsigned unknown = 0;
        for (size_t i = 0; i < m->n; i++) {
                const char *k = m->keys[i]->value;
                bool ok = false;
                for (size_t j = 0; j < n_allowed && !ok; j++)
                        ok = streq(k, allowed[j]);
                if (ok)
                        continue;
                unknown++;
                const char *s = template_suggest(k, allowed, n_allowed);
                if (s)
                        template_add_error(t, m->keys[i]->pos, "unknown key '%s' in %s; did you mean '%s'?", k,
                                           context, s);
                else
                        template_add_error(t, m->keys[i]->pos, "unknown key '%s' in %s", k, context);
        }
        return unknown;
}

static const Node *require_key(Template *t, const Node *m, const char *key, const char *context) {
        const Node *v = node_get(m, key);
        if (!v)
                template_add_error(t, m->pos, "missing '%s' in %s", key, context);
        return v;
}

/* String value of key in m, if present and a string; *ret stays untouched otherwise. */
static bool get_string(Template *t, const Node *m, const char *key, char **ret, SourcePos *ret_pos) {
        const Node *v = node_get(m, key);
        char what[160];
        snprintf(what, sizeof what, "'%s'", key);
        if (!v || !expect_type(t, v, NODE_SCALAR, what))
                return false;
        free(*ret);
        *ret = xstrdup(v->value);
        if (ret_pos)
                *ret_pos = v->pos;
        return true;
}

static bool get_bool(Template *t, const Node *m, const char *key, bool *ret, SourcePos *ret_pos) {
        const Node *v = node_get(m, key);
        if (!v)
                return false;
        if (v->type == NODE_SCALAR && !v->null) {
                if (streq(v->value, "true") || streq(v->value, "false")) {
                        *ret = streq(v->value, "true");
                        if (ret_pos)
                                *ret_pos = v->pos;
                        return true;
                }
        }
        template_add_error(t, v->pos, "'%s' must be true or false", key);
        return false;
}

static bool valid_name(const char *s, bool allow_upper) {
        if (!s || !*s || strlen(s) > 128)
                return false;
        if (!(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0]) ||
              (allow_upper && isupper((unsigned char) s[0]))))
                return false;
        for (const char *p = s; *p; p++)
                if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || strchr("._-", *p) ||
                      (allow_upper && isupper((unsigned char) *p))))
                        return false;
        return true;
}

static bool valid_identifier(const char *s) {
        if (!s || !*s || strlen(s) > 128 || isdigit((unsigned char) s[0]))
                return false;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char) *p) || *p == '_'))
                        return false;
        return true;
}

static bool parse_owner(const char *s, uid_t *ret_uid, gid_t *ret_gid) {
        unsigned long u, g;
        char *end;
        if (!isdigit((unsigned char) s[0]))
                return false;
        errno = 0;
        u = strtoul(s, &end, 10);
        if (errno || *end != ':' || !isdigit((unsigned char) end[1]) || u > 0xfffffffeUL)
                return false;
        g = strtoul(end + 1, &end, 10);
        if (errno || *end || g > 0xfffffffeUL)
                return false;
        *ret_uid = (uid_t) u;
        *ret_gid = (gid_t) g;
        return true;
}

/* Resolves a template-relative host path. */
static char *resolve_path(const Template *t, const char *p) {
        if (p[0] == '/')
                return xstrdup(p);
        return path_join(t->directory, p);
}

#define KEYS(...) (const char *const[]) { __VA_ARGS__ }, ELEMENTSOF(((const char *const[]) { __VA_ARGS__ }))

/* ---- sections ------------------------------------------------------------------------------- */

static void convert_variables(Template *t, const Node *m) {
        if (!expect_type(t, m, NODE_MAPPING, "'variables'"))
                return;
        t->variables = xcalloc(m->n, sizeof(TemplateVariable));
        for (size_t i = 0; i < m->n; i++) {
                const Node *k = m->keys[i], *v = m->items[i];
                TemplateVariable *var = &t->variables[t->n_variables++];
                var->name = xstrdup(k->value);
                var->pos = k->pos;
                if (!valid_identifier(k->value))
                        template_add_error(t, k->pos,
                                           "invalid variable name '%s' (letters, digits and '_', not starting with a digit)",
                                           k->value);
                if (v->type == NODE_SCALAR && v->null)
                        continue; /* "name:" alone declares an optional variable without default */
                char context[200];
                snprintf(context, sizeof context, "variable '%s'", k->value);
                if (!expect_type(t, v, NODE_MAPPING, context))
                        continue;
                check_keys(t, v, KEYS("default", "required", "sensitive", "description"), context);
                const Node *d = node_get(v, "default");
                if (d && expect_type(t, d, NODE_SCALAR, "'default'")) {
                        var->default_value = xstrdup(d->value);
                        var->default_pos = d->pos;
                }
                get_bool(t, v, "required", &var->required, NULL);
                get_bool(t, v, "sensitive", &var->sensitive, NULL);
                get_string(t, v, "description", &var->description, NULL);
                if (var->required && var->default_value)
                        template_add_error(t, d->pos, "variable '%s' is required and cannot have a default",
                                           var->name);
        }
}

static void convert_inputs(Template *t, const Node *m, const TemplateOptions *opts) {
        if (!expect_type(t, m, NODE_MAPPING, "'inputs'"))
                return;
        t->inputs = xcalloc(m->n, sizeof(TemplateInput));
        for (size_t i = 0; i < m->n; i++) {
                const Node *k = m->keys[i], *v = m->items[i];
                TemplateInput *in = &t->inputs[t->n_inputs++];
                in->name = xstrdup(k->value);
                in->pos = k->pos;
                in->kind = _INPUT_KIND_INVALID;
                if (!valid_name(k->value, true))
                        template_add_error(t, k->pos, "invalid input name '%s'", k->value);
                char context[200];
                snprintf(context, sizeof context, "input '%s'", k->value);
                if (!expect_type(t, v, NODE_MAPPING, context))
                        continue;
                check_keys(t, v, KEYS("url", "file", "path", "sha256"), context);
                unsigned n_kinds = 0;
                for (InputKind kind = 0; kind < _INPUT_KIND_MAX; kind++)
                        if (node_get(v, input_kind_to_string(kind))) {
                                n_kinds++;
                                in->kind = kind;
                        }
                if (n_kinds != 1) {
                        template_add_error(t, v->pos, "input '%s' needs exactly one of 'url', 'file' or 'path'",
                                           in->name);
                        in->kind = _INPUT_KIND_INVALID;
                        continue;
                }
                if (!get_string(t, v, input_kind_to_string(in->kind), &in->location, &in->location_pos))
                        continue;
                const Node *sha = node_get(v, "sha256");
                if (sha && in->kind == INPUT_PATH)
                        template_add_error(t, sha->pos, "'sha256' cannot pin a 'path' input (a directory)");
                else if (sha && expect_type(t, sha, NODE_SCALAR, "'sha256'")) {
                        in->sha256_pos = sha->pos;
                        if (digest_from_string(sha->value, in->sha256) < 0)
                                template_add_error(t, sha->pos, "'sha256' must be 64 hexadecimal digits, got '%s'",
                                                   sha->value);
                        else
                                in->has_sha256 = true;
                }
                struct stat st;
                switch (in->kind) {
                case INPUT_URL:
                        if (!startswith(in->location, "http://") && !startswith(in->location, "https://"))
                                template_add_error(t, in->location_pos,
                                                   "input '%s': 'url' must start with http:// or https://", in->name);
                        if (!sha && !opts->allow_unpinned)
                                template_add_error(t, in->location_pos,
                                                   "input '%s' has no 'sha256' pin (use --allow-unpinned to accept it)",
                                                   in->name);
                        break;
                case INPUT_FILE:
                case INPUT_PATH:
                        if (!*in->location) {
                                template_add_error(t, in->location_pos, "input '%s': empty path", in->name);
                                break;
                        }
                        in->resolved_path = resolve_path(t, in->location);
                        if (stat(in->resolved_path, &st) < 0 && streq(t->directory, "."))
                                template_add_error(t, in->location_pos, "input '%s': '%s' does not exist", in->name,
                                                   in->location);
                        else if (stat(in->resolved_path, &st) < 0) /* say where it was looked for */
                                template_add_error(t, in->location_pos, "input '%s': '%s' does not exist (%s)",
                                                   in->name, in->location, in->resolved_path);
                        else if (in->kind == INPUT_FILE && !S_ISREG(st.st_mode))
                                template_add_error(t, in->location_pos, "input '%s': '%s' is not a regular file",
                                                   in->name, in->location);
                        else if (in->kind == INPUT_PATH && !S_ISDIR(st.st_mode))
                                template_add_error(t, in->location_pos, "input '%s': '%s' is not a directory",
                                                   in->name, in->location);
                        break;
                default:
                        break;
                }
        }
}

static bool valid_uuid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!isxdigit((unsigned char) s[i]))
                        return false;
        }
        return true;
}

/* Parses an enum-valued key; reports unknown values with the list of valid ones. */
static int get_enum(Template *t, const Node *m, const char *key, const char *(*to_string)(int), int max,
                    int (*from_string)(const char *), int def, SourcePos *ret_pos) {
        const Node *v = node_get(m, key);
        if (!v)
                return def;
        char what[160];
        snprintf(what, sizeof what, "'%s'", key);
        if (!expect_type(t, v, NODE_SCALAR, what))
                return -EINVAL;
        if (ret_pos)
                *ret_pos = v->pos;
        int r = from_string(v->value);
        if (r >= 0)
                return r;
        const char *names[16];
        char list[400] = "";
        for (int i = 0; i < max && i < 16; i++) {
                names[i] = to_string(i);
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
        }
        const char *s = template_suggest(v->value, names, (size_t) MIN(max, 16));
        if (s)
                template_add_error(t, v->pos, "unknown %s '%s'; did you mean '%s'?", key, v->value, s);
        else
                template_add_error(t, v->pos, "unknown %s '%s' (expected one of: %s)", key, v->value, list);
        return -EINVAL;
}

#define GET_ENUM(t, m, key, prefix, def, pos)                                                          \
        get_enum(t, m, key, (const char *(*)(int)) prefix##_to_string, _##prefix##_MAX_FOR_GET_ENUM, \
                 (int (*)(const char *)) prefix##_from_string, def, pos)
#define _partition_table_type_MAX_FOR_GET_ENUM _PARTITION_TABLE_TYPE_MAX
#define _partition_type_MAX_FOR_GET_ENUM _PARTITION_TYPE_MAX
#define _fs_type_MAX_FOR_GET_ENUM _FS_TYPE_MAX
#define _bootloader_type_MAX_FOR_GET_ENUM _BOOTLOADER_TYPE_MAX
#define _image_format_MAX_FOR_GET_ENUM _IMAGE_FORMAT_MAX
#define _image_compression_MAX_FOR_GET_ENUM _IMAGE_COMPRESSION_MAX
#define _boot_firmware_MAX_FOR_GET_ENUM _BOOT_FIRMWARE_MAX

static bool get_size(Template *t, const Node *v, const char *what, uint64_t *ret) {
        if (!expect_type(t, v, NODE_SCALAR, what))
                return false;
        int r = units_parse_size(v->value, ret);
        if (r == -ERANGE)
                template_add_error(t, v->pos, "%s '%s' is too large", what, v->value);
        else if (r < 0)
                template_add_error(t, v->pos, "%s '%s' is not a size (like 512K, 64MiB, 2GiB or bytes)", what,
                                   v->value);
        else if (*ret == 0)
                template_add_error(t, v->pos, "%s must be greater than zero", what);
        return r >= 0 && *ret > 0;
}

static void convert_disk(Template *t, const Node *m) {
        if (!expect_type(t, m, NODE_MAPPING, "'disk'"))
                return;
        TemplateDisk *d = &t->disk;
        t->has_disk = true;
        d->pos = m->pos;
        check_keys(t, m, KEYS("size", "table", "partitions"), "disk");
        const Node *size = require_key(t, m, "size", "disk");
        bool have_size = size && get_size(t, size, "disk size", &d->size);
        if (size)
                d->size_pos = size->pos;
        d->table = GET_ENUM(t, m, "table", partition_table_type, PARTITION_TABLE_GPT, &d->table_pos);
        if (!node_get(m, "table"))
                d->table_pos = m->pos;
        const Node *parts = require_key(t, m, "partitions", "disk");
        if (!parts || !expect_type(t, parts, NODE_SEQUENCE, "'partitions'"))
                return;
        if (parts->n == 0) {
                template_add_error(t, parts->pos, "disk has no partitions");
                return;
        }
        d->partitions = xcalloc(parts->n, sizeof(TemplatePartition));
        bool sizes_ok = have_size, has_rest = false, has_root = false;
        uint64_t total = 0;
        for (size_t i = 0; i < parts->n; i++) {
                const Node *pn = parts->items[i];
                TemplatePartition *p = &d->partitions[d->n_partitions++];
                p->pos = pn->pos;
                p->type = _PARTITION_TYPE_INVALID;
                p->fs = _FS_TYPE_INVALID;
                char context[64];
                snprintf(context, sizeof context, "partition %zu", i + 1);
                if (!expect_type(t, pn, NODE_MAPPING, context)) {
                        sizes_ok = false;
                        continue;
                }
                check_keys(t, pn, KEYS("label", "type", "size", "fs", "mount", "uuid"), context);
                if (require_key(t, pn, "label", context) && get_string(t, pn, "label", &p->label, &p->label_pos)) {
                        if (!valid_name(p->label, true) || strlen(p->label) > 36)
                                template_add_error(t, p->label_pos,
                                                   "invalid partition label '%s' (at most 36 letters, digits, '.', '_', '-')",
                                                   p->label);
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(d->partitions[j].label, p->label))
                                        template_add_error(t, p->label_pos,
                                                           "duplicate partition label '%s' (also partition %zu)",
                                                           p->label, j + 1);
                }
                if (require_key(t, pn, "type", context))
                        p->type = GET_ENUM(t, pn, "type", partition_type, _PARTITION_TYPE_INVALID, &p->type_pos);
                const Node *sz = require_key(t, pn, "size", context);
                if (sz) {
                        p->size_pos = sz->pos;
                        if (sz->type == NODE_SCALAR && streq(sz->value, "rest")) {
                                p->size_rest = true;
                                if (i + 1 != parts->n)
                                        template_add_error(t, sz->pos, "'rest' is only allowed on the last partition");
                                has_rest = true;
                        } else if (get_size(t, sz, "partition size", &p->size)) {
                                if (total > UINT64_MAX - p->size)
                                        sizes_ok = false;
                                else
                                        total += p->size;
                        } else
                                sizes_ok = false;
                } else
                        sizes_ok = false;
                p->fs = GET_ENUM(t, pn, "fs", fs_type, FS_NONE, &p->fs_pos);
                if (!node_get(pn, "fs"))
                        p->fs_pos = pn->pos;
                if (get_string(t, pn, "mount", &p->mount, &p->mount_pos)) {
                        if (p->mount[0] != '/')
                                template_add_error(t, p->mount_pos, "mount point '%s' must be an absolute path",
                                                   p->mount);
                        else if (p->fs == FS_NONE || p->fs == FS_SWAP)
                                template_add_error(t, p->mount_pos, "a partition with fs '%s' cannot be mounted",
                                                   fs_type_to_string(p->fs));
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(d->partitions[j].mount, p->mount))
                                        template_add_error(t, p->mount_pos,
                                                           "duplicate mount point '%s' (also partition %zu)",
                                                           p->mount, j + 1);
                        if (streq(p->mount, "/"))
                                has_root = true;
                }
                if (p->type == PARTITION_ESP && (int) p->fs >= 0 && p->fs != FS_VFAT)
                        template_add_error(t, p->fs_pos, "an 'esp' partition needs fs 'vfat'");
                if (get_string(t, pn, "uuid", &p->uuid, &p->uuid_pos) && !valid_uuid(p->uuid))
                        template_add_error(t, p->uuid_pos, "'%s' is not a UUID (like 0fc63daf-8483-4772-8e79-3d69d8477de4)",
                                           p->uuid);
        }
        if (!has_root)
                template_add_error(t, parts->pos, "no partition is mounted at '/'");
        if (d->table == PARTITION_TABLE_MBR && parts->n > 4)
                template_add_error(t, parts->pos, "an 'mbr' table holds at most 4 partitions, not %zu", parts->n);
        /* 1 MiB alignment before the first partition; GPT keeps its backup table in the last MiB. */
        uint64_t overhead = (UINT64_C(1) << 20) * (d->table == PARTITION_TABLE_GPT ? 2 : 1);
        if (sizes_ok && total <= UINT64_MAX - overhead - (UINT64_C(1) << 20)) {
                uint64_t need = total + overhead + (has_rest ? UINT64_C(1) << 20 : 0);
                if (need > d->size) {
                        _cleanup_free_ char *a = units_format_size(need), *b = units_format_size(d->size);
                        template_add_error(t, d->size_pos,
                                           "partitions need %s%s (with the partition table) but the disk is only %s",
                                           has_rest ? "more than " : "", a, b);
                }
        } else if (have_size && sizes_ok)
                template_add_error(t, d->size_pos, "partitions are larger than the disk");
}

static const char *const step_common_keys[] = { "name" };

static void convert_step_kind_value(Template *t, TemplateStep *s, const Node *sn, const Node *v) {
        switch (s->kind) {
        case STEP_UNPACK:
                if (expect_type(t, v, NODE_SCALAR, "'unpack'")) {
                        s->input = xstrdup(v->value);
                        s->input_pos = v->pos;
                }
                s->to = xstrdup("/");
                s->to_pos = sn->pos;
                get_string(t, sn, "to", &s->to, &s->to_pos);
                break;
        case STEP_COPY:
                if (!expect_type(t, v, NODE_MAPPING, "'copy'"))
                        break;
                check_keys(t, v, KEYS("from", "to", "owner"), "copy step");
                if (require_key(t, v, "from", "copy step"))
                        get_string(t, v, "from", &s->input, &s->input_pos);
                if (require_key(t, v, "to", "copy step"))
                        get_string(t, v, "to", &s->to, &s->to_pos);
                break;
        case STEP_FILE: {
                if (!expect_type(t, v, NODE_MAPPING, "'file'"))
                        break;
                check_keys(t, v, KEYS("path", "content", "mode", "owner"), "file step");
                if (require_key(t, v, "path", "file step") && get_string(t, v, "path", &s->path, &s->path_pos) &&
                    s->path[0] != '/')
                        template_add_error(t, s->path_pos, "file path '%s' must be absolute", s->path);
                if (require_key(t, v, "content", "file step")) {
                        const Node *c = node_get(v, "content");
                        if (c->type == NODE_SCALAR) { /* empty content is fine */
                                s->content = xstrdup(c->value);
                                s->content_pos = c->pos;
                        } else
                                expect_type(t, c, NODE_SCALAR, "'content'");
                }
                s->mode = 0644;
                s->mode_pos = v->pos;
                _cleanup_free_ char *mode = NULL;
                if (get_string(t, v, "mode", &mode, &s->mode_pos) && units_parse_mode(mode, &s->mode) < 0)
                        template_add_error(t, s->mode_pos, "mode '%s' is not an octal mode like \"0644\"", mode);
                break;
        }
        case STEP_RUN:
                if (!expect_type(t, v, NODE_SCALAR, "'run'"))
                        break;
                s->script_pos = v->pos;
                /* One word without spaces ending in .sh or holding a '/' names a script file;
                 * anything else is the script itself. */
                if (!strpbrk(v->value, " \t\n") && (endswith(v->value, ".sh") || strchr(v->value, '/'))) {
                        s->script_path = xstrdup(v->value);
                        _cleanup_free_ char *a = resolve_path(t, v->value);
                        struct stat st;
                        if (stat(a, &st) == 0 && S_ISREG(st.st_mode))
                                s->script_resolved = TAKE_PTR(a);
                        else {
                                /* templates/x.yaml may name the project's provisioners/ */
                                _cleanup_free_ char *up = path_join(t->directory, "..");
                                _cleanup_free_ char *b = v->value[0] == '/' ? NULL : path_join(up, v->value);
                                if (b && stat(b, &st) == 0 && S_ISREG(st.st_mode))
                                        s->script_resolved = TAKE_PTR(b);
                                else
                                        template_add_error(t, v->pos, "script '%s' does not exist", v->value);
                        }
                } else if (!*v->value)
                        template_add_error(t, v->pos, "'run' has an empty script");
                else
                        s->script = xstrdup(v->value);
                const Node *env = node_get(sn, "env");
                if (env && expect_type(t, env, NODE_MAPPING, "'env'")) {
                        s->env = xcalloc(env->n, sizeof(TemplateEnv));
                        for (size_t i = 0; i < env->n; i++) {
                                const Node *k = env->keys[i], *ev = env->items[i];
                                if (!valid_identifier(k->value))
                                        template_add_error(t, k->pos, "invalid environment variable name '%s'",
                                                           k->value);
                                if (ev->type != NODE_SCALAR) {
                                        expect_type(t, ev, NODE_SCALAR, "an environment value");
                                        continue;
                                }
                                /* insert sorted by name: the order in YAML means nothing */
                                size_t j = s->n_env;
                                while (j > 0 && strcmp(s->env[j - 1].name, k->value) > 0) {
                                        s->env[j] = s->env[j - 1];
                                        j--;
                                }
                                s->env[j] = (TemplateEnv) { .name = xstrdup(k->value), .value = xstrdup(ev->value),
                                                            .pos = k->pos };
                                s->n_env++;
                        }
                }
                get_bool(t, sn, "network", &s->network, &s->network_pos);
                break;
        case STEP_SYSPREP:
                if (!expect_type(t, v, NODE_SCALAR, "'sysprep'"))
                        break;
                s->sysprep = xstrdup(v->value);
                if (!streq(v->value, "default"))
                        template_add_error(t, v->pos, "unknown sysprep profile '%s' (the only one is 'default')",
                                           v->value);
                const Node *keep = node_get(sn, "keep");
                if (keep && expect_type(t, keep, NODE_SEQUENCE, "'keep'")) {
                        s->keep_pos = keep->pos;
                        s->keep = xcalloc(keep->n, sizeof(char *));
                        for (size_t i = 0; i < keep->n; i++)
                                if (expect_type(t, keep->items[i], NODE_SCALAR, "a 'keep' entry"))
                                        s->keep[s->n_keep++] = xstrdup(keep->items[i]->value);
                }
                break;
        case STEP_BOOTLOADER:
                if (!expect_type(t, v, NODE_MAPPING, "'bootloader'"))
                        break;
                check_keys(t, v, KEYS("type", "cmdline"), "bootloader step");
                if (require_key(t, v, "type", "bootloader step"))
                        s->bootloader = GET_ENUM(t, v, "type", bootloader_type, _BOOTLOADER_TYPE_INVALID, NULL);
                get_string(t, v, "cmdline", &s->cmdline, &s->cmdline_pos);
                break;
        default:
                break;
        }
        if (s->kind == STEP_COPY || s->kind == STEP_FILE) {
                _cleanup_free_ char *owner = NULL;
                if (v->type == NODE_MAPPING && get_string(t, v, "owner", &owner, &s->owner_pos)) {
                        if (parse_owner(owner, &s->uid, &s->gid))
                                s->has_owner = true;
                        else
                                template_add_error(t, s->owner_pos, "owner '%s' must be numeric \"UID:GID\"", owner);
                }
        }
        if ((s->kind == STEP_UNPACK || s->kind == STEP_COPY) && s->to && s->to[0] != '/')
                template_add_error(t, s->to_pos, "target directory '%s' must be absolute", s->to);
}

static void convert_steps(Template *t, const Node *seq) {
        static const char *const modifiers[_STEP_KIND_MAX][4] = {
                [STEP_UNPACK] = { "to" },
                [STEP_RUN] = { "env", "network" },
                [STEP_SYSPREP] = { "keep" },
        };
        if (!expect_type(t, seq, NODE_SEQUENCE, "'steps'"))
                return;
        t->steps = xcalloc(seq->n, sizeof(TemplateStep));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *sn = seq->items[i];
                TemplateStep *s = &t->steps[t->n_steps++];
                s->kind = _STEP_KIND_INVALID;
                s->pos = sn->pos;
                if (sn->type != NODE_MAPPING) {
                        template_add_error(t, sn->pos, "a step must be a mapping like '{ unpack: INPUT }', not %s",
                                           node_kind(sn));
                        continue;
                }
                const Node *kind_value = NULL;
                for (size_t j = 0; j < sn->n; j++) {
                        StepKind k = step_kind_from_string(sn->keys[j]->value);
                        if (k < 0)
                                continue;
                        if (s->kind >= 0) {
                                template_add_error(t, sn->keys[j]->pos, "step has two kinds, '%s' and '%s'",
                                                   step_kind_to_string(s->kind), step_kind_to_string(k));
                                continue;
                        }
                        s->kind = k;
                        kind_value = sn->items[j];
                }
                /* allowed keys: the kind, its modifiers and the common ones; without a kind every
                 * kind is a candidate for the suggestion */
                const char *allowed[_STEP_KIND_MAX + 8];
                size_t n_allowed = 0;
                if (s->kind >= 0) {
                        allowed[n_allowed++] = step_kind_to_string(s->kind);
                        for (size_t j = 0; j < 4 && modifiers[s->kind][j]; j++)
                                allowed[n_allowed++] = modifiers[s->kind][j];
                } else
                        for (StepKind k = 0; k < _STEP_KIND_MAX; k++)
                                allowed[n_allowed++] = step_kind_to_string(k);
                allowed[n_allowed++] = step_common_keys[0];
                char context[64];
                snprintf(context, sizeof context, "%s step", s->kind >= 0 ? step_kind_to_string(s->kind) : "a");
                if (s->kind < 0) {
                        if (check_keys(t, sn, allowed, n_allowed, "step") == 0)
                                template_add_error(t, sn->pos,
                                                   "step has no kind (one of unpack, copy, file, run, sysprep, bootloader)");
                        continue;
                }
                check_keys(t, sn, allowed, n_allowed, context);
                get_string(t, sn, "name", &s->name, &s->name_pos);
                convert_step_kind_value(t, s, sn, kind_value);
        }
}

static void convert_outputs(Template *t, const Node *seq) {
        if (!expect_type(t, seq, NODE_SEQUENCE, "'outputs'"))
                return;
        t->outputs = xcalloc(seq->n + 1, sizeof(TemplateOutput));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *o = seq->items[i];
                if (!expect_type(t, o, NODE_MAPPING, "an output"))
                        continue;
                check_keys(t, o, KEYS("format", "compress"), "output");
                TemplateOutput *out = &t->outputs[t->n_outputs];
                out->pos = o->pos;
                if (!require_key(t, o, "format", "output"))
                        continue;
                out->format = GET_ENUM(t, o, "format", image_format, _IMAGE_FORMAT_INVALID, NULL);
                out->compress = GET_ENUM(t, o, "compress", image_compression, IMAGE_COMPRESSION_NONE, NULL);
                if ((int) out->format < 0 || (int) out->compress < 0)
                        continue;
                bool dup = false;
                for (size_t j = 0; j < t->n_outputs; j++)
                        dup = dup || (t->outputs[j].format == out->format && t->outputs[j].compress == out->compress);
                if (dup) {
                        template_add_error(t, o->pos, "duplicate output '%s' (compress '%s')",
                                           image_format_to_string(out->format), image_compression_to_string(out->compress));
                        continue;
                }
                t->n_outputs++;
        }
}

static void convert_test(Template *t, const Node *m) {
        if (!expect_type(t, m, NODE_MAPPING, "'test'"))
                return;
        check_keys(t, m, KEYS("boot"), "test");
        const Node *b = node_get(m, "boot");
        if (!b || !expect_type(t, b, NODE_MAPPING, "'boot'"))
                return;
        TemplateTest *tt = &t->test;
        tt->has_boot = true;
        tt->pos = b->pos;
        check_keys(t, b, KEYS("firmware", "expect", "timeout", "commands"), "boot test");
        tt->firmware = GET_ENUM(t, b, "firmware", boot_firmware, BOOT_FIRMWARE_BIOS, NULL);
        if (require_key(t, b, "expect", "boot test") && get_string(t, b, "expect", &tt->expect, &tt->expect_pos)) {
                regex_t re;
                int r = regcomp(&re, tt->expect, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        char buf[200];
                        regerror(r, &re, buf, sizeof buf);
                        template_add_error(t, tt->expect_pos, "'expect' is not a valid regular expression: %s", buf);
                } else
                        regfree(&re);
        }
        tt->timeout_usec = 600 * USEC_PER_SEC;
        _cleanup_free_ char *timeout = NULL;
        SourcePos tpos = {};
        if (get_string(t, b, "timeout", &timeout, &tpos)) {
                int r = units_parse_duration(timeout, &tt->timeout_usec);
                if (r < 0 || tt->timeout_usec == 0)
                        template_add_error(t, tpos, "timeout '%s' is not a duration (like 90s, 10m or 1h30m)", timeout);
        }
        const Node *cmds = node_get(b, "commands");
        if (cmds && expect_type(t, cmds, NODE_SEQUENCE, "'commands'")) {
                tt->commands = xcalloc(cmds->n, sizeof(TemplateBootCommand));
                for (size_t i = 0; i < cmds->n; i++) {
                        const Node *c = cmds->items[i];
                        if (!expect_type(t, c, NODE_MAPPING, "a boot command"))
                                continue;
                        check_keys(t, c, KEYS("send", "expect"), "boot command");
                        TemplateBootCommand *bc = &tt->commands[tt->n_commands++];
                        bc->pos = c->pos;
                        get_string(t, c, "send", &bc->send, NULL);
                        get_string(t, c, "expect", &bc->expect, NULL);
                        if (!bc->send && !bc->expect)
                                template_add_error(t, c->pos, "a boot command needs 'send' or 'expect'");
                }
        }
}

static void convert_publish(Template *t, const Node *seq) {
        if (!expect_type(t, seq, NODE_SEQUENCE, "'publish'"))
                return;
        t->publish = xcalloc(seq->n, sizeof(TemplatePublish));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *p = seq->items[i];
                if (!expect_type(t, p, NODE_MAPPING, "a publish target"))
                        continue;
                check_keys(t, p, KEYS("oci", "oci-layout", "insecure"), "publish target");
                const Node *oci = node_get(p, "oci"), *layout = node_get(p, "oci-layout");
                if (!!oci == !!layout) {
                        template_add_error(t, p->pos, "a publish target needs exactly one of 'oci' or 'oci-layout'");
                        continue;
                }
                TemplatePublish *pub = &t->publish[t->n_publish];
                pub->pos = p->pos;
                pub->kind = oci ? PUBLISH_OCI : PUBLISH_OCI_LAYOUT;
                SourcePos tpos;
                if (!get_string(t, p, publish_kind_to_string(pub->kind), &pub->target, &tpos))
                        continue;
                get_bool(t, p, "insecure", &pub->insecure, NULL);
                if (pub->kind == PUBLISH_OCI &&
                    (strstr(pub->target, "://") || !strchr(pub->target, '/') || pub->target[0] == '/'))
                        template_add_error(t, tpos, "'%s' is not a registry repository like 'host:port/repository'",
                                           pub->target);
                else if (!*pub->target)
                        template_add_error(t, tpos, "empty 'oci-layout' directory");
                t->n_publish++;
        }
}

static void convert_channels(Template *t, const Node *seq) {
        if (!expect_type(t, seq, NODE_SEQUENCE, "'channels'"))
                return;
        t->channels = xcalloc(seq->n, sizeof(char *));
        t->channel_pos = xcalloc(seq->n, sizeof(SourcePos));
        for (size_t i = 0; i < seq->n; i++) {
                const Node *c = seq->items[i];
                if (!expect_type(t, c, NODE_SCALAR, "a channel"))
                        continue;
                if (!valid_name(c->value, false)) {
                        template_add_error(t, c->pos, "invalid channel name '%s'", c->value);
                        continue;
                }
                bool dup = false;
                for (size_t j = 0; j < t->n_channels; j++)
                        dup = dup || streq(t->channels[j], c->value);
                if (dup) {
                        template_add_error(t, c->pos, "duplicate channel '%s'", c->value);
                        continue;
                }
                t->channel_pos[t->n_channels] = c->pos;
                t->channels[t->n_channels++] = xstrdup(c->value);
        }
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
                if (!s->input || (s->kind != STEP_UNPACK && s->kind != STEP_COPY))
                        continue;
                if (template_find_input(t, s->input))
                        continue;
                const char *names[64];
                size_t k = MIN(t->n_inputs, ELEMENTSOF(names));
                for (size_t j = 0; j < k; j++)
                        names[j] = t->inputs[j].name;
                const char *sug = template_suggest(s->input, names, k);
                if (sug)
                        template_add_error(t, s->input_pos, "unknown input '%s'; did you mean '%s'?", s->input, sug);
                else
                        template_add_error(t, s->input_pos, "unknown input '%s' (declare it under 'inputs')",
                                           s->input);
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
        check_keys(t, root, top_keys, ELEMENTSOF(top_keys), "template");

        const Node *v = require_key(t, root, "baker", "template");
        if (v && expect_type(t, v, NODE_SCALAR, "'baker'")) {
                if (streq(v->value, "1"))
                        t->format = TEMPLATE_FORMAT;
                else
                        template_add_error(t, v->pos, "unsupported template format '%s' (this baker reads 'baker: %d')",
                                           v->value, TEMPLATE_FORMAT);
        }
        if (require_key(t, root, "name", "template") && get_string(t, root, "name", &t->name, &t->name_pos) &&
            !valid_name(t->name, false))
                template_add_error(t, t->name_pos,
                                   "invalid name '%s' (lower-case letters, digits, '.', '_', '-', starting with a letter or digit)",
                                   t->name);
        get_string(t, root, "version", &t->version, NULL);
        get_string(t, root, "description", &t->description, NULL);
        _cleanup_free_ char *epoch = NULL;
        if (get_string(t, root, "epoch", &epoch, &t->epoch_pos)) {
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
                convert_variables(t, v);
        if ((v = node_get(root, "inputs")))
                convert_inputs(t, v, opts);
        if ((v = require_key(t, root, "disk", "template")))
                convert_disk(t, v);
        if ((v = node_get(root, "steps")))
                convert_steps(t, v);
        if ((v = node_get(root, "outputs")))
                convert_outputs(t, v);
        if (!node_get(root, "outputs") || (t->n_outputs == 0 && t->n_errors == 0)) {
                /* no outputs: one raw image */
                free(t->outputs);
                t->outputs = xcalloc(1, sizeof(TemplateOutput));
                t->outputs[0] = (TemplateOutput) { .pos = root->pos, .format = IMAGE_FORMAT_RAW, .compress = IMAGE_COMPRESSION_NONE };
                t->n_outputs = 1;
        }
        if ((v = node_get(root, "test")))
                convert_test(t, v);
        if ((v = node_get(root, "publish")))
                convert_publish(t, v);
        if ((v = node_get(root, "channels"))) {
                convert_channels(t, v);
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

        _cleanup_(node_freep) Node *root = parse_yaml(t);
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
        add_error_va(t, (SourcePos) { .file = t->path }, fmt, ap);
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
        return template_parse_buffer(path, dir, data, size, opts, ret);
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
                free(t->inputs[i].name);
                free(t->inputs[i].location);
                free(t->inputs[i].resolved_path);
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
                free(s->name);
                free(s->input);
                free(s->to);
                free(s->path);
                free(s->content);
                free(s->script);
                free(s->script_path);
                free(s->script_resolved);
                for (size_t j = 0; j < s->n_env; j++) {
                        free(s->env[j].name);
                        free(s->env[j].value);
                }
                free(s->env);
                free(s->sysprep);
                for (size_t j = 0; j < s->n_keep; j++)
                        free(s->keep[j]);
                free(s->keep);
                free(s->cmdline);
        }
        free(t->steps);
        free(t->outputs);
        free(t->test.expect);
        for (size_t i = 0; i < t->test.n_commands; i++) {
                free(t->test.commands[i].send);
                free(t->test.commands[i].expect);
        }
        free(t->test.commands);
        for (size_t i = 0; i < t->n_publish; i++)
                free(t->publish[i].target);
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
