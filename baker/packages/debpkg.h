#pragma once
/* A set of Debian binary packages: what a lock file pins, what apt resolved, what an image's dpkg
 * status says is installed. Kept sorted by (name, architecture) so that lock files, SBOMs and
 * diffs come out in one stable order. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "util.h"

typedef struct DebPackage {
        char *name;
        char *version;
        char *architecture;
        char *source;         /* source package name (without version); NULL = same as name */
        char *source_version; /* the source's version when it differs from version ("Source: x (v)"), else NULL */
        bool has_sha256;      /* the .deb's digest: known for resolved and locked packages */
        uint8_t sha256[DIGEST_SIZE];
        uint64_t size;        /* the .deb's size in bytes; 0 = unknown */
        char *repository;     /* base URI of the archive that serves it, NULL = unknown */
        char *filename;       /* path of the .deb below repository ("pool/main/...") */
} DebPackage;

typedef struct DebPackageSet {
        DebPackage *packages;
        size_t n;
} DebPackageSet;

void deb_package_done(DebPackage *p);
void deb_package_set_done(DebPackageSet *s);
/* Appends a copy of p (every string duplicated). */
void deb_package_set_add(DebPackageSet *s, const DebPackage *p);
/* Sorts by name, then architecture; returns -EEXIST if one (name, architecture) appears twice. */
int deb_package_set_sort(DebPackageSet *s);
const DebPackage *deb_package_set_find(const DebPackageSet *s, const char *name);

/* The set's identity: SHA-256 over "baker-debs-v1" and, in sorted order, each package's name,
 * architecture, version and .deb digest. Two sets with the same digest install the same bytes. */
void deb_package_set_digest(const DebPackageSet *s, uint8_t ret[DIGEST_SIZE]);

/* Fills source/source_version from a control "Source:" value ("openssl" or "openssl (3.0.1-1)"). */
void deb_package_set_source(DebPackage *p, const char *source_field);

/* The package URL (purl) of an installed package:
 * "pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=DISTRO" with the version percent-encoded
 * ("1:2.3" -> "1%3A2.3"); distro may be NULL. */
char *deb_package_purl(const DebPackage *p, const char *vendor, const char *distro);
