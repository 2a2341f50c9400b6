#include "vars.h"

#include <ctype.h>

#include "log.h"

static const char *const var_source_table[_VAR_SOURCE_MAX] = {
        [VAR_SOURCE_UNSET] = "unset",
        [VAR_SOURCE_DEFAULT] = "default",
        [VAR_SOURCE_ENVIRONMENT] = "environment",
        [VAR_SOURCE_FILE] = "var-file",
        [VAR_SOURCE_COMMAND_LINE] = "command-line",
};

const char *var_source_to_string(VarSource s) {
        return (int) s >= 0 && s < _VAR_SOURCE_MAX ? var_source_table[s] : NULL;
}

Vars *vars_free(Vars *v) {
        if (!v)
                return NULL;
        for (size_t i = 0; i < v->n; i++) {
                free(v->vars[i].name);
                free(v->vars[i].value);
        }
        free(v->vars);
        free(v);
        return NULL;
}

const Var *vars_find(const Vars *v, const char *name) {
        for (size_t i = 0; v && i < v->n; i++)
                if (streq(v->vars[i].name, name))
                        return &v->vars[i];
        return NULL;
}

static Var *find_mutable(Vars *v, const char *name) {
        return (Var *) vars_find(v, name);
}

static void undeclared(Template *t, SourcePos pos, const char *what, const char *name) {
        const char *names[64];
        size_t k = MIN(t->n_variables, ELEMENTSOF(names));
        for (size_t i = 0; i < k; i++)
                names[i] = t->variables[i].name;
        const char *s = template_suggest(name, names, k);
        if (s)
                template_add_error(t, pos, "%s sets undeclared variable '%s'; did you mean '%s'?", what, name, s);
        else
                template_add_error(t, pos, "%s sets undeclared variable '%s'", what, name);
}

/* Values end up in JSON and in files inside the image: they must be text. */
static bool valid_text(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s, *end = p + n;
        while (p < end) {
                unsigned c = *p, k;
                if (c < 0x80) {
                        if (c == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                                return false;
                        p++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF)
                        k = 1;
                else if (c >= 0xE0 && c <= 0xEF)
                        k = 2;
                else if (c >= 0xF0 && c <= 0xF4)
                        k = 3;
                else
                        return false;
                if ((size_t) (end - p) <= k)
                        return false;
                for (unsigned i = 1; i <= k; i++)
                        if ((p[i] & 0xC0) != 0x80)
                                return false;
                p += k + 1;
        }
        return true;
}

static void set(Var *var, const char *value, size_t len, VarSource source) {
        free(var->value);
        var->value = xstrndup(value, len);
        var->source = source;
}

static int load_file(Template *t, Vars *v, const char *path) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        SourcePos file_pos = { .file = path };
        int r = read_full_file(path, &data, &size);
        if (r < 0) {
                template_add_error(t, file_pos, "cannot read variable file: %s", strerror(-r));
                return r;
        }
        if (strlen(data) != size) {
                template_add_error(t, file_pos, "variable file contains a NUL byte");
                return -EINVAL;
        }
        unsigned line = 0;
        for (char *p = data, *next; p && *p; p = next) {
                char *eol = strchr(p, '\n');
                next = eol ? eol + 1 : NULL;
                size_t len = eol ? (size_t) (eol - p) : strlen(p);
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                line++;
                SourcePos pos = { .file = path, .line = line, .column = 1 };
                const char *s = p;
                while (s < p + len && isspace((unsigned char) *s))
                        s++;
                if (s == p + len || *s == '#')
                        continue;
                const char *eq = memchr(s, '=', (size_t) (p + len - s));
                if (!eq) {
                        /* not echoing the line: it may be a secret missing its name */
                        template_add_error(t, pos, "expected NAME=VALUE");
                        continue;
                }
                const char *ne = eq;
                while (ne > s && isspace((unsigned char) ne[-1]))
                        ne--;
                _cleanup_free_ char *name = xstrndup(s, (size_t) (ne - s));
                Var *var = find_mutable(v, name);
                if (!var) {
                        undeclared(t, pos, "variable file", name);
                        continue;
                }
                const char *val = eq + 1;
                while (val < p + len && (*val == ' ' || *val == '\t'))
                        val++;
                set(var, val, (size_t) (p + len - val), VAR_SOURCE_FILE);
        }
        return 0;
}

