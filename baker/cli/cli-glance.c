/* baker push/promote/resolve/rollback on glance: references (cli-glance.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli-glance.h"
#include "cli.h"
#include "glance.h"
#include "log.h"
#include "outcome.h"
#include "strv.h"

int cli_glance_push(const char *input, const char *target, const GlancePublishOptions *o, bool json) {
        static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };
        GlancePublishOptions opts = *o;
        if (opts.visibility && !strv_contains(visibilities, opts.visibility)) {
                log_error("--visibility '%s': public, private, shared or community", opts.visibility);
                return OUTCOME_USAGE;
        }
        if (opts.has_members && !opts.visibility)
                opts.visibility = "shared";
        if (opts.has_members && !streq(opts.visibility, "shared")) {
                log_error("--member needs --visibility shared, not '%s'", opts.visibility);
                return OUTCOME_USAGE;
        }
        _cleanup_(glance_publish_report_done) GlancePublishReport rep = {};
        int k = glance_publish(input, target, &opts, &rep);
        if (k == -EBADMSG || k == -ENOENT)
                return OUTCOME_INPUT;
        if (k < 0)
                return cli_registry_outcome(k);
        if (json) {
                cli_print_json(glance_publish_report_to_json(&rep));
                return OUTCOME_OK;
        }
        if (rep.reused)
                printf("glance image %s (%s) unchanged, nothing sent\n", rep.image_id, rep.digest);
        else
                printf("uploaded glance image %s (%s, %s, %" PRIu64 " bytes sent)\n", rep.image_id, rep.digest,
                       rep.disk_format, rep.bytes_sent);
        for (char **c = rep.channels_moved; c && *c; c++)
                printf("channel %s promoted\n", *c);
        for (char **m = rep.members_added; m && *m; m++)
                printf("shared with project %s\n", *m);
        for (char **m = rep.members_removed; m && *m; m++)
                printf("no longer shared with project %s\n", *m);
        return OUTCOME_OK;
}

static const char *str(json_t *img, const char *key) {
        return json_string_value(json_object_get(img, key));
}

static void print_image(const char *status, const char *channel, json_t *img, const char *previous, bool json) {
        if (json) {
                cli_print_json(json_pack("{s:s, s:s, s:s*, s:s*, s:s*, s:s*}", "status", status, "channel", channel,
                                         "image_id", str(img, "id"), "digest", str(img, GLANCE_PROP_DIGEST), "version",
                                         str(img, GLANCE_PROP_VERSION), "previous", previous));
                return;
        }
        printf("%s\n%s\n", str(img, GLANCE_PROP_DIGEST) ?: "", str(img, "id"));
}

static int open_ref(const char *source, GlanceRef **ret_ref, Glance **ret) {
        int k = glance_ref_parse(source, ret_ref);
        if (k < 0)
                return OUTCOME_USAGE;
        k = glance_open((*ret_ref)->cloud, ret);
        return k < 0 ? cli_registry_outcome(k) : OUTCOME_OK;
}

/* open_ref() for a verb on a whole name: no channel, no digest (usage: what the verb takes). */
static int open_name(const char *source, const char *usage, GlanceRef **ret_ref, Glance **ret) {
        int r = open_ref(source, ret_ref, ret);
        if (r == OUTCOME_OK && ((*ret_ref)->channel || (*ret_ref)->digest)) {
                log_error("'%s': %s", source, usage);
                return OUTCOME_USAGE;
        }
        return r;
}

