#pragma once
/* What changed between two package sets: packages added, removed, and changed in version or
 * content (same version, another .deb digest: a rebuilt package). Pure. */
#include <stdbool.h>
#include <stddef.h>

#include "debpkg.h"

struct json_t;

typedef struct PackageChange {
        char *name;
        char *old_version; /* NULL = added */
        char *new_version; /* NULL = removed */
} PackageChange;

typedef struct PackageDiff {
        PackageChange *changes; /* in name order */
        size_t n;
        size_t n_added, n_removed, n_changed;
} PackageDiff;

/* Both sets sorted (deb_package_set_sort). */
void package_diff(const DebPackageSet *a, const DebPackageSet *b, PackageDiff *ret);
void package_diff_done(PackageDiff *d);

/* "openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1", "+ nginx 1.22.1-9", "- vim 2:9.0.1378-2"; new string. */
char *package_change_to_string(const PackageChange *c);
/* [{"name", "old", "new"}], a missing side is null; new reference. */
struct json_t *package_diff_to_json(const PackageDiff *d);
/* Reads what package_diff_to_json() wrote; -EBADMSG on anything else. */
int package_diff_from_json(const struct json_t *j, PackageDiff *ret);
