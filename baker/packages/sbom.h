#pragma once
/* The image's package inventory as a CycloneDX 1.5 JSON document (an SBOM): one component per
 * installed Debian package, with its purl, architecture and source package. Built from the dpkg
 * status read offline, so it says what is on the disk, whatever put it there. Deterministic: the
 * same packages and subject give the same bytes. */
#include <stdint.h>

#include "debpkg.h"
#include "digest.h"

struct json_t;

#define SBOM_FILENAME "sbom.cdx.json"
#define SBOM_MEDIA_TYPE "application/vnd.cyclonedx+json"

typedef struct SbomSubject {
        const char *name;    /* the template's name */
        const char *version; /* NULL = none */
        const uint8_t *image_digest; /* the image this describes; also seeds the serial number */
        const char *vendor;  /* purl namespace: os-release ID, "debian" when unknown */
        const char *distro;  /* purl distro qualifier ("debian-12"), NULL = none */
        int64_t epoch;       /* metadata.timestamp (SOURCE_DATE_EPOCH); < 0 = none */
} SbomSubject;

/* New reference. */
struct json_t *sbom_build(const DebPackageSet *s, const SbomSubject *subject);

/* Reads the packages back from a CycloneDX document written by sbom_build() (or any CycloneDX
 * document whose components carry pkg:deb purls): name and version from the component, the
 * architecture and source from the purl qualifiers and properties. -EBADMSG if it is not one. */
int sbom_packages(const struct json_t *sbom, DebPackageSet *ret);
