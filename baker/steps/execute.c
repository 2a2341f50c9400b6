/* Running a plan's steps (steps.h): the cached prefix, then each step through its row — offline
 * on the tree, or in the appliance — with its state stored under its key. */
#include <jansson.h>

#include "appliance.h"
#include "cache.h"
#include "events.h"
#include "log.h"
#include "plan.h"
#include "progress.h"
#include "steps.h"
#include "tree.h"

#define STEP_STATE_FILE "tree.tar"
#define STEP_NS "steps"

int steps_fetch_inputs(const Template *t, Cache *cache, char ***ret_paths) {
        char **paths = xcalloc(t->n_inputs + 1, sizeof(char *));
        for (size_t i = 0; i < t->n_inputs; i++) {
                const TemplateInput *in = t->inputs + i;
                const InputOps *ops = input_ops(in);
                if (!ops || ops->fetch(cache, in, &paths[i]) < 0) {
                        steps_input_paths_free(paths, t->n_inputs);
                        return template_error_at(t, in->location_pos, "input '%s' could not be fetched", in->name);
                }
        }
        *ret_paths = paths;
        return 0;
}

int steps_resolve_inputs(Template *t, Cache *cache, bool refresh) {
        for (size_t i = 0; i < t->n_inputs; i++) {
                TemplateInput *in = t->inputs + i;
                const InputOps *ops = input_ops(in);
                if (ops && ops->resolve && ops->resolve(cache, in, refresh) < 0)
                        return template_error_at(t, in->location_pos, "input '%s' could not be fetched", in->name);
        }
        return 0;
}

void steps_input_paths_free(char **paths, size_t n) {
        for (size_t i = 0; paths && i < n; i++)
                free(paths[i]);
        free(paths);
}

int64_t steps_epoch(const Template *t, const Tree *tree) {
        if (t->has_epoch)
                return (int64_t) t->epoch;
        int64_t e = 1; /* libext2fs reads 0 as "now" */
        for (size_t i = 0; tree && i < tree_size(tree); i++)
                e = MAX(e, tree_entry(tree, i)->mtime_sec);
        return e;
}

/* `cache:` as given, else local for a step that needs the network (what it fetched may be private
 * to this runner's network, and is not covered by its key), shared for any other. */
static bool step_shared(const TemplateStep *s) {
        if (s->cache == STEP_CACHE_LOCAL || s->cache == STEP_CACHE_SHARED)
                return s->cache == STEP_CACHE_SHARED;
        const StepOps *ops = step_ops(s);
        return !(ops->needs_network && ops->needs_network(s));
}

size_t steps_shared_until(const Plan *p) {
        size_t n = MIN(p->n_steps, p->secret_from);
        for (size_t i = 0; i < n; i++)
                if (!step_shared(p->steps[i].step))
                        return i;
        return n;
}

/* One run of the steps. */
typedef struct Run {
        const StepsOptions *o;
        Tree *tree;
        bool prefix_pulled;     /* the cached prefix came from the second cache */
        size_t shared_until;    /* steps from here on stay out of the second cache */
        Appliance appliance;
        StepReport *reports;
        size_t n_reports;
} Run;

static const char *step_label(const PlanStep *s) {
        return s->step->name ? s->step->name : s->display;
}

static void on_run_output(const char *step_name, const char *line, void *userdata) {
        if (events_json())
                event_emit("log", json_pack("{s:s, s:s}", "step", step_name, "line", line), NULL);
        else
                log_notice("[%s] %s", step_name, line);
}

static bool needs_network_from(const Plan *p, size_t from) {
        for (size_t i = from; i < p->n_steps; i++) {
                const StepOps *ops = step_ops(p->steps[i].step);
                if (ops->needs_network && ops->needs_network(p->steps[i].step))
                        return true;
        }
        return false;
}

static bool appliance_needed_from(const Plan *p, size_t from) {
        for (size_t i = from; i < p->n_steps; i++)
                if (step_ops(p->steps[i].step)->flags & STEP_NEEDS_APPLIANCE)
                        return true;
        return false;
}

