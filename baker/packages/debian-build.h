#pragma once
/* Builds a root filesystem tarball from exactly a locked package set: every .deb is fetched into
 * the content-addressed cache by its sha256 (verified byte for byte; a .deb already there costs no
 * network), the cached files become a local flat repository (apt-ftparchive), and mmdebstrap
 * installs all of them, and nothing else, from it. With SOURCE_DATE_EPOCH and hooks that remove
 * what ties the result to the building host (SSH host keys, /etc/hostname, /etc/resolv.conf, the
 * machine id), two builds give the same bytes. Runs as root (mode root) or as an ordinary user in
 * a user namespace (mode unshare).
 *
 * The tarball is stored in the cache as a blob, and remembered under the build key (namespace
 * "debian-rootfs"), so a second build of the same key is a lookup. */
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "debian-request.h"
#include "debpkg.h"
#include "digest.h"

typedef struct DebianKeyring {
        char *host_path;  /* the keyring on the host */
        char *image_path; /* where the image's apt finds it ("/etc/apt/keyrings/NAME.gpg") */
} DebianKeyring;

typedef struct DebianBuild {
        const char *what;             /* "input 'base'", for messages */
        const DebPackageSet *packages; /* locked, with sha256, repository and filename */
        DebianVariant variant;
        int64_t epoch;                /* SOURCE_DATE_EPOCH */
        const char *image_sources;    /* deb822 text for the image's /etc/apt/sources.list.d/debian.sources */
        const DebianKeyring *keyrings; /* copied into the image */
        size_t n_keyrings;
} DebianBuild;

/* The build's identity: the package set's digest, the variant, the epoch, the image's sources and
 * keyrings, and the builder's own version. */
void debian_build_key(const DebianBuild *b, uint8_t ret[DIGEST_SIZE]);

/* Whether the build makes the kernel's initramfs once instead of twice (debian-build.c says how):
 * one kernel (linux-image-<version>), initramfs-tools, and no other initramfs generator. */
bool debian_build_one_initramfs(const DebPackageSet *s);

/* Fetches the .debs into the cache (verified), each exactly once. Logs; a package its repository
 * no longer serves is named with its version and what to do (-ENOENT); a corrupt download is
 * -EBADMSG. */
int debian_fetch(Cache *c, const DebianBuild *b);

/* The tarball for the build, from the cache or built now. ret_path: the blob (locked while the
 * cache is open). Logs. */
int debian_build(Cache *c, const DebianBuild *b, char **ret_path, uint8_t ret_digest[DIGEST_SIZE]);
