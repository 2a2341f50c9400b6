/* baker lock: resolve every `debian` input of a template to its exact package set and write it
 * to NAME.lock beside the template. */
#include <getopt.h>
#include <stdio.h>

#include "cache.h"
#include "input-debian.h"
#include "lock.h"
#include "log.h"
#include "outcome.h"
#include "template-args.h"
#include "verbs.h"

static void print_input(const TemplateInput *in, bool update) {
        const DebPackageSet *set = debian_input_packages(in);
        const PackageDiff *d = debian_input_changes(in);
        if (!debian_input_resolved(in)) {
                printf("input '%s': %zu packages, as locked\n", in->name, set->n);
                return;
        }
        printf("input '%s': %zu packages resolved", in->name, set->n);
        if (d->n == 0)
                printf("%s\n", update ? ", none changed" : "");
        else
                printf(", %zu changed, %zu added, %zu removed:\n", d->n_changed, d->n_added, d->n_removed);
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_free_ char *c = package_change_to_string(&d->changes[i]);
                printf("  %s\n", c);
        }
}

static int lock_template(const TemplateArgs *args, const char *path, bool update) {
        _cleanup_(template_freep) Template *t = NULL;
        _cleanup_(vars_freep) Vars *vars = NULL;
        template_args_load(args, path, &t, &vars);
        if (t->n_errors > 0) {
                template_args_report_errors(args, t);
                return OUTCOME_USAGE;
        }
        if (!template_has_debian_inputs(t))
                return log_error("'%s' has no debian input: nothing to lock", path), OUTCOME_USAGE;
        _cleanup_free_ char *lock_path = lock_path_for_template(t->path);
        _cleanup_(lock_freep) Lock *lock = NULL;
        int r = lock_load(lock_path, &lock);
        if (r < 0 && r != -ENOENT)
                return OUTCOME_USAGE;
        if (!lock)
                lock = lock_new();
        _cleanup_(cache_freep) Cache *cache = NULL;
        if (cache_open(NULL, &cache) < 0)
                return OUTCOME_INTERNAL;
        _cleanup_free_ char *state = path_join(cache_dir(cache), "apt-state");
        DebianPrepare o = { .lock = lock, .lock_path = lock_path, .refresh = update, .relock = true, .state_dir = state };
        r = debian_inputs_prepare(t, vars, &o);
        if (r < 0)
                return r == -EINVAL ? OUTCOME_USAGE : OUTCOME_INPUT;
        char **names = xcalloc(t->n_inputs + 1, sizeof(char *));
        for (size_t i = 0; i < t->n_inputs; i++)
                names[i] = t->inputs[i].name;
        lock_retain(lock, names, t->n_inputs); /* inputs the template no longer has */
        free(names);
        for (size_t i = 0; i < t->n_inputs; i++)
                if (debian_input_packages(&t->inputs[i]))
                        print_input(&t->inputs[i], update);
        if (lock_save(lock, lock_path) < 0)
                return OUTCOME_INTERNAL;
        printf("wrote %s\n", lock_path);
        return OUTCOME_OK;
}

int verb_lock(int argc, char **argv) {
        enum { ARG_UPDATE = 0x2000 };
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "update", no_argument, NULL, ARG_UPDATE },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        bool update = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                if (c == ARG_UPDATE) {
                        update = true;
                        continue;
                }
                if (c == 'h') {
                        printf("usage: %s", verb_find("lock")->usage);
                        return OUTCOME_OK;
                }
                return OUTCOME_USAGE;
        }
        if (verb_check_args("lock", argc - optind) < 0)
                return OUTCOME_USAGE;
        return lock_template(&args, argv[optind], update);
}