static int execute_in_appliance(Run *run, const StepOps *ops, const StepContext *c, size_t i) {
        const Plan *p = run->o->plan;
        int r;
        if (!run->appliance.guest) {
                r = appliance_start(&run->appliance, run->tree, c->epoch, needs_network_from(p, i));
                if (r < 0)
                        return r;
        }
        StepContext cc = *c;
        cc.guest = run->appliance.guest;
        r = ops->execute(&cc, p->steps[i].step);
        if (r < 0)
                return r;
        if (!appliance_needed_from(p, i + 1))
                return appliance_read_back(&run->appliance, c->epoch, &run->tree);
        return appliance_peek(&run->appliance, c->epoch, &run->tree);
}

static int execute_offline(Run *run, const StepOps *ops, const StepContext *c, size_t i) {
        const TemplateStep *s = run->o->plan->steps[i].step;
        /* A step that removes files cannot be copied in as a delta: the appliance's copy would be
         * stale, so a later run step relaunches it. */
        if (ops->flags & STEP_REMOVES_FILES)
                appliance_stop(&run->appliance);
        if (!ops->apply)
                return 0;
        int r = ops->apply(c, s, run->tree);
        if (r < 0 || !run->appliance.guest)
                return r;
        if (!appliance_needed_from(run->o->plan, i + 1)) {
                appliance_stop(&run->appliance); /* nothing more to run: the in-memory tree is the truth */
                return 0;
        }
        _cleanup_(tree_freep) Tree *delta = tree_new();
        r = ops->apply(c, s, delta);
        /* the epoch as the tree now gives it: the step may have brought newer files */
        return r < 0 ? r : appliance_push(&run->appliance, delta, steps_epoch(run->o->t, run->tree));
}

static int execute_step(Run *run, size_t i) {
        const StepsOptions *o = run->o;
        const PlanStep *ps = o->plan->steps + i;
        const StepOps *ops = step_ops(ps->step);
        StepContext c = {
                .t = o->t,
                .vars = o->vars,
                .input_paths = o->input_paths,
                .epoch = steps_epoch(o->t, run->tree),
                .label = step_label(ps),
                .on_output = on_run_output,
        };
        if (ops->flags & STEP_NEEDS_APPLIANCE)
                return execute_in_appliance(run, ops, &c, i);
        return execute_offline(run, ops, &c, i);
}

/* The state's tar, written into a cache entry's temporary directory: the bytes a volatile step's
 * result is known by (tree_write is canonical: the same tree gives the same tar). */
static int write_step_state(Run *run, size_t i, const char *tmpdir, uint8_t ret_digest[DIGEST_SIZE]) {
        _cleanup_free_ char *tar = path_join(tmpdir, STEP_STATE_FILE);
        int r = tree_write(run->tree, tar, steps_epoch(run->o->t, run->tree));
        if (r < 0)
                return log_error_errno(r, "failed to write the state of step %zu: %m", i + 1);
        r = digest_file(tar, ret_digest, NULL);
        if (r < 0)
                return log_error_errno(r, "failed to digest the state of step %zu: %m", i + 1);
        return 0;
}

/* A volatile step's result decides its key (step-results.c); says whether it changed. */
static int record_result(Run *run, size_t i, const uint8_t result[DIGEST_SIZE]) {
        const StepsOptions *o = run->o;
        bool changed = false;
        int r = steps_record_result(o->plan, o->cache, i, result, &changed);
        if (r < 0)
                return r;
        char d[DIGEST_STRING_MAX];
        digest_to_string(result, d);
        _cleanup_free_ char *name = log_mask(step_label(o->plan->steps + i));
        _cleanup_free_ char *human = xasprintf("[%zu/%zu] %s: %s result (%.19s…)", i + 1, o->plan->n_steps, name,
                                               changed ? "a new" : "the same", d);
        event_emit("step-result", json_pack("{s:I, s:s, s:s, s:b}", "index", (json_int_t) i + 1, "name", name, "result",
                                            d, "changed", changed),
                   human);
        return 0;
}