int cli_glance_promote(const char *source, const char *channel, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *img = NULL;
        _cleanup_free_ char *previous = NULL;
        int r = open_ref(source, &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        int k = glance_ref_image(g, ref, source, &img);
        if (k >= 0)
                k = glance_channel_promote(g, ref->name, channel, img, &previous);
        if (k < 0)
                return cli_registry_outcome(k);
        print_image(k > 0 ? "promoted" : "unchanged", channel, img, previous, json);
        return OUTCOME_OK;
}

int cli_glance_resolve(const char *source, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *img = NULL;
        int r = open_ref(source, &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        if (!ref->channel || ref->digest) {
                log_error("'%s': expected glance:[CLOUD/]NAME:CHANNEL", source);
                return OUTCOME_USAGE;
        }
        int k = glance_channel_resolve(g, ref->name, ref->channel, &img);
        if (k < 0)
                return cli_registry_outcome(k);
        print_image("resolved", ref->channel, img, NULL, json);
        return OUTCOME_OK;
}

int cli_glance_rollback(const char *source, const char *channel, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *img = NULL;
        int r = open_ref(source, &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        int k = glance_channel_rollback(g, ref->name, channel, &img);
        if (k < 0)
                return cli_registry_outcome(k);
        print_image("rolled-back", channel, img, NULL, json);
        return OUTCOME_OK;
}

int cli_glance_revoke(const char *source, const char *reason, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        int r = open_ref(source, &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        if (!ref->digest) {
                log_error("'%s': revoke takes glance:[CLOUD/]NAME@sha256:HEX (a channel can move)", source);
                return OUTCOME_USAGE;
        }
        _cleanup_(glance_revoke_report_done) GlanceRevokeReport v = {};
        int k = glance_revoke(g, ref->name, ref->digest, reason, &v);
        if (k < 0)
                return cli_registry_outcome(k);
        bool now = v.deactivated && v.deactivated[0];
        if (json)
                cli_print_json(json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", now ? "revoked" : "unchanged", "digest",
                                         ref->digest, "reason", reason, "images", strv_to_json(v.deactivated),
                                         "channels", strv_to_json(v.channels)));
        else
                printf("%s %s\n", ref->digest, now ? "revoked" : "was already revoked");
        return OUTCOME_OK;
}

int cli_glance_gc(const char *source, const GcOptions *opts, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        int r = open_name(source, "gc takes glance:[CLOUD/]NAME", &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        _cleanup_(glance_gc_report_done) GlanceGcReport rep = {};
        int k = glance_gc(g, ref->name, opts, &rep);
        if (k == -EPERM)
                return OUTCOME_USAGE;
        if (k < 0)
                return cli_registry_outcome(k);
        if (rep.versions.refused)
                log_warning("without --dry-run, gc would refuse: %s (--force to do it anyway)", rep.versions.refused);
        if (json) {
                cli_print_json(glance_gc_report_to_json(&rep));
                return OUTCOME_OK;
        }
        const char *would = opts->dry_run ? "would delete" : "deleted";
        for (char **d = rep.versions.deleted; d && *d; d++)
                printf("%s %s\n", would, *d);
        for (char **i = rep.images_deleted; i && *i; i++)
                printf("%s glance image %s\n", would, *i);
        printf("%zu versions %sdeleted, %zu kept, %zu glance images removed, %zu younger than the minimum age\n",
               strv_length((const char *const *) rep.versions.deleted), opts->dry_run ? "would be " : "",
               strv_length((const char *const *) rep.versions.kept), strv_length((const char *const *) rep.images_deleted),
               strv_length((const char *const *) rep.young));
        return OUTCOME_OK;
}

static const char *dash(const char *s) {
        return s && *s ? s : "-";
}

static void print_versions(json_t *versions) {
        printf("%-20s %-12s %-71s %-16s %s\n", "CREATED", "VERSION", "DIGEST", "CHANNELS", "IMAGES");
        json_t *v, *x;
        size_t i, j;
        json_array_foreach(versions, i, v) {
                _cleanup_free_ char *ch = xstrdup(""), *imgs = xstrdup("");
                json_array_foreach(json_object_get(v, "channels"), j, x) {
                        char *n = xasprintf("%s%s%s", ch, j ? "," : "", json_string_value(x));
                        free(ch);
                        ch = n;
                }
                json_array_foreach(json_object_get(v, "images"), j, x) {
                        char *n = xasprintf("%s%s%s(%s)", imgs, j ? " " : "", str(x, "id"), str(x, "disk_format"));
                        free(imgs);
                        imgs = n;
                }
                printf("%-20.20s %-12s %-71s %-16s %s%s%s\n", dash(str(v, "created")), dash(str(v, "version")),
                       str(v, "digest"), dash(ch), imgs, json_is_true(json_object_get(v, "revoked")) ? " REVOKED: " : "",
                       json_is_true(json_object_get(v, "revoked")) ? dash(str(v, "reason")) : "");
        }
}

static void print_channel(json_t *report) {
        printf("%-20s %-9s %-12s %-71s %-36s %s\n", "DATE", "ACTION", "VERSION", "DIGEST", "IMAGE", "BY");
        json_t *e;
        size_t i;
        json_array_foreach(json_object_get(report, "entries"), i, e)
                printf("%-20s %-9s %-12s %-71s %-36s %s%s%s\n", dash(str(e, "date")), str(e, "action"),
                       dash(str(e, "version")), dash(str(e, "digest")), str(e, "image_id"), dash(str(e, "by")),
                       i == 0 ? " (current)" : "", json_is_true(json_object_get(e, "revoked")) ? " REVOKED" : "");
}

int cli_glance_history(const char *source, const char *channel, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *out = NULL;
        int r = open_name(source, "history takes glance:[CLOUD/]NAME [CHANNEL]", &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        int k = channel ? glance_channel_report(g, ref->name, channel, &out) : glance_versions(g, ref->name, &out);
        if (k < 0)
                return cli_registry_outcome(k);
        if (json)
                cli_print_json(channel ? json_incref(out) : json_pack("{s:O}", "versions", out));
        else if (channel)
                print_channel(out);
        else
                print_versions(out);
        return OUTCOME_OK;
}
