#pragma once
/* baker verify: rebuilds a template with an empty private cache and compares the image digest
 * with the one OUTPUT/manifest.json records; on a mismatch it says what differs (partition table
 * fields, filesystem superblock fields, paths) through an ImageDiff. */
#include <stdbool.h>

#include "bake.h"
#include "digest.h"
#include "imagediff.h"

typedef struct VerifyResult {
        char *manifest_path;              /* the original bake's manifest */
        char bake_key[DIGEST_STRING_MAX]; /* of the rebuild (equal to the original's) */
        char original[DIGEST_STRING_MAX]; /* image digest the manifest records */
        char rebuilt[DIGEST_STRING_MAX];
        bool reproducible;
        ImageDiff *diff; /* when not reproducible and the images could be compared, else NULL */
} VerifyResult;

void verify_result_done(VerifyResult *v);

/* o->output_dir holds the original bake. OUTCOME_OK when the rebuild gives the same image,
 * OUTCOME_MISMATCH when it does not (ret filled in both cases), OUTCOME_USAGE when there is
 * nothing to compare with or the template changed since, else the rebuild's outcome. Errors are
 * logged. */
Outcome bake_verify(const BakeOptions *o, VerifyResult *ret);
