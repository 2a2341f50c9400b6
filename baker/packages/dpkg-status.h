#pragma once
/* What an image has installed, read offline from its dpkg status file (var/lib/dpkg/status) and
 * the distribution it says it is (etc/os-release). Pure: works on bytes the caller read. */
#include <stddef.h>

#include "debpkg.h"

/* Every package whose status is installed (or unpacked, half-configured, awaiting triggers: its
 * files are on the disk); "not-installed" and "config-files" entries are left out. Sorted.
 * Malformed data is -EBADMSG with *ret_line (optional) set to the offending line. */
int dpkg_status_parse(const char *data, size_t size, DebPackageSet *ret, unsigned *ret_line);

typedef struct OsRelease {
        char *id;               /* "debian", "ubuntu"; NULL = unknown */
        char *version_id;       /* "12"; NULL when absent (testing, unstable) */
        char *version_codename; /* "bookworm" */
} OsRelease;

void os_release_done(OsRelease *o);
/* Parses os-release(5) text (KEY=value, values optionally quoted). Never fails. */
void os_release_parse(const char *data, size_t size, OsRelease *ret);
/* The purl "distro" qualifier: "debian-12", else "debian-bookworm", else NULL. */
char *os_release_distro(const OsRelease *o);