static int save_step_state(Run *run, size_t i) {
        const StepsOptions *o = run->o;
        char hex[DIGEST_HEX_SIZE + 1];
        digest_to_hex(o->plan->steps[i].key, hex);
        _cleanup_free_ char *tmpdir = NULL, *final = NULL;
        int r = cache_entry_begin(o->cache, STEP_NS, hex, &tmpdir);
        if (r < 0)
                return log_error_errno(r, "failed to store the state of step %zu in the cache: %m", i + 1);
        uint8_t result[DIGEST_SIZE];
        r = write_step_state(run, i, tmpdir, result);
        if (r >= 0 && step_result_volatile(o->plan, i))
                r = record_result(run, i, result);
        if (r < 0) {
                cache_entry_abort(o->cache, tmpdir);
                return r;
        }
        digest_to_hex(o->plan->steps[i].key, hex); /* the result may have re-keyed it */
        r = cache_entry_commit(o->cache, STEP_NS, hex, tmpdir, &final);
        if (r < 0) {
                cache_entry_abort(o->cache, tmpdir); /* else it stays, locked, until the next cache_open */
                return log_error_errno(r, "failed to commit the state of step %zu: %m", i + 1);
        }
        if (o->cache_stored && i < run->shared_until)
                o->cache_stored(o->cache_userdata, STEP_NS, hex, final);
        return 0;
}

/* A step state in the local cache, else (when it may be shared) brought there from the second one
 * (*ret_pulled). */
static bool lookup_state(const StepsOptions *o, const char *hex, bool shared, char **ret_dir, bool *ret_pulled) {
        if (cache_entry_lookup(o->cache, STEP_NS, hex, ret_dir) >= 0)
                return true;
        if (!shared || !o->cache_fetch || o->cache_fetch(o->cache_userdata, o->cache, STEP_NS, hex) < 0 ||
            cache_entry_lookup(o->cache, STEP_NS, hex, ret_dir) < 0)
                return false;
        *ret_pulled = true;
        return true;
}

/* Where a search for cached states ends: at a secret's first step, and with refresh at the next
 * volatile step (it must run again). */
static size_t cached_limit(const Run *run, size_t from) {
        const Plan *p = run->o->plan;
        size_t end = MIN(p->n_steps, p->secret_from);
        for (size_t i = from; run->o->refresh && i < end; i++)
                if (step_result_volatile(p, i))
                        return i;
        return end;
}

/* The last step in [from, cached_limit) whose state is cached becomes the tree: steps up to it are
 * skipped; from - 1 if none. A step from plan->secret_from on is never looked up: its key does not
 * cover the secret it used. */
static ssize_t find_cached_prefix(Run *run, size_t from) {
        const Plan *p = run->o->plan;
        for (ssize_t i = (ssize_t) cached_limit(run, from) - 1; i >= (ssize_t) from; i--) {
                char hex[DIGEST_HEX_SIZE + 1];
                digest_to_hex(p->steps[i].key, hex);
                _cleanup_free_ char *dir = NULL;
                bool pulled = false;
                if (!lookup_state(run->o, hex, (size_t) i < run->shared_until, &dir, &pulled))
                        continue;
                _cleanup_free_ char *tar = path_join(dir, STEP_STATE_FILE);
                Tree *t = NULL;
                if (tree_load(tar, &t) < 0) {
                        log_warning("cached state of step %zd is unreadable, rebuilding it", i + 1);
                        continue;
                }
                appliance_stop(&run->appliance); /* its root is not this state */
                tree_free(run->tree);
                run->tree = t;
                run->prefix_pulled = pulled;
                if (pulled && run->o->cache_stored) /* refresh its use in the second cache */
                        run->o->cache_stored(run->o->cache_userdata, STEP_NS, hex, dir);
                return i;
        }
        return (ssize_t) from - 1;
}

