/* baker rollback REF CHANNEL: moves a channel back to what it pointed at before. */
#include <getopt.h>
#include <jansson.h>

#include "channel.h"
#include "glance.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "cli-glance.h"
#include "cli.h"
#include "verbs.h"

int verb_rollback(int argc, char **argv) {
        bool json = false;
        int k;

        if (cli_parse_registry_verb(argc, argv, &json) < 0)
                return OUTCOME_USAGE;
        const char *source = argv[optind], *channel = argv[optind + 1];
        if (glance_ref_is(source))
                return cli_glance_rollback(source, channel, json);

        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(source, false, NULL, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        _cleanup_free_ char *before = NULL, *digest = NULL;
        (void) registry_manifest_head(r, channel, &before);
        k = channel_rollback(r, channel, &digest);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "status", "rolled-back", "channel", channel, "digest", digest,
                                      "previous", before ? json_string(before) : json_null());
                cli_print_json(o);
        } else
                printf("%s: %s -> %s (rolled back)\n", channel, before ?: "?", digest);
        return OUTCOME_OK;
}
