#pragma once
/* The options every verb that reads a template shares (validate, plan, bake, ...):
 *     --allow-unpinned  --var NAME=VALUE  --var-file FILE  --json
 * Use TEMPLATE_ARGS_OPTIONS in the getopt_long table, pass each option to
 * template_args_parse_option(), then template_args_load(). */
#include <getopt.h>
#include <stdbool.h>

#include "bake.h"
#include "template.h"
#include "vars.h"

enum {
        TEMPLATE_ARG_ALLOW_UNPINNED = 0x1000,
        TEMPLATE_ARG_VAR,
        TEMPLATE_ARG_VAR_FILE,
        TEMPLATE_ARG_JSON,
};

#define TEMPLATE_ARGS_OPTIONS                                                               \
        { "allow-unpinned", no_argument, NULL, TEMPLATE_ARG_ALLOW_UNPINNED },              \
        { "var", required_argument, NULL, TEMPLATE_ARG_VAR },                              \
        { "var-file", required_argument, NULL, TEMPLATE_ARG_VAR_FILE },                    \
        { "json", no_argument, NULL, TEMPLATE_ARG_JSON }

#define TEMPLATE_ARGS_HELP                                                                  \
        "  --allow-unpinned     accept URL inputs without a sha256 pin\n"                 \
        "  --var NAME=VALUE     set a variable (highest precedence; repeatable)\n"        \
        "  --var-file FILE      NAME=VALUE lines (below --var, above BAKER_VAR_NAME)\n"   \
        "  --json               print one JSON document on stdout\n"

typedef struct TemplateArgs {
        TemplateOptions options;
        VarsSources vars;
        bool json;
} TemplateArgs;

/* true if c was one of TEMPLATE_ARGS_OPTIONS (and was taken). */
bool template_args_parse_option(TemplateArgs *a, int c, const char *arg);
void template_args_done(TemplateArgs *a);

/* Parses and validates the template and resolves its variables. Always gives a Template (whose
 * errors say what is wrong); *ret_vars is set only when there is no error. */
void template_args_load(const TemplateArgs *a, const char *path, Template **ret_template, Vars **ret_vars);

/* Prints t's errors: as text on stderr, or with --json as {"valid": false, "errors": [{"file",
 * "line", "column", "message"}]} on stdout. Every message passes through log_mask(). */
void template_args_report_errors(const TemplateArgs *a, const Template *t);

/* The options for the bake pipeline (borrowed from a: keep it until the bake is done). */
void template_args_to_bake(const TemplateArgs *a, BakeOptions *o);
