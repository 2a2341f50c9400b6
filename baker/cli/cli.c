#include "cli.h"

#include <getopt.h>
#include <stdio.h>

#include "config.h"
#include "events.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "strv.h"
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

static char **strv_split_blanks(const char *s) {
        char **l = NULL;
        for (size_t k; s && *(s += strspn(s, " \t\n,")); s += k) {
                k = strcspn(s, " \t\n,");
                strv_push(&l, NULL, xstrndup(s, k));
        }
        return l;
}

/* *refs from the environment variable, if it is set and *refs is not yet: true when it is set. */
static bool refs_from_env(const char *name, char ***refs) {
        const char *e = getenv(name);
        if (*refs || !e)
                return *refs || e;
        *refs = strv_split_blanks(e);
        return true;
}

int cli_remote_caches(char ***from, char ***to) {
        bool have_from = refs_from_env("BAKER_CACHE_FROM", from);
        bool have_to = refs_from_env("BAKER_CACHE_TO", to);
        if (have_from && have_to)
                return 0;
        _cleanup_(baker_config_done) BakerConfig c = {};
        int r = baker_config_load(&c);
        if (r < 0)
                return r;
        if (!have_from)
                *from = TAKE_PTR(c.cache_from);
        if (!have_to)
                *to = TAKE_PTR(c.cache_to);
        return 0;
}
