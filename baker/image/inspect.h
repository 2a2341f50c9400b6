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

/* One JSON document describing the image ("kind": "image") or the manifest ("kind": "manifest").
 * Errors are logged: -ENOENT (missing), -EMEDIUMTYPE (neither a partition table nor a filesystem),
 * -EBADMSG (a damaged or truncated table, a bad manifest), others from reading. */
int inspect_image(const char *path, json_t **ret);
int inspect_manifest(const char *path, json_t **ret);

/* Human lines for a document from the two functions above. */
void inspect_print(json_t *doc, FILE *f);
