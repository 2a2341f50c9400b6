#pragma once
/* Template variables: declared in the template's `variables:`, given values from (highest
 * precedence first)
 *     1. --var NAME=VALUE        (the last one given wins)
 *     2. --var-file FILE         (NAME=VALUE lines; a later file wins over an earlier one)
 *     3. BAKER_VAR_<NAME>        (environment; exact case of NAME)
 *     4. the declaration's `default`
 * A variable set by --var or --var-file that the template does not declare is an error; one set in
 * the environment only draws a warning (the environment is shared by every template a user bakes).
 * A `required` variable without a value is an error; an optional one without a value expands to "".
 *
 * Variable files hold one NAME=VALUE per line; blank lines and lines starting with '#' are
 * ignored; blanks around NAME and after the '=' are dropped, and the value is the rest of the line
 * taken literally (no quotes, no escapes, no expansion).
 *
 * Substitution is single-pass: "${var.NAME}" in a template string is replaced by the value, and
 * whatever the value itself contains (even "${...}") is inserted literally, never expanded again.
 * "$${" stands for a literal "${".
 *
 * Sensitive values are registered with log_add_secret(), so every log line shows them as "***".
 * They never enter plan keys: the key material keeps the reference "${var.NAME}" in their place,
 * so changing a secret does not change any key (a secret must not be guessable from a key). Since
 * a key then cannot tell one secret from another, a step that uses one is never cached
 * (plan.h: Plan.secret_from). */
#include <stdbool.h>
#include <stddef.h>

#include "template.h"

/* The one scanner of "${var.NAME}" references: splits s into pieces, in order. */
typedef enum VarPieceKind {
        VAR_PIECE_TEXT,   /* literal text, up to the next '$' that may start something */
        VAR_PIECE_ESCAPE, /* "$${", which stands for "${" */
        VAR_PIECE_REF,    /* "${var.NAME}": name and name_len point into s */
} VarPieceKind;

typedef struct VarPiece {
        VarPieceKind kind;
        const char *start; /* the piece as written: start[0..len) */
        size_t len;
        const char *name;  /* VAR_PIECE_REF */
        size_t name_len;
} VarPiece;

/* The piece at *p, which is advanced past it: 1, or 0 at the end of the string, or -EINVAL for a
 * reference without its '}'. */
int var_piece_next(const char **p, VarPiece *ret);

typedef enum VarSource {
        VAR_SOURCE_UNSET,
        VAR_SOURCE_DEFAULT,
        VAR_SOURCE_ENVIRONMENT,
        VAR_SOURCE_FILE,
        VAR_SOURCE_COMMAND_LINE,
        _VAR_SOURCE_MAX,
        _VAR_SOURCE_INVALID = -EINVAL,
} VarSource;

const char *var_source_to_string(VarSource s);

typedef struct Var {
        char *name;
        char *value; /* NULL when unset */
        bool sensitive;
        VarSource source;
} Var;

/* One entry per declared variable, in declaration order. */
typedef struct Vars {
        Var *vars;
        size_t n;
} Vars;

typedef struct VarsSources {
        const char **assignments; /* --var NAME=VALUE, in command-line order */
        size_t n_assignments;
        const char **files;       /* --var-file FILE, in command-line order */
        size_t n_files;
        bool no_environment; /* ignore BAKER_VAR_* (tests) */
} VarsSources;

/* Resolves every declared variable. Problems are recorded in t (template_add_error(), with the
 * position in the variable file or the declaration) so they are printed or JSON-ed with the
 * template's own; returns -EINVAL if there was any, and then no Vars. */
int vars_resolve(Template *t, const VarsSources *src, Vars **ret);
Vars *vars_free(Vars *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(Vars *, vars_free);

const Var *vars_find(const Vars *v, const char *name);

typedef enum VarsSubstituteMode {
        VARS_SUBSTITUTE_ALL,    /* real values: for running steps */
        VARS_SUBSTITUTE_PUBLIC, /* sensitive references stay "${var.NAME}", "$${" stays: key material */
        VARS_SUBSTITUTE_MASKED, /* sensitive values shown as "***": for display */
} VarsSubstituteMode;

/* Returns a newly allocated copy of s with references replaced. -EINVAL on an unterminated or
 * undeclared reference (validation reports these first, so later stages never see them). */
int vars_substitute(const Vars *v, const char *s, VarsSubstituteMode mode, char **ret);

/* Parses and checks the template at path and resolves its variables. Always gives a Template
 * (whose errors say what is wrong); *ret_vars is set only when there is no error. Variables are
 * resolved even when the template has errors, so their problems show in the same run. */
void vars_load_template(const char *path, const TemplateOptions *opts, const VarsSources *src, Template **ret_template,
                        Vars **ret_vars);
