#pragma once
/* The build file (bakefile.yaml): many bakes at once, templates × variable sets, the way docker
 * buildx bake lists targets. Schema:
 *
 *   jobs: 2                      optional: default for --jobs
 *   targets:
 *     - template: a.yaml         relative to the build file's directory
 *       name: a                  optional: default the template's file name without .yaml
 *       output: out/a            optional: default OUTPUT/NAME (OUTPUT from -o, else "output")
 *       vars: { NAME: VALUE }    optional: --var for this target
 *       var-files: [x.env]       optional: --var-file for this target
 *       matrix:                  optional: one bake per combination of these variables' values;
 *         arch: [x86_64, arm64]    the name gets "-VALUE" appended for each (in the order given)
 *
 * Names are unique, [A-Za-z0-9._-] (values in derived names are sanitised), and name an output
 * directory. Errors are reported as FILE:LINE:COL: error: MESSAGE. */
#include <stddef.h>

#include "util.h"

typedef struct BakeTarget {
        char *name;
        char *template_path;
        char *output_dir;  /* NULL: OUTPUT/name */
        char **vars;       /* strv of "NAME=VALUE" */
        char **var_files;  /* strv of paths */
} BakeTarget;

typedef struct BakeTargets {
        BakeTarget *targets;
        size_t n;
        unsigned jobs;     /* from the file's `jobs:`, 0 if absent */
} BakeTargets;

BakeTargets *bake_targets_free(BakeTargets *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(BakeTargets *, bake_targets_free);

/* Parses a build file; logs every error (file:line:col) and returns -EINVAL if there was one. */
int bakefile_load(const char *path, BakeTargets **ret);
/* One target per template path, named after the file (a repeated name gets "-2", "-3", …). */
int bake_targets_from_templates(char *const *paths, size_t n, BakeTargets **ret);
/* Keeps only the targets named in names (strv); -ENOENT (logged) for a name that is not there. */
int bake_targets_select(BakeTargets *t, char *const *names);
