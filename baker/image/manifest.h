#pragma once
/* manifest.json: the machine-readable record of one bake, written beside the outputs, stored with
 * the finished bake in the cache, and used as the config blob when publishing. Schema (version 1):
 *
 *   manifest_version  1
 *   name, version, description
 *   bake_key          "sha256:…"  over everything that went in (plan)
 *   image_digest      "sha256:…"  of the canonical raw disk image
 *   image_size        bytes of the raw image
 *   epoch             SOURCE_DATE_EPOCH used for every timestamp
 *   created           epoch as RFC 3339 UTC
 *   baker_version
 *   inputs            [{name, kind, source, digest}]
 *   layout            {table, size, disk_guid, partitions: [{index, label, type, offset, size,
 *                      partuuid, fs, fs_uuid, mount}]}
 *   steps             [{index, name, kind, key, seconds, cached}]
 *   outputs           [{file, format, compress, size, sha256}]
 *
 * Variables are not recorded, so sensitive values cannot leak through it. */
#include <jansson.h>

#define MANIFEST_VERSION 1
#define MANIFEST_FILE "manifest.json"

/* Writes m (sorted keys, 2-space indent, trailing newline) atomically to path. */
int manifest_write(const char *path, json_t *m);
/* Loads and checks the fields every consumer relies on; logs "PATH: …" on error. */
int manifest_load(const char *path, json_t **ret);
/* "2026-11-26T07:54:00Z" */
char *manifest_time(long long epoch);
