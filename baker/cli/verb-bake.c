/* baker bake: a template into a disk image, its manifest, and (when the template says so) a boot
 * test and publishing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "bake.h"
#include "cli.h"
#include "events.h"
#include "fleet.h"
#include "log.h"
#include "template-args.h"
#include "strv.h"
#include "verbs.h"

int verb_bake(int argc, char **argv) {
        enum { ARG_OUTPUT = 0x2000, ARG_CACHE, ARG_REBUILD, ARG_REFRESH, ARG_SKIP_TEST, ARG_NO_PUBLISH, ARG_FAIL_FAST,
               ARG_TARGET, ARG_CACHE_FROM, ARG_CACHE_TO };
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "rebuild", no_argument, NULL, ARG_REBUILD },
                { "refresh", no_argument, NULL, ARG_REFRESH },
                { "skip-test", no_argument, NULL, ARG_SKIP_TEST },
                { "no-publish", no_argument, NULL, ARG_NO_PUBLISH },
                { "file", required_argument, NULL, 'f' },
                { "jobs", required_argument, NULL, 'j' },
                { "fail-fast", no_argument, NULL, ARG_FAIL_FAST },
                { "cache-from", required_argument, NULL, ARG_CACHE_FROM },
                { "cache-to", required_argument, NULL, ARG_CACHE_TO },
                { "target", required_argument, NULL, ARG_TARGET },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        BakeOptions o = {};
        FleetOptions fo = { .bake = &o };
        const char *bakefile = NULL;
        _cleanup_strv_free_ char **names = NULL, **cache_from = NULL, **cache_to = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "ho:f:j:", options, NULL)) >= 0) {
                if (template_args_parse_option(&args, c, optarg))
                        continue;
                switch (c) {
                case 'o':
                case ARG_OUTPUT:
                        o.output_dir = optarg;
                        break;
                case ARG_CACHE:
                        o.cache_dir = optarg;
                        break;
                case ARG_REBUILD:
                        o.rebuild = true;
                        break;
                case ARG_REFRESH:
                        o.refresh = true;
                        break;
                case ARG_SKIP_TEST:
                        o.skip_test = true;
                        break;
                case ARG_NO_PUBLISH:
                        o.no_publish = true;
                        break;
                case 'f':
                        bakefile = optarg;
                        break;
                case 'j': {
                        char *end = NULL;
                        unsigned long j = strtoul(optarg, &end, 10);
                        if (!*optarg || *end || j < 1 || j > 256) {
                                log_error("--jobs: expected a number from 1 to 256, got '%s'", optarg);
                                return OUTCOME_USAGE;
                        }
                        fo.jobs = (unsigned) j;
                        break;
                }
                case ARG_FAIL_FAST:
                        fo.fail_fast = true;
                        break;
                case ARG_TARGET:
                        strv_push(&names, NULL, xstrdup(optarg));
                        break;
                case ARG_CACHE_FROM:
                        strv_push(&cache_from, NULL, xstrdup(optarg));
                        break;
                case ARG_CACHE_TO:
                        strv_push(&cache_to, NULL, xstrdup(optarg));
                        break;
                case 'h':
                        printf("usage: %s", verb_find("bake")->usage);
                        return OUTCOME_OK;
                default:
                        return OUTCOME_USAGE;
                }
        }
        if (verb_check_args("bake", argc - optind) < 0)
                return OUTCOME_USAGE;
        template_args_to_bake(&args, &o);
        events_set_json(args.json);
        if (cli_remote_caches(&cache_from, &cache_to) < 0)
                return OUTCOME_USAGE;
        o.cache_from = cache_from;
        o.cache_to = cache_to;
        bakefile = fleet_bakefile(bakefile, argc - optind);
        if (bakefile || argc - optind != 1 || names) {
                _cleanup_(bake_targets_freep) BakeTargets *targets = NULL;
                if (fleet_load_targets(bakefile, argv + optind, argc - optind, names, &targets) < 0)
                        return OUTCOME_USAGE;
                fo.targets = targets;
                fo.jobs = fo.jobs ?: targets->jobs ?: 1;
                return fleet_run(&fo);
        }
        o.template_path = argv[optind];

        BakeResult res = {};
        Outcome out = bake_run(&o, &res);
        bake_result_done(&res);
        return out;
}
