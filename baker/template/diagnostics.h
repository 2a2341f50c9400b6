#pragma once
/* Compiler-style diagnostics for templates: every problem carries the file:line:column it came
 * from; problems found while parsing are collected in the Template (all of them, not only the
 * first) and printed sorted by position, each followed by its source line and a caret. Later
 * stages that find a problem with a template value print one at once with template_error_at().
 * Every message passes through log_mask(), so a secret never reaches the terminal. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct json_t;
typedef struct Template Template;

typedef struct SourcePos {
        const char *file; /* borrowed from the Template (or a static string); NULL = nowhere */
        unsigned line, column; /* 1-based; 0 = no position inside the file */
} SourcePos;

typedef struct TemplateError {
        SourcePos pos;
        char *message;
} TemplateError;

/* Records an error (printed later by template_print_errors). For checks done outside the parser
 * on the model too, e.g. by vars.c. */
void template_add_error(Template *t, SourcePos pos, const char *fmt, ...) _printf_(3, 4);
void template_add_error_va(Template *t, SourcePos pos, const char *fmt, va_list ap) _printf_(3, 0);
void template_sort_errors(Template *t);
void template_print_errors(const Template *t);
/* {"valid": false, "errors": [{"file", "line", "column", "message"}]}, messages masked; new ref. */
struct json_t *template_errors_to_json(const Template *t);
/* t's errors: as text on stderr (template_print_errors), or with json as the document above on
 * stdout. */
void template_report_errors(const Template *t, bool json);

/* Prints one error right away as "FILE:LINE:COL: error: MESSAGE", then the source line and a
 * caret under the column (like a compiler), masked through log_mask(). For stages after
 * validation (fetch, steps) that find a problem with a template value. Returns -EINVAL. */
int template_error_at(const Template *t, SourcePos pos, const char *fmt, ...) _printf_(3, 4);
void template_warning_at(const Template *t, SourcePos pos, const char *fmt, ...) _printf_(3, 4);

/* Levenshtein distance, capped; used for "did you mean" (exposed for vars.c and tests). */
unsigned template_edit_distance(const char *a, const char *b);
/* The candidate closest to `word` if it is close enough to be a likely typo, or NULL. */
const char *template_suggest(const char *word, const char *const *candidates, size_t n);
