/* Publishing a finished bake to one registry, channels last. */
#include "publish.h"

#include "channel.h"
#include "log.h"

char *publish_target(const char *kind, const char *value, const char *name) {
        if (streq(kind, "oci-layout")) {
                size_t n = strlen(value);
                while (n > 1 && value[n - 1] == '/')
                        n--;
                return xasprintf("oci-layout:%.*s/%s", (int) n, value, name);
        }
        return xstrdup(value);
}

int publish_image(const char *input, const char *target, const PublishOptions *opts, json_t **ret_report) {
        static const PublishOptions defaults = {};
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        _cleanup_(artifact_freep) Artifact *a = NULL;
        _cleanup_free_ char *before = NULL;
        int k;

        if (!opts)
                opts = &defaults;
        for (size_t i = 0; i < opts->n_channels; i++)
                if (!channel_name_valid(opts->channels[i]))
                        return log_error_errno(-EINVAL, "invalid channel name '%s'", opts->channels[i]);
        k = registry_open_string(target, true, &ref, &r);
        if (k < 0)
                return k;
        if (ref->digest)
                return log_error_errno(-EINVAL, "'%s': publish to a tag, not a digest", target);
        k = artifact_build(input, &opts->artifact, &a);
        if (k < 0)
                return k;
        const char *tag = ref->tag ?: a->version ?: "latest";
        if (!registry_tag_valid(tag))
                return log_error_errno(-EINVAL, "version '%s' is not a valid tag; name one in the reference", tag);

        k = registry_manifest_head(r, tag, &before);
        if (k < 0)
                return k;
        k = artifact_push(r, a, tag, opts->mount_from);
        if (k < 0)
                return log_error_errno(k, "push of '%s' to '%s' failed", input, target);
        const RegistryStats *st = registry_stats(r);
        bool unchanged = before && streq(before, a->manifest_digest) && st->blobs_sent == 0 && st->blobs_mounted == 0;
        if (unchanged)
                log_info("'%s' is already at %s:%s, nothing uploaded", a->manifest_digest, target, tag);

        json_t *channels = json_array();
        for (size_t i = 0; i < opts->n_channels; i++) {
                k = channel_promote(r, opts->channels[i], a->manifest_digest, NULL);
                if (k < 0) {
                        json_decref(channels);
                        return k;
                }
                json_array_append_new(channels, json_pack("{s:s, s:b}", "name", opts->channels[i], "moved", k > 0));
        }
        if (!ret_report) {
                json_decref(channels);
                return 0;
        }
        _cleanup_free_ char *pinned = registry_ref_pinned_string(ref, a->manifest_digest);
        _cleanup_free_ char *repo = registry_ref_repository_string(ref);
        *ret_report = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o}", "status",
                                unchanged ? "unchanged" : "pushed", "digest", a->manifest_digest, "repository", repo, "tag",
                                tag, "reference", pinned, "blobs_sent", (json_int_t) st->blobs_sent, "blobs_skipped",
                                (json_int_t) st->blobs_skipped, "blobs_mounted", (json_int_t) st->blobs_mounted,
                                "bytes_sent", (json_int_t) st->bytes_sent, "bytes_skipped", (json_int_t) st->bytes_skipped,
                                "channels", channels);
        return 0;
}
