#pragma once
/* A baked image as an OCI artifact (what `baker push` uploads and `baker pull` reads back).
 *
 * Default layout ("artifact"):
 *   manifest  application/vnd.oci.image.manifest.v1+json, artifactType application/vnd.baker.image.v1
 *   config    the bake's manifest.json, byte for byte: application/vnd.baker.image.config.v1+json
 *             (for a bare image file with no manifest.json: a small generated JSON of the same shape)
 *   layers    one per output file: application/vnd.baker.image.layer.v1.<format>[+zstd], annotated
 *             with org.opencontainers.image.title = the file name
 *   annotations org.opencontainers.image.{created,version,revision,source,title,description,
 *             base.digest} where known, plus vnd.baker.bake-key and vnd.baker.image-digest
 *
 * KubeVirt containerDisk layout (format "containerdisk"): a normal image that KubeVirt and container
 * runtimes accept: config application/vnd.oci.image.config.v1+json with rootfs.diff_ids, one
 * uncompressed tar layer holding disk/<name>.qcow2 (uid/gid 107, mode 0440, mtime = created), no
 * artifactType.
 *
 * Manifests are canonical JSON (sorted keys, compact) and every field is derived from the input
 * (created comes from the bake's manifest, $SOURCE_DATE_EPOCH or the file's mtime, never "now"), so
 * re-publishing the same image gives the same manifest digest. */
#include <stdbool.h>
#include <stdint.h>

#include "registry.h"

#define BAKER_ARTIFACT_TYPE "application/vnd.baker.image.v1"
#define BAKER_CONFIG_MEDIA_TYPE "application/vnd.baker.image.config.v1+json"
#define BAKER_LAYER_MEDIA_TYPE_PREFIX "application/vnd.baker.image.layer.v1."
#define OCI_IMAGE_CONFIG_MEDIA_TYPE "application/vnd.oci.image.config.v1+json"
#define OCI_LAYER_TAR_MEDIA_TYPE "application/vnd.oci.image.layer.v1.tar"
#define ANNOTATION_BAKE_KEY "vnd.baker.bake-key"
#define ANNOTATION_IMAGE_DIGEST "vnd.baker.image-digest"
#define CONTAINERDISK_UID 107

typedef struct ArtifactLayer {
        char *path; /* file uploaded as the blob */
        char *digest;
        uint64_t size;
        char *media_type;
        char *title;
        bool temporary; /* path is ours (containerdisk tar): removed by artifact_free() */
} ArtifactLayer;

typedef struct Artifact {
        char *name, *version; /* version: the default tag */
        char *config, *config_digest, *config_media_type;
        size_t config_size;
        ArtifactLayer *layers;
        size_t n_layers;
        char *manifest, *manifest_digest; /* canonical JSON */
        size_t manifest_size;
} Artifact;

typedef struct ArtifactOptions {
        bool containerdisk;
        const char *format;       /* only outputs of this format (qcow2, raw, …); NULL = all */
        const char *tmpdir;       /* where a containerdisk tar is written; NULL = beside the image */
        char **annotations;       /* "KEY=VALUE", added to (or overriding) the manifest's */
        size_t n_annotations;
} ArtifactOptions;

/* input: a bake's manifest.json (its outputs are found beside it) or a bare image file. */
int artifact_build(const char *input, const ArtifactOptions *opts, Artifact **ret);
Artifact *artifact_free(Artifact *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Artifact *, artifact_free);

/* Uploads every blob (skipping those present), then the manifest under tag (or by digest if tag is
 * NULL): a tag never names a manifest whose blobs are missing. */
int artifact_push(Registry *r, const Artifact *a, const char *tag, const char *mount_from);

/* Writes a deterministic ustar stream with directory "disk/" and file "disk/<file_name>" holding
 * the image, owned by uid/gid 107. Exposed for tests. ret_digest: "sha256:…" of the tar. */
int artifact_write_containerdisk_tar(const char *image, const char *file_name, int64_t mtime, int out_fd,
                                     char **ret_digest, uint64_t *ret_size);

/* Layer media type for an output format, e.g. ("qcow2", NULL) → "application/vnd.baker.image.layer.v1.qcow2",
 * ("raw", "zstd") → "…v1.raw+zstd". */
char *artifact_layer_media_type(const char *format, const char *compress);
