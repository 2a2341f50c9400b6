#pragma once
/* A CI matrix (`baker plan --matrix`): {"include": [{name, template, vars, bake_key, cached, shared,
 * command}, …]}, one entry per target (template × variable set), in the shape GitHub Actions'
 * `strategy.matrix: ${{ fromJSON(…) }}` takes, and that a GitLab job turns into a child pipeline's
 * `parallel: matrix:`. `shared` says whether a remote cache (--cache-from) holds the finished bake
 * with that key (one manifest GET per key), `cached` whether the local cache or a remote one does,
 * so a CI job can skip the entries that have nothing to do; `command` bakes just that entry. */
#include <jansson.h>

#include "bakefile.h"
#include "template.h"
#include "vars.h"

typedef struct MatrixOptions {
        TemplateOptions template;    /* --allow-unpinned for every target (the kinds are added) */
        VarsSources vars;            /* --var, --var-file for every target */
        const BakeTargets *targets;
        const char *bakefile;        /* the build file the targets came from, or NULL */
        const char *cache_dir;       /* NULL = $BAKER_CACHE or the XDG default */
        char **cache_from;           /* strv: the remote caches asked for `shared` (may be NULL) */
} MatrixOptions;

/* Logs its errors (template errors as FILE:LINE:COL). */
int matrix_build(const MatrixOptions *o, json_t **ret);
