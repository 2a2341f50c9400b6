/* Publishing a finished bake to one registry, channels last. */
#include "publish.h"

#include "channel.h"
#include "log.h"
#include "sbom-referrer.h"

char *publish_target(const char *kind, const char *value, const char *name) {
        if (streq(kind, "oci-layout")) {
                size_t n = strlen(value);
                while (n > 1 && value[n - 1] == '/')
                        n--;
                return xasprintf("oci-layout:%.*s/%s", (int) n, value, name);
        }
        if ((streq(kind, "s3") || streq(kind, "azure-blob")) && endswith(value, "/"))
                return xasprintf("%s%s", value, name); /* no prefix: the image's name */
        return xstrdup(value);
}

void publish_report_done(PublishReport *r) {
        free(r->digest);
        free(r->repository);
        free(r->tag);
        free(r->reference);
        free(r->sbom);
        for (size_t i = 0; i < r->n_channels; i++)
                free(r->channels[i].name);
        free(r->channels);
        *r = (PublishReport) {};
}

json_t *publish_report_to_json(const PublishReport *r) {
        json_t *channels = json_array();
        for (size_t i = 0; i < r->n_channels; i++)
                json_array_append_new(channels, json_pack("{s:s, s:b}", "name", r->channels[i].name, "moved",
                                                          r->channels[i].moved));
        const RegistryStats *st = &r->stats;
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:I, s:I, s:I, s:I, s:I, s:o}", "status",
                         r->unchanged ? "unchanged" : "pushed", "digest", r->digest, "repository", r->repository, "tag",
                         r->tag, "reference", r->reference, "sbom", r->sbom, "blobs_sent", (json_int_t) st->blobs_sent, "blobs_skipped",
                         (json_int_t) st->blobs_skipped, "blobs_mounted", (json_int_t) st->blobs_mounted, "bytes_sent",
                         (json_int_t) st->bytes_sent, "bytes_skipped", (json_int_t) st->bytes_skipped, "channels",
                         channels);
}

static int move_channels(Registry *r, const char *digest, const PublishOptions *opts, PublishReport *rep) {
        rep->channels = xcalloc(opts->n_channels + 1, sizeof(PublishChannel));
        for (size_t i = 0; i < opts->n_channels; i++) {
                int k = channel_promote(r, opts->channels[i], digest, NULL);
                if (k < 0)
                        return k;
                rep->channels[rep->n_channels++] = (PublishChannel) { .name = xstrdup(opts->channels[i]), .moved = k > 0 };
        }
        return 0;
}

static int open_target(const char *target, const PublishOptions *opts, RegistryRef **ret_ref, Registry **ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        int k = registry_ref_parse(target, &ref);
        if (k >= 0 && opts->insecure && ref->host)
                /* The host as the reference names it ("host:port"), never the whole target. */
                registry_add_insecure_host(ref->host);
        k = registry_open_string(target, true, ret_ref, ret);
        if (k < 0)
                return k;
        if ((*ret_ref)->digest)
                return log_error_errno(-EINVAL, "'%s': publish to a tag, not a digest", target);
        return 0;
}

/* Whether the image the tag names now has the tag as its version. */
static bool tag_is_version_of(Registry *r, const char *tag, const char *digest) {
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        if (registry_manifest_get(r, digest, &m) < 0)
                return false;
        json_t *o = json_loadb(m->data, m->size, 0, NULL);
        const char *v = json_string_value(json_object_get(json_object_get(o, "annotations"), "org.opencontainers.image.version"));
        bool is = v && streq(v, tag);
        json_decref(o);
        return is;
}

/* A version names one image for good: a tag that is the new image's version, or the version of
 * the image it names, never moves to other content (channels do; other tags may). */
static int check_version_kept(Registry *r, const char *target, const char *tag, const Artifact *a, const char *before) {
        if (!before || streq(before, a->manifest_digest))
                return 0;
        if (!streq_ptr(tag, a->version) && !tag_is_version_of(r, tag, before))
                return 0;
        return log_error_errno(-EEXIST,
                               "'%s': version '%s' is published already as %s, and a version is never moved to other "
                               "content: raise 'version' (e.g. version: \"%s.${var.build}\" with --var build=N from "
                               "the CI build number); channels are the tags that move",
                               target, tag, before, tag);
}

