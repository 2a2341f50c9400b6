#pragma once
/* Assembly: the final root Tree and the template's disk layout turned into a raw disk image,
 * offline. Every identifier (disk GUID, PARTUUIDs, filesystem UUIDs and hash seeds, FAT volume
 * ids) is derived from a 32-byte seed (the bake key), so the same bake gives the same bytes. */
#include <jansson.h>

#include "manifest.h"
#include "partition.h"
#include "template.h"
#include "tree.h"

typedef struct AssemblyFs {
        char uuid[37];      /* ext4/swap: RFC 4122 string; vfat: "XXXX-XXXX"; "" = none */
        uint8_t uuid_bytes[16];
        uint8_t hash_seed[16];
        uint32_t vfat_id;
} AssemblyFs;

/* A bootloader to install on the finished disk (from a bootloader step, bake.c). */
typedef struct AssemblyBootloader {
        BootloaderType type;
        char *cmdline; /* variables substituted; NULL = the default */
        SourcePos pos; /* the step, for errors */
} AssemblyBootloader;

void assembly_bootloaders_free(AssemblyBootloader *l, size_t n);

typedef struct Assembly {
        const Template *template; /* borrowed */
        AssemblyBootloader *bootloaders;
        size_t n_bootloaders;
        uint8_t seed[32];
        DiskLayout *layout;
        AssemblyFs *fs;           /* one per partition, same order */
} Assembly;

/* Computes the layout and every identifier; writes nothing. Logs errors with the template's
 * position of the disk section. The bootloaders are copied. */
int assembly_new(const Template *t, const AssemblyBootloader *bootloaders, size_t n_bootloaders, const uint8_t seed[32],
                 Assembly **ret);
Assembly *assembly_free(Assembly *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Assembly *, assembly_free);

/* /etc/fstab for the layout: mounted filesystems by UUID (root first, then by mount depth), swap. */
char *assembly_fstab(const Assembly *a);

/* The "layout" of manifest.json: the table and every partition with its identifiers. */
ManifestLayout *assembly_manifest_layout(const Assembly *a);

/* Writes the raw image at raw_path (created or truncated): partition table, each filesystem
 * from its part of the tree, then the bootloaders given to assembly_new() (kernel
 * and initrd taken from the tree's /boot). Scratch files (kernel copies, xfs contents) go in
 * scratch_dir, the bake's work directory, which an interrupt removes whole. Logs errors naming
 * the partition. */
int assembly_write(const Assembly *a, const Tree *tree, int64_t epoch, const char *raw_path, const char *scratch_dir);
