/* baker promote REF@DIGEST CHANNEL: points a channel at an image. */
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

int verb_promote(int argc, char **argv) {
        bool json = false;
        int k;

        if (cli_parse_registry_verb(argc, argv, &json) < 0)
                return OUTCOME_USAGE;
        const char *source = argv[optind], *channel = argv[optind + 1];
        if (!channel_name_valid(channel)) {
                log_error("invalid channel name '%s' (lower-case letters, digits, '-' and '_')", channel);
                return OUTCOME_USAGE;
        }
        if (glance_ref_is(source))
                return cli_glance_promote(source, channel, json);

        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(source, false, &ref, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        _cleanup_free_ char *digest = ref->digest ? xstrdup(ref->digest) : NULL;
        if (!digest) {
                /* REF:TAG is accepted too: the tag is resolved once, here. */
                if (!ref->tag) {
                        log_error("'%s': name the image as REF@DIGEST or REF:TAG", source);
                        return OUTCOME_USAGE;
                }
                k = registry_manifest_head(r, ref->tag, &digest);
                if (k <= 0) {
                        if (k == 0)
                                log_error("tag '%s' not found in '%s'", ref->tag, source);
                        return OUTCOME_PUBLISH;
                }
        }
        _cleanup_free_ char *previous = NULL;
        k = channel_promote(r, channel, digest, &previous);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "status", k > 0 ? "promoted" : "unchanged", "channel",
                                      channel, "digest", digest, "previous",
                                      previous ? json_string(previous) : json_null());
                cli_print_json(o);
        } else if (k > 0)
                printf("%s: %s -> %s\n", channel, previous ?: "(new)", digest);
        else
                printf("%s already points at %s\n", channel, digest);
        return OUTCOME_OK;
}
