#include "cli.h"

#include <getopt.h>
#include <stdio.h>

#include "events.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "verbs.h"

bool cli_registry_option(int c, const char *arg, bool *json) {
        switch (c) {
        case 'j':
                *json = true;
                return true;
        case 'k':
                registry_add_insecure_host(arg);
                return true;
        default:
                return false;
        }
}

int cli_parse_registry_verb(int argc, char **argv, bool *json) {
        static const struct option options[] = {
                CLI_REGISTRY_OPTIONS,
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                if (!cli_registry_option(c, optarg, json))
                        return -EINVAL;
        return verb_check_args(argv[0], argc - optind);
}

int cli_registry_outcome(int r) {
        return r == -EINVAL ? OUTCOME_USAGE : OUTCOME_PUBLISH;
}

void cli_print_json(json_t *o) {
        events_print_document(o);
}
