#pragma once
/* `debian` inputs in the bake (bake-debian.c): the lock before the plan. */
#include <stdbool.h>

#include "lock.h"
#include "outcome.h"
#include "template.h"
#include "vars.h"

/* For every `debian` input: the package set from NAME.lock, or resolved (no lock entry, or
 * refresh). apt's lists are kept in the cache (cache_dir NULL = the default one). Before
 * plan_build(). Reports its errors. A refresh of a template that has a lock moves the lock on in
 * memory only: *ret_moved (when ret_moved is not NULL) is that lock, NULL when there is none,
 * for bake_debian_commit() once the bake (and its publishing) succeeded. */
Outcome bake_debian_prepare(const Template *t, const Vars *vars, const char *cache_dir, bool refresh,
                            Lock **ret_moved);
/* Writes the moved lock beside the template (temporary sibling, then rename); nothing for NULL. */
Outcome bake_debian_commit(const Template *t, const Lock *moved);