int publish_image(const char *input, const char *target, const PublishOptions *opts, PublishReport *ret_report) {
        static const PublishOptions defaults = {};
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        _cleanup_(artifact_freep) Artifact *a = NULL;
        _cleanup_free_ char *before = NULL;
        _cleanup_(publish_report_done) PublishReport rep = {};
        int k;

        if (!opts)
                opts = &defaults;
        for (size_t i = 0; i < opts->n_channels; i++)
                if (!channel_name_valid(opts->channels[i]))
                        return log_error_errno(-EINVAL, "invalid channel name '%s'", opts->channels[i]);
        k = open_target(target, opts, &ref, &r);
        if (k < 0)
                return k;
        k = artifact_build(input, &opts->artifact, &a);
        if (k < 0)
                return k;
        const char *tag = ref->tag ?: a->version ?: "latest";
        if (!registry_tag_valid(tag))
                return log_error_errno(-EINVAL, "version '%s' is not a valid tag; name one in the reference", tag);

        k = registry_manifest_head(r, tag, &before);
        if (k < 0)
                return k;
        k = check_version_kept(r, target, tag, a, before);
        if (k < 0)
                return k;
        k = artifact_push(r, a, tag, opts->mount_from);
        if (k < 0)
                return log_error_errno(k, "push of '%s' to '%s' failed", input, target);
        /* The SBOM before the channels move: whoever follows a channel finds it there. */
        k = sbom_referrer_push(r, input, a, &rep.sbom);
        if (k < 0)
                return k;
        rep.stats = *registry_stats(r);
        rep.unchanged = before && streq(before, a->manifest_digest) && rep.stats.blobs_sent == 0 &&
                        rep.stats.blobs_mounted == 0;
        if (rep.unchanged)
                log_info("'%s' is already at %s:%s, nothing uploaded", a->manifest_digest, target, tag);
        if (!streq_ptr(before, a->manifest_digest)) {
                /* The order of publishing, which gc's "newest" follows (versions.h). */
                k = channel_record_push(r, a->manifest_digest, tag, a->version);
                if (k < 0)
                        return log_error_errno(k, "failed to record the push of '%s' in '%s': %m", a->manifest_digest, target);
        }
        k = move_channels(r, a->manifest_digest, opts, &rep);
        if (k < 0)
                return k;
        rep.digest = xstrdup(a->manifest_digest);
        rep.repository = registry_ref_repository_string(ref);
        rep.tag = xstrdup(tag);
        rep.reference = registry_ref_pinned_string(ref, a->manifest_digest);
        if (ret_report) {
                *ret_report = rep;
                rep = (PublishReport) {};
        }
        return 0;
}

void published_image_done(PublishedImage *p) {
        free(p->digest);
        free(p->version);
        free(p->bake_key);
        free(p->image_digest);
        *p = (PublishedImage) {};
}

int published_image_parse(const char *data, size_t size, PublishedImage *ret) {
        json_t *o = json_loadb(data, size, 0, NULL);
        json_t *ann = json_object_get(o, "annotations");
        const char *version = json_string_value(json_object_get(ann, "org.opencontainers.image.version"));
        const char *key = json_string_value(json_object_get(ann, ANNOTATION_BAKE_KEY));
        const char *image = json_string_value(json_object_get(ann, ANNOTATION_IMAGE_DIGEST));
        int k = -EBADMSG;
        if (key && image) {
                *ret = (PublishedImage) { .version = version ? xstrdup(version) : NULL, .bake_key = xstrdup(key),
                                          .image_digest = xstrdup(image) };
                k = 0;
        }
        json_decref(o);
        return k;
}

int publish_channel_image(const char *target, const char *channel, bool insecure, PublishedImage *ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        _cleanup_free_ char *digest = NULL, *reason = NULL;
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        PublishOptions opts = { .insecure = insecure };
        int k = open_target(target, &opts, &ref, &r);
        if (k < 0)
                return k;
        k = registry_manifest_head(r, channel, &digest);
        if (k <= 0)
                return k;
        k = channel_revocation(r, digest, &reason);
        if (k != 0)
                return k < 0 ? k : 0;
        k = registry_manifest_get(r, digest, &m);
        if (k < 0)
                return k;
        PublishedImage p = {};
        if (published_image_parse(m->data, m->size, &p) < 0)
                return 0;
        p.digest = TAKE_PTR(digest);
        *ret = p;
        return 1;
}
