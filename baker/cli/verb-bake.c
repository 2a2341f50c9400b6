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

enum { ARG_OUTPUT = 0x2000, ARG_CACHE, ARG_REBUILD, ARG_REFRESH, ARG_SKIP_TEST, ARG_NO_PUBLISH, ARG_FAIL_FAST,
       ARG_TARGET, ARG_CACHE_FROM, ARG_CACHE_TO };

/* What the command line asks: one bake (o), or many (fo, with bakefile and names). */
typedef struct BakeArgs {
        TemplateArgs template;
        BakeOptions o;
        FleetOptions fo;
        const char *bakefile;
        char **names, **cache_from, **cache_to; /* strv */
} BakeArgs;

static void bake_args_done(BakeArgs *a) {
        template_args_done(&a->template);
        strv_free(a->names);
        strv_free(a->cache_from);
        strv_free(a->cache_to);
}

static int parse_jobs(const char *s, unsigned *ret) {
        char *end = NULL;
        unsigned long j = strtoul(s, &end, 10);
        if (!*s || *end || j < 1 || j > 256)
                return log_error_errno(-EINVAL, "--jobs: expected a number from 1 to 256, got '%s'", s);
        *ret = (unsigned) j;
        return 0;
}

/* One option of getopt_long's (not a template option): 0, 1 for --help, < 0 for a usage error. */
static int parse_option(BakeArgs *a, int c, const char *arg) {
        switch (c) {
        case 'o':
        case ARG_OUTPUT:
                a->o.output_dir = arg;
                return 0;
        case ARG_CACHE:
                a->o.cache_dir = arg;
                return 0;
        case ARG_REBUILD:
                a->o.rebuild = true;
                return 0;
        case ARG_REFRESH:
                a->o.refresh = true;
                return 0;
        case ARG_SKIP_TEST:
                a->o.skip_test = true;
                return 0;
        case ARG_NO_PUBLISH:
                a->o.no_publish = true;
                return 0;
        case 'f':
                a->bakefile = arg;
                return 0;
        case 'j':
                return parse_jobs(arg, &a->fo.jobs);
        case ARG_FAIL_FAST:
                a->fo.fail_fast = true;
                return 0;
        case ARG_TARGET:
                strv_push(&a->names, NULL, xstrdup(arg));
                return 0;
        case ARG_CACHE_FROM:
                strv_push(&a->cache_from, NULL, xstrdup(arg));
                return 0;
        case ARG_CACHE_TO:
                strv_push(&a->cache_to, NULL, xstrdup(arg));
                return 0;
        case 'h':
                return 1;
        default:
                return -EINVAL;
        }
}

static int parse_args(int argc, char **argv, BakeArgs *a) {
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
        int c;
        while ((c = getopt_long(argc, argv, "ho:f:j:", options, NULL)) >= 0) {
                if (template_args_parse_option(&a->template, c, optarg))
                        continue;
                int r = parse_option(a, c, optarg);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* Several templates, a build file or --target: each bake in its own process (fleet.h). */
static Outcome bake_many(BakeArgs *a, char *const *templates, size_t n) {
        _cleanup_(bake_targets_freep) BakeTargets *targets = NULL;
        if (fleet_load_targets(a->bakefile, templates, n, a->names, &targets) < 0)
                return OUTCOME_USAGE;
        a->fo.targets = targets;
        a->fo.jobs = a->fo.jobs ?: targets->jobs ?: 1;
        return fleet_run(&a->fo);
}

int verb_bake(int argc, char **argv) {
        _cleanup_(bake_args_done) BakeArgs a = {};
        a.fo.bake = &a.o;
        int r = parse_args(argc, argv, &a);
        if (r > 0) {
                printf("usage: %s", verb_find("bake")->usage);
                return OUTCOME_OK;
        }
        if (r < 0 || verb_check_args("bake", argc - optind) < 0)
                return OUTCOME_USAGE;
        template_args_to_bake(&a.template, &a.o);
        events_set_json(a.template.json);
        if (cli_remote_caches(&a.cache_from, &a.cache_to) < 0)
                return OUTCOME_USAGE;
        a.o.cache_from = a.cache_from;
        a.o.cache_to = a.cache_to;
        a.bakefile = fleet_bakefile(a.bakefile, argc - optind);
        if (a.bakefile || argc - optind != 1 || a.names)
                return bake_many(&a, argv + optind, (size_t) (argc - optind));

        a.o.template_path = argv[optind];
        BakeResult res = {};
        Outcome out = bake_run(&a.o, &res);
        bake_result_done(&res);
        return out;
}
