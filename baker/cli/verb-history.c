/* baker history REF [CHANNEL]: published versions, or one channel's moves, with revoked marks. */
#include <getopt.h>

#include "channel.h"
#include "cli-glance.h"
#include "glance.h"
#include "cli.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "verbs.h"
#include "versions.h"

static const char *dash(const char *s) {
        return s ? s : "-";
}

static char *join(char **l) {
        char *s = xstrdup("");
        for (char **p = l; p && *p; p++) {
                char *n = xasprintf("%s%s%s", s, p == l ? "" : ",", *p);
                free(s);
                s = n;
        }
        return s;
}

static void print_channel(const ChannelReport *c) {
        printf("%-20s %-9s %-12s %-71s %s\n", "DATE", "ACTION", "VERSION", "DIGEST", "BY");
        for (size_t i = 0; i < c->n_entries; i++) {
                const ChannelEntry *e = c->entries + i;
                printf("%-20s %-9s %-12s %-71s %s%s%s%s\n", dash(e->date), dash(e->action), dash(e->version), dash(e->digest),
                       dash(e->by), i == 0 && streq_ptr(c->current, e->digest) ? " (current)" : "",
                       e->revoked ? " REVOKED" : "", e->present ? "" : " (deleted)");
        }
}

static void print_versions(const ImageVersion *v, size_t n) {
        printf("%-20s %-12s %-71s %-16s %s\n", "CREATED", "VERSION", "DIGEST", "CHANNELS", "TAGS");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *ch = join(v[i].channels), *tags = join(v[i].tags);
                printf("%-20s %-12s %-71s %-16s %s%s%s\n", dash(v[i].created), dash(v[i].version), v[i].digest,
                       *ch ? ch : "-", tags, v[i].revoked ? " REVOKED: " : "", v[i].revoked ? dash(v[i].reason) : "");
        }
}

static int history_channel(Registry *r, const char *channel, bool json) {
        _cleanup_(channel_report_done) ChannelReport c = {};
        int k = channel_report(r, channel, &c);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json)
                cli_print_json(channel_report_to_json(&c));
        else
                print_channel(&c);
        return OUTCOME_OK;
}

static int history_versions(Registry *r, bool json) {
        ImageVersion *v = NULL;
        size_t n = 0;
        int k = versions_list(r, &v, &n);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json)
                cli_print_json(json_pack("{s:o}", "versions", image_versions_to_json(v, n)));
        else
                print_versions(v, n);
        image_versions_free(v, n);
        return OUTCOME_OK;
}

int verb_history(int argc, char **argv) {
        static const struct option options[] = {
                CLI_REGISTRY_OPTIONS,
                {},
        };
        bool json = false;
        int c, k;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                if (!cli_registry_option(c, optarg, &json))
                        return OUTCOME_USAGE;
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *channel = optind + 1 < argc ? argv[optind + 1] : NULL;
        if (glance_ref_is(argv[optind]))
                return cli_glance_history(argv[optind], channel, json);
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(argv[optind], false, NULL, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        return channel ? history_channel(r, channel, json) : history_versions(r, json);
}
