/* Steps whose result their key cannot predict (steps.h, "Results"): a `run` step with the network
 * gives whatever the network serves today. Its key is the key of its definition AND of the result
 * it last gave (plan_set_result()); the cache's ref "results"/<base key> remembers that result, so
 * an ordinary bake finds the same keys again without running it, and a refresh that gets the same
 * result again keeps every later step's cache hits (early cut-off). */
#include "cache.h"
#include "log.h"
#include "plan.h"
#include "steps.h"

#define RESULTS_NS "results"

bool step_result_volatile(const Plan *p, size_t i) {
        const StepOps *ops = step_ops(p->steps[i].step);
        return i < p->secret_from && ops->needs_network && ops->needs_network(p->steps[i].step);
}

bool steps_any_volatile(const Plan *p) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (step_result_volatile(p, i))
                        return true;
        return false;
}

void steps_apply_results(Plan *p, Cache *cache, size_t from) {
        for (size_t i = from; i < p->n_steps; i++) {
                if (!step_result_volatile(p, i))
                        continue;
                char hex[DIGEST_HEX_SIZE + 1];
                digest_to_hex(p->steps[i].base_key, hex);
                uint8_t result[DIGEST_SIZE];
                int r = cache_ref_get(cache, RESULTS_NS, hex, result);
                if (r == -EBADMSG)
                        log_warning("cache: the result ref of step %zu is not a digest, running the step", i + 1);
                if (r >= 0)
                        plan_set_result(p, i, result);
        }
}

int steps_record_result(Plan *p, Cache *cache, size_t i, const uint8_t result[DIGEST_SIZE], bool *ret_changed) {
        PlanStep *s = &p->steps[i];
        if (s->has_result && memcmp(s->result, result, DIGEST_SIZE) == 0) {
                *ret_changed = false;
                return 0;
        }
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(s->base_key, hex);
        int r = cache_ref_set(cache, RESULTS_NS, hex, result);
        if (r < 0)
                return r;
        plan_set_result(p, i, result);
        steps_apply_results(p, cache, i + 1);
        *ret_changed = true;
        return 0;
}
