/* baker revoke REF@DIGEST --reason TEXT: marks an image unusable (a referrer artifact). */
#include <getopt.h>
#include <jansson.h>

#include "channel.h"
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
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(source, false, &ref, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        if (!ref->digest) {
                log_error("'%s': revoke takes REF@DIGEST (a tag can move)", source);
                return OUTCOME_USAGE;
        }
        _cleanup_free_ char *rdigest = NULL;
        k = channel_revoke(r, ref->digest, reason, &rdigest);
        if (k < 0)
                return cli_registry_outcome(k);

        /* Channels still pointing at it now refuse to resolve: say which. */
        char **channels = NULL;
        size_t n = 0;
        json_t *affected = json_array();
        if (channel_list(r, &channels, &n) >= 0)
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *d = NULL;
                        if (registry_manifest_head(r, channels[i], &d) > 0 && streq(d, ref->digest)) {
                                _cleanup_free_ char *repo = registry_ref_repository_string(ref);
                                log_warning("channel '%s' points at the revoked image; run 'baker rollback %s %s'",
                                            channels[i], repo, channels[i]);
                                json_array_append_new(affected, json_string(channels[i]));
                        }
                }
        strv_free(channels);
        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", k > 0 ? "revoked" : "unchanged", "digest",
                                      ref->digest, "reason", reason, "revocation",
                                      rdigest ? json_string(rdigest) : json_null(), "channels", affected);
                cli_print_json(o);
        } else {
                printf("%s %s\n", ref->digest, k > 0 ? "revoked" : "was already revoked");
                json_decref(affected);
        }
        return OUTCOME_OK;
}
