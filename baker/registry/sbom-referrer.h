#pragma once
/* A bake's SBOM (sbom.cdx.json beside its manifest.json) published as an OCI referrer of the image
 * manifest: artifactType application/vnd.cyclonedx+json, the document as its one layer, subject =
 * the image. Registries without the referrers API get the tag-schema fallback index
 * ("sha256-<image hex>", registry_manifest_put). Deterministic: the same SBOM and image give the
 * same referrer digest, so a re-publish adds nothing. */
#include "artifact.h"
#include "pull.h"
#include "registry.h"

#define SBOM_MEDIA_TYPE "application/vnd.cyclonedx+json"
#define SBOM_FILE_NAME "sbom.cdx.json" /* what a bake writes, and what a pull names it */

/* input: what was published (a manifest.json; anything else has no SBOM). 0 when there is no SBOM,
 * 1 when it was pushed (ret_digest, optional: the referrer's manifest digest); logs its errors. */
int sbom_referrer_push(Registry *r, const char *input, const Artifact *a, char **ret_digest);

/* The SBOM referrer of image_digest (if any) downloaded, verified, as dest/sbom.cdx.json: 1 and
 * *ret, or 0 when the image has none. Logs its errors. */
int sbom_referrer_pull(Registry *r, const char *image_digest, const char *dest, PulledFile *ret);
