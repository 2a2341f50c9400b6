#pragma once
/* baker inspect: what an image file or a manifest.json says about itself, read offline (no
 * appliance): the partition table, each filesystem's type, UUID and label, the stamp
 * (/usr/lib/baker/stamp.json) and os-release's IMAGE_ID/IMAGE_VERSION from the root ext4 filesystem,
 * and the image digest (sparse-aware SHA-256 of the raw image; a qcow2 is converted to a temporary
 * sparse raw first, so the digest is the canonical one). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* Whether path looks like a manifest (a .json name or a '{' first) rather than an image. */
bool inspect_is_manifest(const char *path);

typedef struct BakeManifest BakeManifest;

/* One JSON document describing the image ("kind": "image"). Errors are logged: -ENOENT (missing),
 * -EMEDIUMTYPE (neither a partition table nor a filesystem), -EBADMSG (a damaged or truncated
 * table), others from reading. */
int inspect_image(const char *path, json_t **ret);
/* Human lines for a document from inspect_image(). */
void inspect_print(json_t *doc, FILE *f);

/* A manifest: read and checked (errors logged, -EINVAL/-EBADMSG for a bad one). */
int inspect_manifest(const char *path, BakeManifest **ret);
/* {"kind": "manifest", "path", "manifest"} */
json_t *inspect_manifest_to_json(const char *path, const BakeManifest *m);
void inspect_print_manifest(const char *path, const BakeManifest *m, FILE *f);
