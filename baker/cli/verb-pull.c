/* baker pull REF[@DIGEST] DEST: downloads an image artifact, verifying every blob. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>

#include "artifact.h"
#include "channel.h"
#include "log.h"
#include "outcome.h"
#include "registry.h"
#include "cli.h"
#include "verbs.h"

/* A layer's file name from its title annotation, refusing anything that could leave DEST. */
static char *safe_name(json_t *layer, size_t i) {
        const char *title = json_string_value(json_object_get(json_object_get(layer, "annotations"),
                                                              "org.opencontainers.image.title"));
        if (title && *title && !strchr(title, '/') && !streq(title, ".") && !streq(title, "..") && title[0] != '.')
                return xstrdup(title);
        return xasprintf("layer-%zu", i);
}

int verb_pull(int argc, char **argv) {
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
        const char *source = argv[optind], *dest = argv[optind + 1];

        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        k = registry_open_string(source, false, &ref, &r);
        if (k < 0)
                return cli_registry_outcome(k);
        const char *reference = ref->digest ?: ref->tag ?: "latest";

        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        k = registry_manifest_get(r, reference, &m);
        if (k == -ENOENT)
                log_error("'%s' not found", source);
        if (k < 0)
                return OUTCOME_PUBLISH;
        if (ref->tag && ref->digest) {
                _cleanup_free_ char *tagged = NULL;
                if (registry_manifest_head(r, ref->tag, &tagged) > 0 && !streq(tagged, ref->digest))
                        log_warning("tag '%s' now points at %s, pulling %s as asked", ref->tag, tagged, ref->digest);
        }
        _cleanup_free_ char *reason = NULL;
        if (channel_revocation(r, m->digest, &reason) > 0)
                log_warning("'%s' is revoked: %s", m->digest, reason);

        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
        if (!json_is_object(manifest) || !json_is_array(json_object_get(manifest, "layers"))) {
                json_decref(manifest);
                log_error("'%s' is not an image manifest (%s)", source, m->media_type);
                return OUTCOME_PUBLISH;
        }
        k = mkdir_p(dest, 0755);
        if (k < 0) {
                json_decref(manifest);
                log_error_errno(k, "failed to create '%s': %m", dest);
                return OUTCOME_INPUT;
        }

        _cleanup_free_ char *pinned = NULL;
        json_t *files = json_array(), *l;
        uint64_t bytes = 0;
        size_t i;
        json_t *config = json_object_get(manifest, "config");
        const char *config_digest = json_string_value(json_object_get(config, "digest"));
        const char *config_type = json_string_value(json_object_get(config, "mediaType"));
        if (config_digest && !streq(config_digest, OCI_EMPTY_DIGEST)) {
                const char *name = streq_ptr(config_type, BAKER_CONFIG_MEDIA_TYPE) ? "manifest.json" : "config.json";
                _cleanup_free_ char *path = path_join(dest, name);
                k = registry_blob_get(r, config_digest, (uint64_t) json_integer_value(json_object_get(config, "size")), path);
                if (k < 0)
                        goto fail;
                json_array_append_new(files, json_pack("{s:s, s:s}", "file", name, "digest", config_digest));
        }
        json_array_foreach(json_object_get(manifest, "layers"), i, l) {
                const char *digest = json_string_value(json_object_get(l, "digest"));
                uint64_t size = (uint64_t) json_integer_value(json_object_get(l, "size"));
                if (!digest) {
                        k = log_error_errno(-EBADMSG, "layer %zu of '%s' has no digest", i, source);
                        goto fail;
                }
                _cleanup_free_ char *name = safe_name(l, i);
                _cleanup_free_ char *path = path_join(dest, name);
                log_info("fetching '%s' (%s, %" PRIu64 " bytes)", name, digest, size);
                k = registry_blob_get(r, digest, size, path);
                if (k < 0)
                        goto fail;
                bytes += size;
                json_array_append_new(files, json_pack("{s:s, s:s, s:I}", "file", name, "digest", digest, "size",
                                                       (json_int_t) size));
        }
        json_decref(manifest);
        pinned = registry_ref_pinned_string(ref, m->digest);
        if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:I}", "digest", m->digest, "reference", pinned, "destination",
                                      dest, "files", files, "bytes", (json_int_t) bytes);
                cli_print_json(o);
        } else {
                json_t *f;
                json_array_foreach(files, i, f)
                        printf("%s/%s %s\n", dest, json_string_value(json_object_get(f, "file")),
                               json_string_value(json_object_get(f, "digest")));
                printf("pulled %s (%" PRIu64 " bytes, every digest verified)\n", pinned, bytes);
                json_decref(files);
        }
        return OUTCOME_OK;
fail:
        json_decref(files);
        json_decref(manifest);
        return k == -EBADMSG ? OUTCOME_PUBLISH : cli_registry_outcome(k);
}
