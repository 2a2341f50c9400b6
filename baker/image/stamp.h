#pragma once
/* The identity written inside the image: os-release's own IMAGE_ID / IMAGE_VERSION fields, and a
 * stamp file (/usr/lib/baker/stamp.json) with name, version, bake key, input digests and baker's
 * version. Not the image digest: an image cannot contain its own hash. Pure text functions. */
#include <jansson.h>

#define STAMP_PATH "usr/lib/baker/stamp.json"

/* Returns os-release text with IMAGE_ID and IMAGE_VERSION set (replaced if present, appended
 * otherwise); other lines are kept byte for byte. old may be NULL (no os-release yet). Values
 * are quoted and escaped as os-release(5) requires. */
char *stamp_os_release(const char *old, const char *image_id, const char *image_version);

/* Canonical stamp JSON text (sorted keys, trailing newline). inputs: object name -> "sha256:…". */
char *stamp_json(const char *name, const char *version, const char *bake_key, json_t *inputs);
