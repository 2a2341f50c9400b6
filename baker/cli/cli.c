#include "cli.h"

#include <stdio.h>

#include "events.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"

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

int cli_registry_outcome(int r) {
        return r == -EINVAL ? OUTCOME_USAGE : OUTCOME_PUBLISH;
}

void cli_print_json(json_t *o) {
        events_print_document(o);
}
