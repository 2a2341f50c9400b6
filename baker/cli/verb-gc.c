/* baker gc REF --keep N: deletes versions no channel points at, beyond the newest N. */
#include <getopt.h>
#include <jansson.h>

#include "channel.h"
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
                {},
        };
        bool json = false, dry_run = false;
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
                        dry_run = true;
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
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(argv[optind], false, NULL, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        json_t *report;
        k = channel_gc(r, (unsigned) keep, dry_run, &report);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json) {
                cli_print_json(json_incref(report));
        } else {
                json_t *v;
                size_t i;
                json_array_foreach(json_object_get(report, "deleted"), i, v)
                        printf("%s %s\n", dry_run ? "would delete" : "deleted", json_string_value(v));
                printf("%zu deleted, %zu kept, %lld blobs removed\n", json_array_size(json_object_get(report, "deleted")),
                       json_array_size(json_object_get(report, "kept")),
                       (long long) json_integer_value(json_object_get(report, "blobs_deleted")));
        }
        json_decref(report);
        return OUTCOME_OK;
}
