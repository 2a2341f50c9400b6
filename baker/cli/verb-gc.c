/* baker gc REF --keep N [--dry-run] [--force]: deletes versions no channel points at, beyond the newest N. */
#include <getopt.h>
#include <jansson.h>

#include <inttypes.h>

#include "cli-glance.h"
#include "glance.h"
#include "strv.h"
#include "versions.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "cli.h"
#include "verbs.h"

int verb_gc(int argc, char **argv) {
        static const struct option options[] = {
                CLI_REGISTRY_OPTIONS,
                { "keep", required_argument, NULL, 'n' },
                { "dry-run", no_argument, NULL, 'd' },
                { "force", no_argument, NULL, 'f' },
                {},
        };
        bool json = false;
        GcOptions opts = {};
        long keep = -1;
        int c, k;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n': {
                        char *end;
                        keep = strtol(optarg, &end, 10);
                        if (*end || keep < 0 || keep > 100000) {
                                log_error("invalid --keep '%s'", optarg);
                                return OUTCOME_USAGE;
                        }
                        break;
                }
                case 'd':
                        opts.dry_run = true;
                        break;
                case 'f':
                        opts.force = true;
                        break;
                default:
                        if (!cli_registry_option(c, optarg, &json))
                                return OUTCOME_USAGE;
                        break;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        if (keep < 0) {
                log_error("gc needs --keep N");
                return OUTCOME_USAGE;
        }
        opts.keep = (unsigned) keep;
        if (glance_ref_is(argv[optind]))
                return cli_glance_gc(argv[optind], &opts, json);
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(argv[optind], false, NULL, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        _cleanup_(gc_report_done) GcReport report = {};
        k = versions_gc(r, &opts, &report);
        if (k == -EPERM)
                return OUTCOME_USAGE;
        if (k < 0)
                return cli_registry_outcome(k);
        if (report.refused)
                log_warning("without --dry-run, gc would refuse: %s (--force to do it anyway)", report.refused);
        if (json) {
                cli_print_json(gc_report_to_json(&report));
                return OUTCOME_OK;
        }
        for (char **d = report.deleted; d && *d; d++)
                printf("%s %s\n", opts.dry_run ? "would delete" : "deleted", *d);
        printf("%zu %sdeleted, %zu kept, %" PRIu64 " blobs removed\n", strv_length((const char *const *) report.deleted),
               opts.dry_run ? "would be " : "", strv_length((const char *const *) report.kept), report.blobs_deleted);
        return OUTCOME_OK;
}
