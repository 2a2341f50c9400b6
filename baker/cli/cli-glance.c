/* baker push/promote/resolve/rollback on glance: references (cli-glance.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli-glance.h"
#include "cli.h"
#include "glance.h"
#include "log.h"
#include "outcome.h"

int cli_glance_push(const char *input, const char *target, const char *format, char **channels, size_t n_channels,
                    bool json) {
        GlancePublishOptions o = { .format = format, .channels = channels, .n_channels = n_channels };
        _cleanup_(glance_publish_report_done) GlancePublishReport rep = {};
        int k = glance_publish(input, target, &o, &rep);
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
        return OUTCOME_OK;
}

/* The image a reference names: @DIGEST, else :CHANNEL (its current image), else :VERSION. */
static int ref_image(Glance *g, const GlanceRef *ref, const char *source, json_t **ret) {
        int k;
        if (ref->digest) {
                k = glance_find_by_digest(g, ref->name, ref->digest, ret);
                if (k >= 0 && !*ret)
                        return log_error_errno(-ENOENT, "no glance image '%s' with digest %s", ref->name, ref->digest);
                return k;
        }
        if (!ref->channel)
                return log_error_errno(-EINVAL, "'%s': name the image as glance:[CLOUD/]NAME@sha256:HEX or :CHANNEL",
                                       source);
        return glance_channel_resolve(g, ref->name, ref->channel, ret);
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

int cli_glance_promote(const char *source, const char *channel, bool json) {
        _cleanup_(glance_ref_freep) GlanceRef *ref = NULL;
        _cleanup_(glance_freep) Glance *g = NULL;
        _cleanup_(json_decrefp) json_t *img = NULL;
        _cleanup_free_ char *previous = NULL;
        int r = open_ref(source, &ref, &g);
        if (r != OUTCOME_OK)
                return r;
        int k = ref_image(g, ref, source, &img);
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
