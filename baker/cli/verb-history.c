/* baker history REF [CHANNEL]: published versions, or one channel's moves, with revoked marks. */
#include <getopt.h>
#include <jansson.h>

#include "channel.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "cli.h"
#include "verbs.h"

static const char *str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key)) ?: "-";
}

static char *join(json_t *arr) {
        json_t *v;
        size_t i;
        char *s = xstrdup("");
        json_array_foreach(arr, i, v) {
                char *n = xasprintf("%s%s%s", s, i ? "," : "", json_string_value(v));
                free(s);
                s = n;
        }
        return s;
}

/* Channel history, newest first, each entry marked current/revoked/deleted. */
static int channel_report(Registry *r, const char *channel, json_t **ret) {
        json_t *h;
        int k = channel_history(r, channel, &h);
        if (k == -ENOENT)
                return log_error_errno(k, "channel '%s' does not exist", channel);
        if (k < 0)
                return k;
        _cleanup_free_ char *current = NULL;
        (void) registry_manifest_head(r, channel, &current);
        json_t *entries = json_object_get(h, "entries"), *out = json_array();
        for (size_t i = json_array_size(entries); i-- > 0;) {
                json_t *e = json_deep_copy(json_array_get(entries, i));
                const char *d = json_string_value(json_object_get(e, "digest"));
                _cleanup_free_ char *reason = NULL;
                int revoked = d ? channel_revocation(r, d, &reason) : 0;
                json_object_set_new(e, "revoked", json_boolean(revoked > 0));
                if (revoked > 0)
                        json_object_set_new(e, "reason", json_string(reason));
                json_object_set_new(e, "present", json_boolean(d && registry_manifest_head(r, d, NULL) > 0));
                json_array_append_new(out, e);
        }
        *ret = json_pack("{s:s, s:o, s:o}", "channel", channel, "current", current ? json_string(current) : json_null(),
                         "entries", out);
        json_decref(h);
        return 0;
}

int verb_history(int argc, char **argv) {
        static const struct option options[] = {
                CLI_REGISTRY_OPTIONS,
                {},
        };
        bool json = false;
        int c, k;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                default:
                        if (!cli_registry_option(c, optarg, &json))
                                return OUTCOME_USAGE;
                        break;
                }
        if (verb_check_args(argv[0], argc - optind) < 0)
                return OUTCOME_USAGE;
        const char *channel = optind + 1 < argc ? argv[optind + 1] : NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(argv[optind], false, NULL, &r);
        if (k < 0)
                return cli_registry_outcome(k);

        json_t *report = NULL;
        if (channel)
                k = channel_report(r, channel, &report);
        else {
                json_t *versions;
                k = channel_versions(r, &versions);
                if (k >= 0)
                        report = json_pack("{s:o}", "versions", versions);
        }
        if (k < 0)
                return cli_registry_outcome(k);

        if (json) {
                cli_print_json(json_incref(report));
        } else if (channel) {
                json_t *e;
                size_t i;
                const char *current = json_string_value(json_object_get(report, "current"));
                printf("%-20s %-9s %-12s %-71s %s\n", "DATE", "ACTION", "VERSION", "DIGEST", "BY");
                json_array_foreach(json_object_get(report, "entries"), i, e)
                        printf("%-20s %-9s %-12s %-71s %s%s%s%s\n", str(e, "date"), str(e, "action"), str(e, "version"),
                               str(e, "digest"), str(e, "by"),
                               i == 0 && streq_ptr(current, json_string_value(json_object_get(e, "digest"))) ? " (current)" : "",
                               json_is_true(json_object_get(e, "revoked")) ? " REVOKED" : "",
                               json_is_true(json_object_get(e, "present")) ? "" : " (deleted)");
        } else {
                json_t *v;
                size_t i;
                printf("%-20s %-12s %-71s %-16s %s\n", "CREATED", "VERSION", "DIGEST", "CHANNELS", "TAGS");
                json_array_foreach(json_object_get(report, "versions"), i, v) {
                        _cleanup_free_ char *ch = join(json_object_get(v, "channels")), *tags = join(json_object_get(v, "tags"));
                        printf("%-20s %-12s %-71s %-16s %s%s%s\n", str(v, "created"), str(v, "version"), str(v, "digest"),
                               *ch ? ch : "-", tags, json_is_true(json_object_get(v, "revoked")) ? " REVOKED: " : "",
                               json_is_true(json_object_get(v, "revoked")) ? str(v, "reason") : "");
                }
        }
        json_decref(report);
        return OUTCOME_OK;
}
