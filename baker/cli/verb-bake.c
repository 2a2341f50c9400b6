/* baker bake: a template into a disk image, its manifest, and (when the template says so) a boot
 * test and publishing. */
#include <getopt.h>
#include <stdio.h>

#include "bake.h"
#include "events.h"
#include "log.h"
#include "verbs.h"

int verb_bake(int argc, char **argv) {
        enum { ARG_OUTPUT = 0x2000, ARG_CACHE, ARG_REBUILD, ARG_SKIP_TEST, ARG_NO_PUBLISH };
        static const struct option options[] = {
                TEMPLATE_ARGS_OPTIONS,
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "rebuild", no_argument, NULL, ARG_REBUILD },
                { "skip-test", no_argument, NULL, ARG_SKIP_TEST },
                { "no-publish", no_argument, NULL, ARG_NO_PUBLISH },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_(template_args_done) TemplateArgs args = {};
        BakeOptions o = { .args = &args };
        int c;
        while ((c = getopt_long(argc, argv, "ho:", options, NULL)) >= 0) {
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
                case ARG_SKIP_TEST:
                        o.skip_test = true;
                        break;
                case ARG_NO_PUBLISH:
                        o.no_publish = true;
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
        o.template_path = argv[optind];
        events_set_json(args.json);

        BakeResult res = {};
        Outcome out = bake_run(&o, &res);
        bake_result_done(&res);
        return out;
}
