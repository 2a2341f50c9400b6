#pragma once
/* baker's own configuration file: settings that belong to a machine or a project rather than to a
 * template. Read from ./.baker.yaml (the project: committed beside the templates) and from
 * $XDG_CONFIG_HOME/baker/config.yaml (the user), the project's file first: for each setting the
 * first file that gives it wins. Options and environment variables win over both (the callers see
 * to that; README, "A shared step cache in a registry"). Schema:
 *
 *   cache:
 *     from: REF | [REF, ...]     remote caches to pull from (as --cache-from)
 *     to: REF | [REF, ...]       remote caches to push to (as --cache-to)
 *
 * Errors are reported as FILE:LINE:COL: error: MESSAGE. */
#include <stdbool.h>

#include "util.h"

#define BAKER_CONFIG_PROJECT ".baker.yaml"
#define BAKER_CONFIG_USER "baker/config.yaml" /* under $XDG_CONFIG_HOME */

typedef struct BakerConfig {
        char **cache_from; /* strv; NULL when no file gives it */
        char **cache_to;
        bool has_cache_from, has_cache_to; /* given, maybe as an empty list */
} BakerConfig;

void baker_config_done(BakerConfig *c);

/* Adds what the file at path gives and *c does not have yet. A missing file is no error (0); logs
 * every error (file:line:col) and returns -EINVAL if there was one. */
int baker_config_load_file(const char *path, BakerConfig *c);
/* The project's file, then the user's (see above). */
int baker_config_load(BakerConfig *ret);
