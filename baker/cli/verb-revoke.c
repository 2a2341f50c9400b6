/* baker revoke REF@DIGEST --reason TEXT: marks an image unusable (a referrer artifact). */
#include <getopt.h>
#include <jansson.h>

#include "channel.h"
#include "cli-glance.h"
#include "glance.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "cli.h"
#include "verbs.h"

int verb_revoke(int argc, char **argv) {
        static const struct option options[] = {
                CLI_REGISTRY_OPTIONS,
                { "reason", required_argument, NULL, 'r' },
                {},
        };
        const char *reason = NULL;
        bool json = false;
        int c, k;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        reason = optarg;
                        break;
                default:
                        if (!cli_registry_option(c, optarg, &json))
                                return OUTCOME_USAGE;
                        break;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        if (!reason || !*reason) {
                log_error("revoke needs --reason TEXT");
                return OUTCOME_USAGE;
        }
        const char *source = argv[optind];
        if (glance_ref_is(source))
                return cli_glance_revoke(source, reason, json);
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(source, false, &ref, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        if (!ref->digest) {
                log_error("'%s': revoke takes REF@DIGEST (a tag can move)", source);
                return OUTCOME_USAGE;
        }
        _cleanup_(revoke_report_done) RevokeReport v = {};
        k = channel_revoke_image(r, ref->digest, reason, &v);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json) {
                json_t *channels = json_array();
                for (char **ch = v.channels; ch && *ch; ch++)
                        json_array_append_new(channels, json_string(*ch));
                cli_print_json(json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", v.revoked ? "revoked" : "unchanged", "digest",
                                         ref->digest, "reason", reason, "revocation",
                                         v.revocation ? json_string(v.revocation) : json_null(), "channels", channels));
        } else
                printf("%s %s\n", ref->digest, v.revoked ? "revoked" : "was already revoked");
        return OUTCOME_OK;
}
