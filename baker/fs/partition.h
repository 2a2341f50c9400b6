#pragma once
/* Partition tables written by baker itself: GPT (protective MBR, primary and backup headers and
 * entry arrays) and MBR. Every identifier (disk GUID, partition GUIDs, MBR disk signature) is
 * derived from a 32-byte seed (the bake key), so the same layout and seed give the same bytes. */
#include <stdbool.h>
#include <stdint.h>

#include "util.h"
#include "vocabulary.h" /* PartitionTableType, PartitionType */

#define PARTITION_ALIGNMENT (UINT64_C(1) << 20) /* 1 MiB */
#define PARTITION_SIZE_REST UINT64_C(0)         /* PartitionSpec.size: whatever space is left */
#define PARTITION_SEED_SIZE 32

/* What the template asks for. */
typedef struct PartitionSpec {
        const char *label;        /* GPT partition name (ASCII, at most 36 characters) */
        PartitionType type;
        uint64_t size;            /* bytes, rounded up to PARTITION_ALIGNMENT; PARTITION_SIZE_REST */
        bool legacy_bios_bootable; /* GPT attribute bit 2; the MBR "active" flag */
        bool grow_file_system;     /* GPT attribute bit 59 (systemd's "grow-file-system"); GPT only */
} PartitionSpec;

/* What was laid out. */
typedef struct Partition {
        char *label;
        PartitionType type;
        uint64_t offset, size;      /* bytes */
        bool legacy_bios_bootable;
        bool grow_file_system;      /* GPT attribute bit 59 */
        uint8_t uuid[16];           /* PARTUUID, RFC 4122 byte order (GPT only) */
        char uuid_string[37];       /* lower-case "xxxxxxxx-xxxx-..."; MBR: "SSSSSSSS-NN" */
        /* Filled by disk_layout_read() only: the table's raw values, also for types baker does not
         * know (type is then _PARTITION_TYPE_INVALID). */
        char type_string[37];       /* GPT type GUID; MBR: the type byte as "0x83" */
        uint64_t attributes;        /* GPT attribute bits; MBR: the boot indicator byte */
} Partition;

typedef struct DiskLayout {
        PartitionTableType table;
        uint64_t disk_size;         /* bytes, a multiple of 512 */
        uint8_t disk_guid[16];      /* GPT */
        char disk_guid_string[37];
        uint32_t mbr_signature;     /* MBR (and the protective MBR's signature field is left zero) */
        Partition *partitions;
        size_t n_partitions;
        uint64_t backup_end;        /* disk_layout_read(), GPT: the end of the backup header */
} DiskLayout;

DiskLayout *disk_layout_free(DiskLayout *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(DiskLayout *, disk_layout_free);

/* Places the partitions in order, each starting on a 1 MiB boundary; at most one may be
 * PARTITION_SIZE_REST and takes what is left (minus the backup GPT). -ENOSPC when they do not fit,
 * -EINVAL for a bad spec (bios-boot on MBR, more than 4 MBR partitions, two "rest", long label).
 * Errors are logged. */
int disk_layout_new(PartitionTableType table, uint64_t disk_size, const PartitionSpec *specs, size_t n_specs,
                    const uint8_t seed[PARTITION_SEED_SIZE], DiskLayout **ret);

/* Writes the table into the image open at fd, growing the file to disk_size if it is shorter.
 * Only the table's sectors are written (GPT: LBA 0-33 and the last 33; MBR: bytes 440-511 of
 * LBA 0, leaving the boot code alone). */
int partition_table_write(const DiskLayout *l, int fd);

/* The partition whose label is `label`, or NULL. */
const Partition *disk_layout_find(const DiskLayout *l, const char *label);
/* The first partition of type t, or NULL. */
const Partition *disk_layout_find_type(const DiskLayout *l, PartitionType t);

/* Exposed for tests and for whoever needs another derived identifier. */
uint32_t partition_crc32(const void *data, size_t size);
void partition_guid_to_string(const uint8_t guid[16], char ret[37]);
int partition_guid_from_string(const char *s, uint8_t ret[16]);

/* Reads the partition table of the image open at fd: GPT (protective MBR, primary header and entry
 * array with their CRCs checked, the backup header when the primary is damaged) or MBR (primary
 * entries only). disk_size is the file's size. -ENOMEDIUM (not logged) when there is no table at
 * all; -EBADMSG (logged) for a damaged one. */
int disk_layout_read(int fd, DiskLayout **ret);
