/* The bake's side of `debian` inputs: the lock file before the plan, and after a refresh that
 * succeeded. */
#include "bake-debian.h"

#include "cache.h"
#include "input-debian.h"
#include "lock.h"
#include "log.h"

Outcome bake_debian_prepare(const Template *t, const Vars *vars, const char *cache_path, bool refresh,
                            Lock **ret_moved) {
        if (ret_moved)
                *ret_moved = NULL;
        if (!template_has_debian_inputs(t))
                return OUTCOME_OK;
        _cleanup_(cache_freep) Cache *cache = NULL;
        if (cache_open(cache_path, &cache) < 0)
                return OUTCOME_INTERNAL;
        _cleanup_free_ char *state = path_join(cache_dir(cache), "apt-state");
        _cleanup_free_ char *lock_path = lock_path_for_template(t->path);
        _cleanup_(lock_freep) Lock *lock = NULL;
        int r = lock_load(lock_path, &lock);
        if (r < 0 && r != -ENOENT)
                return OUTCOME_USAGE;
        bool had_lock = lock != NULL;
        if (!lock)
                lock = lock_new();
        DebianPrepare o = { .lock = lock, .lock_path = lock_path, .refresh = refresh, .state_dir = state };
        r = debian_inputs_prepare(t, vars, &o);
        if (r == -EINVAL)
                return OUTCOME_USAGE;
        if (r < 0)
                return OUTCOME_INPUT;
        for (size_t i = 0; i < t->n_inputs; i++) {
                const PackageDiff *d = debian_input_changes(&t->inputs[i]);
                if (!d)
                        continue;
                if (!debian_input_resolved(&t->inputs[i]))
                        log_info("input '%s': %zu packages from '%s'", t->inputs[i].name,
                                 debian_input_packages(&t->inputs[i])->n, lock_path);
                else if (!had_lock)
                        log_notice("input '%s': resolved %zu packages (no lock: 'baker lock' pins them)",
                                   t->inputs[i].name, debian_input_packages(&t->inputs[i])->n);
                else
                        for (size_t k = 0; k < d->n; k++) {
                                _cleanup_free_ char *c = package_change_to_string(&d->changes[k]);
                                log_notice("input '%s': %s since '%s'", t->inputs[i].name, c, lock_path);
                        }
        }
        /* A refresh moves the lock on, but only once the bake succeeded (bake_debian_commit): a
         * failed one leaves the committed lock as it was. */
        if (had_lock && refresh && ret_moved)
                *ret_moved = TAKE_PTR(lock);
        return OUTCOME_OK;
}

Outcome bake_debian_commit(const Template *t, const Lock *moved) {
        if (!moved)
                return OUTCOME_OK;
        _cleanup_free_ char *lock_path = lock_path_for_template(t->path);
        return lock_save(moved, lock_path) < 0 ? OUTCOME_INTERNAL : OUTCOME_OK;
}
