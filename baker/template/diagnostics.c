/* Template diagnostics (see diagnostics.h): collecting, sorting and printing errors with a source
 * snippet, and the "did you mean" suggestions. */
#include "diagnostics.h"

#include <ctype.h>
#include <jansson.h>

#include "events.h"
#include "log.h"
#include "template.h"

void template_add_error_va(Template *t, SourcePos pos, const char *fmt, va_list ap) {
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        t->errors = xrealloc(t->errors, (t->n_errors + 1) * sizeof(TemplateError));
        t->errors[t->n_errors++] = (TemplateError) { .pos = pos, .message = msg };
}

void template_add_error(Template *t, SourcePos pos, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        template_add_error_va(t, pos, fmt, ap);
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

json_t *template_errors_to_json(const Template *t) {
        json_t *o = json_object(), *errors = json_array();
        for (size_t i = 0; i < t->n_errors; i++) {
                const TemplateError *e = &t->errors[i];
                _cleanup_free_ char *msg = log_mask(e->message);
                json_t *eo = json_object();
                json_object_set_new(eo, "file", e->pos.file ? json_string(e->pos.file) : json_null());
                json_object_set_new(eo, "line", json_integer(e->pos.line));
                json_object_set_new(eo, "column", json_integer(e->pos.column));
                json_object_set_new(eo, "message", json_string(msg));
                json_array_append_new(errors, eo);
        }
        json_object_set_new(o, "valid", json_false());
        json_object_set_new(o, "errors", errors);
        return o;
}

void template_report_errors(const Template *t, bool json) {
        if (!json) {
                template_print_errors(t);
                return;
        }
        events_print_document(template_errors_to_json(t));
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

