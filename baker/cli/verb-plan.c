/* baker plan: the ordered steps of a template with their keys, and the bake key. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>

#include "bake-debian.h"
#include "cli.h"
#include "log.h"
#include "events.h"
#include "fleet.h"
#include "matrix.h"
#include "outcome.h"
#include "plan.h"
#include "publish.h"
#include "strv.h"
#include "template-args.h"
#include "verbs.h"

/* --matrix: one line of JSON, so that `echo "matrix=$(baker plan --matrix)" >> $GITHUB_OUTPUT` works. */
static int plan_matrix(const TemplateArgs *args, const char *bakefile, char **names, const char *cache_dir,
                       char **cache_from, int n, char **templates) {
        bakefile = fleet_bakefile(bakefile, n);
        _cleanup_(bake_targets_freep) BakeTargets *targets = NULL;
        if (fleet_load_targets(bakefile, templates, n, names, &targets) < 0)
                return OUTCOME_USAGE;
        json_t *doc = NULL;
        MatrixOptions mo = { .template = args->options, .vars = args->vars, .targets = targets, .bakefile = bakefile,
                             .cache_dir = cache_dir, .cache_from = cache_from };
        if (matrix_build(&mo, &doc) < 0)
                return OUTCOME_USAGE;
        _cleanup_free_ char *s = json_dumps_masked(doc, JSON_COMPACT);
        json_decref(doc);
        puts(s);
        return OUTCOME_OK;
}

/* Where a bake of t publishes, as push would name it (a glance entry: "glance:CLOUD"), and the
 * channels it moves. The bake key does not cover them. */
static json_t *plan_publish_json(const Template *t) {
        json_t *targets = json_array(), *channels = json_array();
        for (size_t i = 0; i < t->n_publish; i++) {
                const TemplatePublish *p = t->publish + i;
                const char *kind = publish_kind_to_string(p->kind);
                char *target = p->kind == PUBLISH_GLANCE ? xasprintf("glance:%s", *p->target ? p->target : "$OS_CLOUD")
                                                          : publish_target(kind, p->target, t->name);
                json_array_append_new(targets, json_pack("{s:s, s:s}", "kind", kind, "target", target));
                free(target);
        }
        for (size_t i = 0; i < t->n_channels; i++)
                json_array_append_new(channels, json_string(t->channels[i]));
        return json_pack("{s:o, s:o}", "targets", targets, "channels", channels);
}

static void plan_publish_print(const json_t *publish) {
        const json_t *e;
        size_t i;
        json_array_foreach(json_object_get(publish, "targets"), i, e) {
                _cleanup_free_ char *target = log_mask(json_string_value(json_object_get(e, "target")));
                printf("%s %s\n", i == 0 ? "publish:" : "        ", target);
        }
        json_array_foreach(json_object_get(publish, "channels"), i, e)
                printf("%s%s", i == 0 ? "channels: " : ", ", json_string_value(e));
        if (json_array_size(json_object_get(publish, "channels")) > 0)
                printf("\n");
}

int verb_plan(int argc, char **argv) {
        enum { ARG_MATRIX = 0x2000, ARG_TARGET, ARG_CACHE, ARG_CACHE_FROM };
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "matrix", no_argument, NULL, ARG_MATRIX },
                { "file", required_argument, NULL, 'f' },
                { "target", required_argument, NULL, ARG_TARGET },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "cache-from", required_argument, NULL, ARG_CACHE_FROM },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        _cleanup_strv_free_ char **names = NULL, **cache_from = NULL, **cache_to = NULL;
        const char *bakefile = NULL, *cache_dir = NULL;
        bool matrix = false;
        int c;
        while ((c = getopt_long(argc, argv, "hf:", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                if (c == ARG_MATRIX)
                        matrix = true;
                else if (c == 'f')
                        bakefile = optarg;
                else if (c == ARG_TARGET)
                        strv_push(&names, NULL, xstrdup(optarg));
                else if (c == ARG_CACHE)
                        cache_dir = optarg;
                else if (c == ARG_CACHE_FROM)
                        strv_push(&cache_from, NULL, xstrdup(optarg));
                else if (c == 'h') {
                        printf("usage: %s", verb_find("plan")->usage);
                        return OUTCOME_OK;
                } else
                        return OUTCOME_USAGE;
        }
        if (verb_check_args("plan", argc - optind) < 0)
                return OUTCOME_USAGE;
        if (matrix) {
                if (cli_remote_caches(&cache_from, &cache_to) < 0)
                        return OUTCOME_USAGE;
                return plan_matrix(&args, bakefile, names, cache_dir, cache_from, argc - optind, argv + optind);
        }
        if (argc - optind != 1 || bakefile || names) {
                log_error("plan: expected one TEMPLATE (several, -f and --target go with --matrix)");
                return OUTCOME_USAGE;
        }

        _cleanup_(template_freep) Template *t = NULL;
        _cleanup_(vars_freep) Vars *vars = NULL;
        template_args_load(&args, argv[optind], &t, &vars);
        if (t->n_errors > 0) {
                template_args_report_errors(&args, t);
                return OUTCOME_USAGE;
        }
        Outcome out = bake_debian_prepare(t, vars, NULL, false, NULL);
        if (out != OUTCOME_OK)
                return out;
        _cleanup_(plan_freep) Plan *plan = NULL;
        if (plan_build(t, vars, NULL, &plan) < 0)
                return OUTCOME_INPUT;

        char key[DIGEST_STRING_MAX];
        if (args.json) {
                json_t *o = plan_to_json(plan);
                json_object_set_new(o, "template", json_string(t->name));
                json_object_set_new(o, "publish", plan_publish_json(t));
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
        json_t *publish = plan_publish_json(t);
        plan_publish_print(publish);
        json_decref(publish);
        if (plan->unpinned)
                log_warning("some URL inputs are not pinned: the keys do not cover their content");
        return OUTCOME_OK;
}
