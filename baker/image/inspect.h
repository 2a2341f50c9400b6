#pragma once
/* baker inspect: what an image file or a manifest.json says about itself, read offline (no
 * appliance): the partition table, each filesystem's type, UUID and label, the stamp
 * (/usr/lib/baker/stamp.json) and os-release's IMAGE_ID/IMAGE_VERSION from the root ext4 filesystem,
 * and the image digest (sparse-aware SHA-256 of the raw image; a qcow2 is converted to a temporary
 * sparse raw first, so the digest is the canonical one). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "digest.h"
#include "fsprobe.h"
#include "util.h"

/* Whether path looks like a manifest (a .json name or a '{' first) rather than an image. */
bool inspect_is_manifest(const char *path);

typedef struct BakeManifest BakeManifest;

typedef struct DiskLayout DiskLayout;

/* os-release's fields that say which image this is (NULL when absent). */
typedef struct InspectOsRelease {
        char *id, *version_id, *pretty_name, *image_id, *image_version;
} InspectOsRelease;

/* The stamp baker wrote into the root filesystem. `document` is the file as found (what --json
 * shows, unknown keys included); the fields are read from it for people. */
typedef struct InspectStamp {
        unsigned partition; /* 1-based; 0 for a bare filesystem */
        json_t *document;
        const char *name, *version, *bake_key, *baker_version; /* borrowed from document */
} InspectStamp;

typedef struct ImageInspection {
        char *path;
        const char *format; /* "raw" or "qcow2" */
        uint64_t file_size;
        DiskLayout *layout; /* NULL: a bare filesystem, described by filesystems[0] */
        FsInfo *filesystems; /* one per partition (or the one bare filesystem) */
        size_t n_filesystems;
        char image_digest[DIGEST_STRING_MAX];
        uint64_t raw_size;
        InspectStamp *stamp;         /* NULL: none found */
        InspectOsRelease *os_release; /* NULL: none found */
} ImageInspection;

ImageInspection *image_inspection_free(ImageInspection *x);
DEFINE_TRIVIAL_CLEANUP_FUNC(ImageInspection *, image_inspection_free);

/* Reads what an image says about itself. Errors are logged: -ENOENT (missing), -EMEDIUMTYPE
 * (neither a partition table nor a filesystem), -EBADMSG (a damaged or truncated table), others
 * from reading. */
int inspect_image(const char *path, ImageInspection **ret);
/* {"kind": "image", ...}: the machine-readable form `baker inspect --json` prints. */
json_t *image_inspection_to_json(const ImageInspection *x);
/* Human lines. */
void image_inspection_print(const ImageInspection *x, FILE *f);

/* A manifest: read and checked (errors logged, -EINVAL/-EBADMSG for a bad one). */
int inspect_manifest(const char *path, BakeManifest **ret);
/* {"kind": "manifest", "path", "manifest"} */
json_t *inspect_manifest_to_json(const char *path, const BakeManifest *m);
void inspect_print_manifest(const char *path, const BakeManifest *m, FILE *f);
