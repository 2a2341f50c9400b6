/* Pulling an image artifact, verified; see pull.h. */
#include "pull.h"

#include <inttypes.h>

#include "artifact.h"
#include "channel.h"
#include "log.h"
#include "registry.h"
#include "sbom-referrer.h"

void pull_report_done(PullReport *p) {
        for (size_t i = 0; i < p->n_files; i++) {
                free(p->files[i].file);
                free(p->files[i].digest);
        }
        free(p->files);
        free(p->digest);
        free(p->reference);
        free(p->destination);
        *p = (PullReport) {};
}

json_t *pull_report_to_json(const PullReport *p) {
        json_t *files = json_array();
        for (size_t i = 0; i < p->n_files; i++) {
                json_t *f = json_pack("{s:s, s:s}", "file", p->files[i].file, "digest", p->files[i].digest);
                if (!p->files[i].config)
                        json_object_set_new(f, "size", json_integer((json_int_t) p->files[i].size));
                json_array_append_new(files, f);
        }
        return json_pack("{s:s, s:s, s:s, s:o, s:I}", "digest", p->digest, "reference", p->reference, "destination",
                         p->destination, "files", files, "bytes", (json_int_t) p->bytes);
}

/* A layer's file name from its title annotation, refusing anything that could leave DEST. */
static char *safe_name(json_t *layer, size_t i) {
        const char *title = json_string_value(json_object_get(json_object_get(layer, "annotations"),
                                                              "org.opencontainers.image.title"));
        if (title && *title && !strchr(title, '/') && !streq(title, ".") && !streq(title, "..") && title[0] != '.')
                return xstrdup(title);
        return xasprintf("layer-%zu", i);
}

static void add_file(PullReport *p, const char *file, const char *digest, uint64_t size, bool config) {
        p->files = xrealloc(p->files, (p->n_files + 1) * sizeof(PulledFile));
        p->files[p->n_files++] = (PulledFile) { .file = xstrdup(file), .digest = xstrdup(digest), .size = size,
                                                .config = config };
}

static int fetch_blobs(Registry *r, json_t *manifest, const char *source, const char *dest, PullReport *p) {
        json_t *config = json_object_get(manifest, "config"), *l;
        const char *config_digest = json_string_value(json_object_get(config, "digest"));
        const char *config_type = json_string_value(json_object_get(config, "mediaType"));
        size_t i;
        int k;
        if (config_digest && !streq(config_digest, OCI_EMPTY_DIGEST)) {
                const char *name = streq_ptr(config_type, BAKER_CONFIG_MEDIA_TYPE) ? "manifest.json" : "config.json";
                _cleanup_free_ char *path = path_join(dest, name);
                k = registry_blob_get(r, config_digest, (uint64_t) json_integer_value(json_object_get(config, "size")), path);
                if (k < 0)
                        return k;
                add_file(p, name, config_digest, 0, true);
        }
        json_array_foreach(json_object_get(manifest, "layers"), i, l) {
                const char *digest = json_string_value(json_object_get(l, "digest"));
                uint64_t size = (uint64_t) json_integer_value(json_object_get(l, "size"));
                if (!digest)
                        return log_error_errno(-EBADMSG, "layer %zu of '%s' has no digest", i, source);
                _cleanup_free_ char *name = safe_name(l, i);
                _cleanup_free_ char *path = path_join(dest, name);
                log_info("fetching '%s' (%s, %" PRIu64 " bytes)", name, digest, size);
                k = registry_blob_get(r, digest, size, path);
                if (k < 0)
                        return k;
                p->bytes += size;
                add_file(p, name, digest, size, false);
        }
        return 0;
}

/* The manifest the reference names, with warnings about a moved tag or a revocation. */
static int get_manifest(Registry *r, const RegistryRef *ref, const char *source, RegistryManifest **ret) {
        const char *reference = ref->digest ?: ref->tag ?: "latest";
        int k = registry_manifest_get(r, reference, ret);
        if (k == -ENOENT)
                log_error("'%s' not found", source);
        if (k < 0)
                return k;
        if (ref->tag && ref->digest) {
                _cleanup_free_ char *tagged = NULL;
                if (registry_manifest_head(r, ref->tag, &tagged) > 0 && !streq(tagged, ref->digest))
                        log_warning("tag '%s' now points at %s, pulling %s as asked", ref->tag, tagged, ref->digest);
        }
        _cleanup_free_ char *reason = NULL;
        if (channel_revocation(r, (*ret)->digest, &reason) > 0)
                log_warning("'%s' is revoked: %s", (*ret)->digest, reason);
        return 0;
}

int registry_pull(const char *source, const char *dest, PullReport *ret) {
        _cleanup_(registry_ref_freep) RegistryRef *ref = NULL;
        _cleanup_(registry_freep) Registry *r = NULL;
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        _cleanup_(pull_report_done) PullReport p = {};
        *ret = (PullReport) {};
        int k = registry_open_string(source, false, &ref, &r);
        if (k < 0)
                return k;
        k = get_manifest(r, ref, source, &m);
        if (k < 0)
                return k;
        json_t *manifest = json_loadb(m->data, m->size, 0, NULL);
        if (!json_is_object(manifest) || !json_is_array(json_object_get(manifest, "layers"))) {
                json_decref(manifest);
                return log_error_errno(-EBADMSG, "'%s' is not an image manifest (%s)", source, m->media_type);
        }
        k = mkdir_p(dest, 0755);
        if (k < 0) {
                json_decref(manifest);
                ret->local_failure = true;
                return log_error_errno(k, "failed to create '%s': %m", dest);
        }
        k = fetch_blobs(r, manifest, source, dest, &p);
        json_decref(manifest);
        if (k < 0)
                return k;
        /* The image's SBOM beside its manifest.json, where baker diff and inspect read it. */
        PulledFile sbom = {};
        k = sbom_referrer_pull(r, m->digest, dest, &sbom);
        if (k < 0)
                return k;
        if (k > 0) {
                p.files = xrealloc(p.files, (p.n_files + 1) * sizeof(PulledFile));
                p.files[p.n_files++] = sbom;
        }
        p.digest = xstrdup(m->digest);
        p.reference = registry_ref_pinned_string(ref, m->digest);
        p.destination = xstrdup(dest);
        *ret = p;
        p = (PullReport) {};
        return 0;
}