int vars_resolve(Template *t, const VarsSources *src, Vars **ret) {
        static const VarsSources none = {};
        if (!src)
                src = &none;
        size_t errors_before = t->n_errors;
        _cleanup_(vars_freep) Vars *v = xcalloc(1, sizeof *v);
        v->vars = xcalloc(t->n_variables, sizeof(Var));
        for (size_t i = 0; i < t->n_variables; i++) {
                const TemplateVariable *d = &t->variables[i];
                Var *var = &v->vars[v->n++];
                var->name = xstrdup(d->name);
                var->sensitive = d->sensitive;
                if (d->default_value)
                        set(var, d->default_value, strlen(d->default_value), VAR_SOURCE_DEFAULT);
                /* Masked even when another source overrides it: error excerpts quote the template. */
                if (d->sensitive)
                        log_add_secret(d->default_value);
        }

        /* Lowest precedence first, each later source overwriting. */
        if (!src->no_environment)
                for (char **e = environ; e && *e; e++) {
                        if (!startswith(*e, "BAKER_VAR_"))
                                continue;
                        const char *name = *e + strlen("BAKER_VAR_"), *eq = strchr(name, '=');
                        if (!eq)
                                continue;
                        _cleanup_free_ char *n = xstrndup(name, (size_t) (eq - name));
                        Var *var = find_mutable(v, n);
                        if (var)
                                set(var, eq + 1, strlen(eq + 1), VAR_SOURCE_ENVIRONMENT);
                        else
                                log_warning("ignoring BAKER_VAR_%s: the template declares no variable '%s'", n, n);
                }
        for (size_t i = 0; i < src->n_files; i++)
                (void) load_file(t, v, src->files[i]);
        for (size_t i = 0; i < src->n_assignments; i++) {
                const char *a = src->assignments[i], *eq = strchr(a, '=');
                SourcePos pos = { .file = "command line" };
                if (!eq || eq == a) {
                        template_add_error(t, pos, "--var expects NAME=VALUE");
                        continue;
                }
                _cleanup_free_ char *name = xstrndup(a, (size_t) (eq - a));
                Var *var = find_mutable(v, name);
                if (!var) {
                        undeclared(t, pos, "--var", name);
                        continue;
                }
                set(var, eq + 1, strlen(eq + 1), VAR_SOURCE_COMMAND_LINE);
        }

        for (size_t i = 0; i < v->n; i++) {
                Var *var = &v->vars[i];
                if (var->sensitive && var->value)
                        log_add_secret(var->value);
                if (var->value && !valid_text(var->value, strlen(var->value)))
                        template_add_error(t, (SourcePos) { .file = "command line" },
                                           "value of variable '%s' (from %s) is not UTF-8 text", var->name,
                                           var_source_to_string(var->source));
                if (t->variables[i].required && !var->value)
                        template_add_error(t, t->variables[i].pos,
                                           "variable '%s' is required; set it with --var %s=VALUE, --var-file or BAKER_VAR_%s",
                                           var->name, var->name, var->name);
        }
        if (t->n_errors > errors_before) {
                template_sort_errors(t);
                return -EINVAL;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

typedef struct Buffer {
        char *data;
        size_t len, cap;
} Buffer;

static void buffer_append(Buffer *b, const char *s, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = MAX(b->cap * 2, b->len + n + 1);
                b->data = xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
}

int var_piece_next(const char **p, VarPiece *ret) {
        const char *s = *p;
        if (!*s)
                return 0;
        if (startswith(s, "$${"))
                *ret = (VarPiece) { .kind = VAR_PIECE_ESCAPE, .start = s, .len = 3 };
        else if (startswith(s, "${var.")) {
                const char *name = s + 6, *close = strchr(name, '}');
                if (!close)
                        return -EINVAL;
                *ret = (VarPiece) { .kind = VAR_PIECE_REF, .start = s, .len = (size_t) (close + 1 - s),
                                    .name = name, .name_len = (size_t) (close - name) };
        } else {
                const char *next = s + 1;
                while (*next && *next != '$')
                        next++;
                *ret = (VarPiece) { .kind = VAR_PIECE_TEXT, .start = s, .len = (size_t) (next - s) };
        }
        *p = s + ret->len;
        return 1;
}

int vars_substitute(const Vars *v, const char *s, VarsSubstituteMode mode, char **ret) {
        Buffer b = {};
        buffer_append(&b, "", 0);
        const char *p = s;
        VarPiece piece;
        int r;
        while ((r = var_piece_next(&p, &piece)) > 0) {
                if (piece.kind == VAR_PIECE_TEXT) {
                        buffer_append(&b, piece.start, piece.len);
                        continue;
                }
                if (piece.kind == VAR_PIECE_ESCAPE) {
                        if (mode == VARS_SUBSTITUTE_PUBLIC)
                                buffer_append(&b, "$${", 3);
                        else
                                buffer_append(&b, "${", 2);
                        continue;
                }
                _cleanup_free_ char *n = xstrndup(piece.name, piece.name_len);
                const Var *var = vars_find(v, n);
                if (!var) {
                        r = -EINVAL;
                        break;
                }
                if (var->sensitive && mode == VARS_SUBSTITUTE_PUBLIC)
                        buffer_append(&b, piece.start, piece.len);
                else if (var->sensitive && mode == VARS_SUBSTITUTE_MASKED)
                        buffer_append(&b, "***", 3);
                else if (var->value)
                        buffer_append(&b, var->value, strlen(var->value));
        }
        if (r < 0) {
                free(b.data);
                return r;
        }
        *ret = b.data;
        return 0;
}

void vars_load_template(const char *path, const TemplateOptions *opts, const VarsSources *src, Template **ret_template,
                        Vars **ret_vars) {
        Template *t = NULL;
        (void) template_parse(path, opts, &t);
        *ret_vars = NULL;
        Vars *v = NULL;
        if (vars_resolve(t, src, &v) >= 0 && t->n_errors == 0)
                *ret_vars = v;
        else
                vars_free(v);
        *ret_template = t;
}
