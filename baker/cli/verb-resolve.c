/* baker resolve REF:CHANNEL: the digest a channel points at, for deployment tooling. */
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

int verb_resolve(int argc, char **argv) {
        bool json = false;
        int k;

        if (cli_parse_registry_verb(argc, argv, &json) < 0)
                return OUTCOME_USAGE;
        const char *source = argv[optind];
        if (glance_ref_is(source))
                return cli_glance_resolve(source, json);

        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(source, false, &ref, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        if (!ref->tag || ref->digest) {
                log_error("'%s': expected REF:CHANNEL", source);
                return OUTCOME_USAGE;
        }
        _cleanup_free_ char *digest = NULL;
        k = channel_resolve(r, ref->tag, &digest);
        if (k < 0)
                return cli_registry_outcome(k);
        _cleanup_free_ char *pinned = registry_ref_pinned_string(ref, digest);
        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s}", "channel", ref->tag, "digest", digest, "reference", pinned);
                cli_print_json(o);
        } else
                printf("%s\n%s\n", digest, pinned);
        return OUTCOME_OK;
}
