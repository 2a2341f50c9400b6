/* The image's SBOM published as an OCI referrer of the image manifest (sbom-referrer.h). */
#include "sbom-referrer.h"

#include <libgen.h>

#include "digest.h"
#include "log.h"
#include "manifest.h"

/* The SBOM file a bake's manifest.json names beside itself; NULL when there is none. */
static char *sbom_path(const char *input) {
        if (!endswith(input, ".json"))
                return NULL;
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        if (manifest_read(input, &m) < 0 || !m->packages || !m->packages->sbom || strchr(m->packages->sbom, '/'))
                return NULL;
        _cleanup_free_ char *copy = xstrdup(input);
        return path_join(dirname(copy), m->packages->sbom);
}

int sbom_referrer_push(Registry *r, const char *input, const Artifact *a, char **ret_digest) {
        _cleanup_free_ char *path = sbom_path(input);
        if (!path)
                return 0;
        uint8_t d[DIGEST_SIZE];
        uint64_t size = 0;
        int k = digest_file(path, d, &size);
        if (k < 0)
                return log_error_errno(k, "failed to read the SBOM '%s': %m", path);
        char digest[DIGEST_STRING_MAX];
        digest_to_string(d, digest);
        k = registry_blob_push(r, &(RegistryBlob) { .digest = OCI_EMPTY_DIGEST, .size = 2, .data = "{}", .label = "empty" },
                               NULL);
        if (k >= 0)
                k = registry_blob_push(r, &(RegistryBlob) { .digest = digest, .size = size, .path = path, .label = "sbom" },
                                       NULL);
        if (k < 0)
                return k;
        json_t *m = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:I, s:{s:s}}], s:{s:s, s:s, s:I}}",
                              "schemaVersion", 2, "mediaType", OCI_MANIFEST_MEDIA_TYPE, "artifactType", SBOM_MEDIA_TYPE,
                              "config", "mediaType", OCI_EMPTY_MEDIA_TYPE, "digest", OCI_EMPTY_DIGEST, "size", 2,
                              "layers", "mediaType", SBOM_MEDIA_TYPE, "digest", digest, "size", (json_int_t) size,
                              "annotations", "org.opencontainers.image.title", SBOM_FILE_NAME,
                              "subject", "mediaType", OCI_MANIFEST_MEDIA_TYPE, "digest", a->manifest_digest, "size",
                              (json_int_t) a->manifest_size);
        _cleanup_free_ char *data = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(m);
        uint8_t rd[DIGEST_SIZE];
        char rdigest[DIGEST_STRING_MAX];
        digest_buffer(data, strlen(data), rd);
        digest_to_string(rd, rdigest);
        k = registry_manifest_put(r, rdigest, OCI_MANIFEST_MEDIA_TYPE, data, strlen(data), NULL);
        if (k < 0)
                return log_error_errno(k, "failed to publish the SBOM of %s: %m", a->manifest_digest);
        if (ret_digest)
                *ret_digest = xstrdup(rdigest);
        return 1;
}

int sbom_referrer_pull(Registry *r, const char *image_digest, const char *dest, PulledFile *ret) {
        json_t *descs = NULL;
        int k = registry_referrers(r, image_digest, SBOM_MEDIA_TYPE, &descs);
        const char *rdigest = json_string_value(json_object_get(json_array_get(descs, 0), "digest"));
        _cleanup_(registry_manifest_freep) RegistryManifest *m = NULL;
        if (k >= 0 && rdigest)
                k = registry_manifest_get(r, rdigest, &m); /* verified against its digest */
        json_decref(descs);
        if (k < 0 || !m)
                return k == -ENOENT ? 0 : k;
        json_t *o = json_loadb(m->data, m->size, 0, NULL);
        json_t *layer = json_array_get(json_object_get(o, "layers"), 0);
        const char *digest = json_string_value(json_object_get(layer, "digest"));
        json_int_t size = json_integer_value(json_object_get(layer, "size"));
        _cleanup_free_ char *path = path_join(dest, SBOM_FILE_NAME);
        k = digest && size > 0 ? registry_blob_get(r, digest, (uint64_t) size, path) : -EBADMSG;
        if (k >= 0)
                *ret = (PulledFile) { .file = xstrdup(SBOM_FILE_NAME), .digest = xstrdup(digest), .size = (uint64_t) size };
        json_decref(o);
        if (k < 0)
                return log_error_errno(k, "failed to fetch the SBOM of %s: %m", image_digest);
        return 1;
}
