#pragma once
/* The image's SBOM (bake-sbom.c). */
#include <stdint.h>

#include "digest.h"
#include "manifest.h"
#include "template.h"
#include "tree.h"

/* When the tree has a dpkg status: OUTPUT_DIR/sbom.cdx.json (CycloneDX 1.5), the packages that
 * changed since the SBOM it replaces (console, "packages-changed" event), both recorded in m's
 * packages. Nothing when there is no dpkg status. Logs; < 0 only when the SBOM cannot be written. */
int bake_write_sbom(const Tree *tree, const Template *t, const char *output_dir, const uint8_t image_digest[DIGEST_SIZE],
                    int64_t epoch, BakeManifest *m);
