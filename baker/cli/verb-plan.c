/* baker plan: the ordered steps of a template with their keys, and the bake key. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "log.h"
#include "events.h"
#include "outcome.h"
#include "plan.h"
#include "template-args.h"
#include "verbs.h"

int verb_plan(int argc, char **argv) {
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                if (c == 'h') {
                        printf("usage: %s", verb_find("plan")->usage);
                        return OUTCOME_OK;
                }
                return OUTCOME_USAGE;
        }
        if (verb_check_args("plan", argc - optind) < 0)
                return OUTCOME_USAGE;

        _cleanup_(template_freep) Template *t = NULL;
        _cleanup_(vars_freep) Vars *vars = NULL;
        template_args_load(&args, argv[optind], &t, &vars);
        if (t->n_errors > 0) {
                template_args_report_errors(&args, t);
                return OUTCOME_USAGE;
        }
        _cleanup_(plan_freep) Plan *plan = NULL;
        if (plan_build(t, vars, NULL, &plan) < 0)
                return OUTCOME_INPUT;

        char key[DIGEST_STRING_MAX];
        if (args.json) {
                json_t *o = plan_to_json(plan);
                json_object_set_new(o, "template", json_string(t->name));
                events_print_document(o);
                return OUTCOME_OK;
        }
        printf("%-4s %-12s  %s\n", "#", "KEY", "STEP");
        for (size_t i = 0; i < plan->n_steps; i++) {
                digest_to_hex(plan->steps[i].key, key);
                _cleanup_free_ char *display = log_mask(plan->steps[i].display);
                printf("%-4zu %.12s  %s\n", plan->steps[i].index + 1, key, display);
        }
        digest_to_string(plan->bake_key, key);
        printf("\nbake key: %s\n", key);
        if (plan->unpinned)
                log_warning("some URL inputs are not pinned: the keys do not cover their content");
        return OUTCOME_OK;
}