static void step_report(Run *run, const PlanStep *ps, double seconds, bool cached) {
        run->reports = xrealloc(run->reports, (run->n_reports + 1) * sizeof(StepReport));
        StepReport *r = &run->reports[run->n_reports++];
        *r = (StepReport) { .index = ps->index + 1, .name = log_mask(step_label(ps)), .kind = ps->kind->name,
                            .seconds = seconds, .cached = cached, .pulled = cached && run->prefix_pulled };
        memcpy(r->key, ps->key, DIGEST_SIZE);
}

void step_reports_free(StepReport *r, size_t n) {
        for (size_t i = 0; r && i < n; i++)
                free(r[i].name);
        free(r);
}

static void step_event(const PlanStep *ps, size_t n, const char *status, double secs) {
        _cleanup_free_ char *name = log_mask(step_label(ps));
        char key[DIGEST_STRING_MAX];
        digest_to_string(ps->key, key);
        json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "index", (json_int_t) ps->index + 1, "name", name, "key", key,
                              "status", status);
        _cleanup_free_ char *human = NULL;
        if (streq(status, "done")) {
                json_object_set_new(o, "seconds", json_real(secs));
                human = xasprintf("[%zu/%zu] %s: done in %.1fs", ps->index + 1, n, name, secs);
        } else if (streq(status, "cached") || streq(status, "pulled"))
                human = xasprintf("[%zu/%zu] %s: %s", ps->index + 1, n, name, status);
        event_emit("step", o, human);
}

static int run_one(Run *run, size_t i) {
        const Plan *p = run->o->plan;
        const PlanStep *ps = p->steps + i;
        _cleanup_free_ char *name = log_mask(step_label(ps));
        char key[DIGEST_STRING_MAX];
        digest_to_string(ps->key, key);
        _cleanup_free_ char *begin = xasprintf("[%zu/%zu] %s", i + 1, p->n_steps, name);
        /* On a terminal the live status line says it (progress.h). */
        event_emit("step-begin", json_pack("{s:I, s:s, s:s}", "index", (json_int_t) i + 1, "name", name, "key", key),
                   log_is_tty() ? NULL : begin);
        double t0 = now_seconds();
        progress_begin(begin);
        int r = execute_step(run, i);
        progress_end();
        if (r < 0) {
                step_event(ps, p->n_steps, "failed", 0);
                return r;
        }
        if (i < p->secret_from) {
                r = save_step_state(run, i);
                if (r < 0)
                        return r;
        } else
                log_debug("step %zu is not cached: it or a step before it uses a secret", i + 1);
        double secs = now_seconds() - t0;
        step_report(run, ps, secs, false);
        step_event(ps, p->n_steps, "done", secs);
        return 0;
}

int steps_run(const StepsOptions *o, Tree **ret_tree, StepReport **ret_reports, size_t *ret_n_reports) {
        Run run = { .o = o, .appliance = { .work_dir = o->work_dir }, .shared_until = steps_shared_until(o->plan) };
        const Plan *p = o->plan;
        ssize_t cached = find_cached_prefix(&run, 0);
        if (!run.tree)
                run.tree = tree_new();
        int r = 0;
        for (size_t i = 0; i < p->n_steps && r >= 0; i++) {
                if ((ssize_t) i <= cached) {
                        step_report(&run, p->steps + i, 0, true);
                        step_event(p->steps + i, p->n_steps, run.prefix_pulled ? "pulled" : "cached", 0);
                        continue;
                }
                r = run_one(&run, i);
                /* Its result gave the later keys: their states may be cached (early cut-off). */
                if (r >= 0 && step_result_volatile(p, i))
                        cached = find_cached_prefix(&run, i + 1);
        }
        appliance_stop(&run.appliance);
        if (r < 0) {
                tree_free(run.tree);
                step_reports_free(run.reports, run.n_reports);
                return r;
        }
        *ret_tree = run.tree;
        *ret_reports = run.reports;
        *ret_n_reports = run.n_reports;
        return 0;
}
