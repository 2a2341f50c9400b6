#pragma once
/* manifest.json: the machine-readable record of one bake, written beside the outputs, stored with
 * the finished bake in the cache, and used as the config blob when publishing. This module is the
 * only code that reads or writes it: everyone else holds a BakeManifest. Schema (version 1):
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
 *   test              {firmware, passed, seconds, accel}   when the bake ran a boot test
 *
 * A field that is not set (NULL string, has_* false, NULL pointer) is left out of the JSON, so a
 * manifest read and written again keeps its bytes, and a bare image's description (name and
 * outputs only) has the same shape with fewer fields. Fields the schema does not name are not
 * kept. Variables are not recorded, so sensitive values cannot leak through it. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define MANIFEST_VERSION 1
#define MANIFEST_FILE "manifest.json"

typedef struct ManifestInput {
        char *name, *kind, *source, *digest;
} ManifestInput;

typedef struct ManifestPartition {
        uint64_t index;
        char *label, *type;
        uint64_t offset, size;
        char *partuuid, *fs, *fs_uuid, *mount;
} ManifestPartition;

typedef struct ManifestLayout {
        char *table;
        uint64_t size;
        char *disk_guid;
        ManifestPartition *partitions;
        size_t n_partitions;
} ManifestLayout;

typedef struct ManifestStep {
        uint64_t index;
        char *name, *kind, *key;
        double seconds; /* build telemetry: not published */
        bool cached;    /* build telemetry: not published */
} ManifestStep;

typedef struct ManifestOutput {
        char *file; /* a name inside the output folder, never a path */
        char *format, *compress;
        uint64_t size;
        char *sha256;
} ManifestOutput;

typedef struct ManifestTest {
        char *firmware;
        bool passed;
        double seconds; /* build telemetry: not published */
        char *accel;    /* build telemetry: not published */
} ManifestTest;

typedef struct ManifestPackageChange {
        char *name;
        char *old_version, *new_version; /* NULL: added, removed */
} ManifestPackageChange;

/* The image's packages (when it has a dpkg status): its SBOM file beside the outputs, how many,
 * and what changed since the previous bake in the same output folder (build telemetry: depends
 * on what was there before, not published). */
typedef struct ManifestPackages {
        char *sbom;
        uint64_t count;
        ManifestPackageChange *changes;
        size_t n_changes;
} ManifestPackages;

typedef struct BakeManifest {
        int manifest_version; /* 0: not recorded */
        char *name, *version, *description;
        char *bake_key, *image_digest;
        bool has_image_size, has_epoch, has_inputs, has_steps;
        uint64_t image_size;
        int64_t epoch;
        char *created, *baker_version;
        ManifestInput *inputs;
        size_t n_inputs;
        ManifestLayout *layout;
        ManifestStep *steps;
        size_t n_steps;
        ManifestOutput *outputs; /* NULL: the document had no "outputs" */
        size_t n_outputs;
        ManifestTest *test;
        ManifestPackages *packages;
} BakeManifest;

BakeManifest *manifest_new(void);
BakeManifest *manifest_free(BakeManifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(BakeManifest *, manifest_free);

/* Building one during a bake. Strings are copied. An input already listed is not added twice. */
void manifest_add_input(BakeManifest *m, const char *name, const char *kind, const char *source, const char *digest);
void manifest_add_step(BakeManifest *m, uint64_t index, const char *name, const char *kind, const char *key,
                       double seconds, bool cached);
/* file: a name in the output folder. */
void manifest_add_output(BakeManifest *m, const char *file, const char *format, const char *compress, uint64_t size,
                         const char *sha256);
/* Takes ownership of l (the disk's table and every partition with its identifiers). */
void manifest_set_layout(BakeManifest *m, ManifestLayout *l);
void manifest_layout_free(ManifestLayout *l);
void manifest_set_test(BakeManifest *m, const char *firmware, bool passed, double seconds, const char *accel);
void manifest_set_packages(BakeManifest *m, const char *sbom, uint64_t count);
/* After manifest_set_packages(); old or new NULL: added, removed. */
void manifest_add_package_change(BakeManifest *m, const char *name, const char *old_version, const char *new_version);
/* "2026-11-26T07:54:00Z" */
char *manifest_time(long long epoch);

/* The JSON document; telemetry false leaves out what describes one build rather than the image
 * (steps' seconds and cached, the test's seconds and accel). */
json_t *manifest_to_json(const BakeManifest *m, bool telemetry);
/* From a parsed document: every field present must have its schema type; "outputs" must be a list.
 * where names the source in errors ("PATH"); -EBADMSG (logged) on a mismatch. */
int manifest_from_json(json_t *j, const char *where, BakeManifest **ret);
/* Parses bytes (a file's, or a pulled config blob's). */
int manifest_parse(const char *data, size_t size, const char *where, BakeManifest **ret);

/* Writes m (sorted keys, 2-space indent, trailing newline) atomically to path. */
int manifest_write(const char *path, const BakeManifest *m);
/* Reads any manifest of this shape (a bake's, or a hand-written one with name and outputs). */
int manifest_read(const char *path, BakeManifest **ret);
/* Reads a bake's manifest: also checks the fields every consumer relies on (name, bake_key,
 * image_digest, outputs); logs "PATH: …" on error. */
int manifest_load(const char *path, BakeManifest **ret);
/* The published config blob: canonical JSON (sorted keys, compact) without build telemetry. */
char *manifest_config(const BakeManifest *m, size_t *ret_size);
/* The output best suited as the canonical raw image: raw uncompressed, then raw compressed,
 * then any uncompressed, then anything; NULL when there is none. */
const ManifestOutput *manifest_best_output(const BakeManifest *m);
