#pragma once
/* `debian` inputs in the bake (bake-debian.c): the lock before the plan. */
#include <stdbool.h>

#include "outcome.h"
#include "template.h"
#include "vars.h"

/* For every `debian` input: the package set from NAME.lock, or resolved (no lock entry, or
 * refresh; a refresh writes the lock it moved on). apt's lists are kept in the cache (cache_dir
 * NULL = the default one). Before plan_build(). Reports its errors. */
Outcome bake_debian_prepare(const Template *t, const Vars *vars, const char *cache_dir, bool refresh);
