/* GPT and MBR tables, written byte by byte (UEFI 2.10 §5), so that no tool's random GUIDs or
 * defaults end up in the image. */
#include "partition.h"

#include <inttypes.h>
#include <sys/stat.h>

#include "digest.h"
#include "log.h"

#define SECTOR 512
#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_ARRAY_SECTORS (GPT_ENTRIES * GPT_ENTRY_SIZE / SECTOR) /* 32 */
#define GPT_ATTR_LEGACY_BIOS_BOOTABLE (UINT64_C(1) << 2)
/* systemd's "grow-file-system" (Discoverable Partitions Specification): systemd-growfs grows the
 * filesystem to fill the partition at boot. */
#define GPT_ATTR_GROWFS (UINT64_C(1) << 59)
#define GPT_NAME_MAX 36

/* The on-disk type of each partition type (its name is in template/vocabulary.c). */
static const struct {
        const char *gpt_type;
        uint8_t mbr_type; /* 0: not possible on MBR */
} partition_types[_PARTITION_TYPE_MAX] = {
        [PARTITION_ESP] = { "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", 0xef },
        [PARTITION_ROOT] = { "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", 0x83 },
        [PARTITION_LINUX] = { "0fc63daf-8483-4772-8e79-3d69d8477de4", 0x83 },
        [PARTITION_SWAP] = { "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", 0x82 },
        [PARTITION_BIOS_BOOT] = { "21686148-6449-6e6f-744e-656564454649", 0 },
        [PARTITION_XBOOTLDR] = { "bc13c2ff-59e6-4262-a352-b275fd6f7172", 0xea },
};

uint32_t partition_crc32(const void *data, size_t size) {
        static uint32_t table[256];
        static bool initialized;
        if (!initialized) {
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i;
                        for (int k = 0; k < 8; k++)
                                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
                        table[i] = c;
                }
                initialized = true;
        }
        uint32_t crc = 0xffffffffu;
        for (const uint8_t *p = data; size > 0; p++, size--)
                crc = table[(crc ^ *p) & 0xff] ^ (crc >> 8);
        return crc ^ 0xffffffffu;
}

void partition_guid_to_string(const uint8_t g[16], char ret[37]) {
        snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
                 g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

int partition_guid_from_string(const char *s, uint8_t ret[16]) {
        uint8_t g[16];
        size_t n = 0;
        for (size_t i = 0; s[i]; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return -EINVAL;
                        continue;
                }
                int hi = unhexchar(s[i]), lo = s[i + 1] ? unhexchar(s[i + 1]) : -1;
                if (hi < 0 || lo < 0 || n >= 16)
                        return -EINVAL;
                g[n++] = (uint8_t) (hi << 4 | lo);
                i++;
        }
        if (n != 16 || strlen(s) != 36)
                return -EINVAL;
        memcpy(ret, g, 16);
        return 0;
}

/* GPT stores the first three GUID fields little-endian ("mixed endian"). */
static void guid_to_gpt(const uint8_t g[16], uint8_t out[16]) {
        out[0] = g[3], out[1] = g[2], out[2] = g[1], out[3] = g[0];
        out[4] = g[5], out[5] = g[4];
        out[6] = g[7], out[7] = g[6];
        memcpy(out + 8, g + 8, 8);
}

/* SHA-256(seed, purpose, index) cut to a version-4, variant-1 GUID: random-looking, but a pure
 * function of the seed. */
static void derive_guid(const uint8_t seed[PARTITION_SEED_SIZE], const char *purpose, uint64_t index,
                        uint8_t ret[16]) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        uint8_t h[DIGEST_SIZE], le[8];
        digest_update(d, seed, PARTITION_SEED_SIZE);
        digest_update_string(d, purpose);
        for (int i = 0; i < 8; i++)
                le[i] = (uint8_t) (index >> (8 * i));
        digest_update(d, le, sizeof le);
        digest_final(d, h);
        memcpy(ret, h, 16);
        ret[6] = (ret[6] & 0x0f) | 0x40;
        ret[8] = (ret[8] & 0x3f) | 0x80;
}

DiskLayout *disk_layout_free(DiskLayout *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_partitions; i++)
                free(l->partitions[i].label);
        free(l->partitions);
        free(l);
        return NULL;
}

static uint64_t align_up(uint64_t v) {
        return (v + PARTITION_ALIGNMENT - 1) / PARTITION_ALIGNMENT * PARTITION_ALIGNMENT;
}

int disk_layout_new(PartitionTableType table, uint64_t disk_size, const PartitionSpec *specs, size_t n_specs,
                    const uint8_t seed[PARTITION_SEED_SIZE], DiskLayout **ret) {
        if (table < 0 || table >= _PARTITION_TABLE_TYPE_MAX)
                return log_error_errno(-EINVAL, "unknown partition table type");
        if (disk_size % SECTOR != 0 || disk_size < 2 * PARTITION_ALIGNMENT)
                return log_error_errno(-EINVAL, "disk size %" PRIu64 " is not a multiple of 512 of at least 2 MiB",
                                       disk_size);
        if (table == PARTITION_TABLE_MBR && n_specs > 4)
                return log_error_errno(-EINVAL, "an mbr table holds at most 4 partitions, %zu given", n_specs);
        if (table == PARTITION_TABLE_MBR && disk_size > UINT64_C(0xffffffff) * SECTOR)
                return log_error_errno(-EINVAL, "an mbr table addresses at most 2 TiB");

        /* End of the usable area: GPT keeps its backup array and header in the last 33 sectors. */
        uint64_t usable_end = table == PARTITION_TABLE_GPT ? disk_size - (GPT_ARRAY_SECTORS + 1) * SECTOR : disk_size;
        uint64_t available = usable_end / PARTITION_ALIGNMENT * PARTITION_ALIGNMENT - PARTITION_ALIGNMENT;

        uint64_t fixed = 0;
        ssize_t rest = -1;
        for (size_t i = 0; i < n_specs; i++) {
                const PartitionSpec *s = specs + i;
                const char *label = s->label ?: "";
                if (s->type < 0 || s->type >= _PARTITION_TYPE_MAX)
                        return log_error_errno(-EINVAL, "partition %zu: unknown type", i + 1);
                if (table == PARTITION_TABLE_MBR && partition_types[s->type].mbr_type == 0)
                        return log_error_errno(-EINVAL, "partition '%s': type '%s' needs a gpt table", label,
                                               partition_type_to_string(s->type));
                if (strlen(label) > GPT_NAME_MAX)
                        return log_error_errno(-EINVAL, "partition label '%s' is longer than %d characters", label,
                                               GPT_NAME_MAX);
                for (const char *c = label; *c; c++)
                        if ((unsigned char) *c < 0x20 || (unsigned char) *c >= 0x7f)
                                return log_error_errno(-EINVAL, "partition label '%s' is not printable ascii", label);
                if (s->size == PARTITION_SIZE_REST) {
                        if (rest >= 0)
                                return log_error_errno(-EINVAL, "partition '%s': only one partition can take the rest",
                                                       label);
                        rest = (ssize_t) i;
                } else
                        fixed += align_up(s->size);
        }
        if (fixed > available || (rest >= 0 && fixed + PARTITION_ALIGNMENT > available))
                return log_error_errno(-ENOSPC,
                                       "partitions need %" PRIu64 " MiB but the disk has %" PRIu64 " MiB of room",
                                       (fixed + (rest >= 0 ? PARTITION_ALIGNMENT : 0)) >> 20, available >> 20);

        _cleanup_(disk_layout_freep) DiskLayout *l = xcalloc(1, sizeof *l);
        l->table = table;
        l->disk_size = disk_size;
        l->partitions = xcalloc(n_specs ?: 1, sizeof(Partition));
        derive_guid(seed, "disk", 0, l->disk_guid);
        partition_guid_to_string(l->disk_guid, l->disk_guid_string);
        uint8_t sig[16];
        derive_guid(seed, "mbr-signature", 0, sig);
        l->mbr_signature = (uint32_t) sig[0] | (uint32_t) sig[1] << 8 | (uint32_t) sig[2] << 16 |
                           (uint32_t) sig[3] << 24;
        if (l->mbr_signature == 0) /* 0 means "none" to some tools */
                l->mbr_signature = 1;

        uint64_t offset = PARTITION_ALIGNMENT;
        for (size_t i = 0; i < n_specs; i++) {
                const PartitionSpec *s = specs + i;
                Partition *p = l->partitions + l->n_partitions++;
                p->label = xstrdup(s->label ?: "");
                p->type = s->type;
                p->legacy_bios_bootable = s->legacy_bios_bootable;
                p->grow_file_system = s->grow_file_system && table == PARTITION_TABLE_GPT;
                p->offset = offset;
                p->size = (ssize_t) i == rest ? available - fixed : align_up(s->size);
                offset += p->size;
                if (table == PARTITION_TABLE_GPT) {
                        derive_guid(seed, "partition", i, p->uuid);
                        partition_guid_to_string(p->uuid, p->uuid_string);
                } else
                        snprintf(p->uuid_string, sizeof p->uuid_string, "%08x-%02zx", l->mbr_signature, i + 1);
        }
        *ret = TAKE_PTR(l);
        return 0;
}

const Partition *disk_layout_find(const DiskLayout *l, const char *label) {
        for (size_t i = 0; i < l->n_partitions; i++)
                if (streq(l->partitions[i].label, label))
                        return l->partitions + i;
        return NULL;
}

const Partition *disk_layout_find_type(const DiskLayout *l, PartitionType t) {
        for (size_t i = 0; i < l->n_partitions; i++)
                if (l->partitions[i].type == t)
                        return l->partitions + i;
        return NULL;
}

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v, p[1] = (uint8_t) (v >> 8);
}
static void put_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* CHS fields are meaningless on disks this size; 0xfeffff ("beyond 1024 cylinders") is what
 * fdisk writes for anything past the limit, and the LBA fields are what everyone reads. */
static void mbr_entry(uint8_t *e, bool active, uint8_t type, uint64_t lba, uint64_t sectors) {
        e[0] = active ? 0x80 : 0x00;
        e[1] = 0xfe, e[2] = 0xff, e[3] = 0xff;
        e[4] = type;
        e[5] = 0xfe, e[6] = 0xff, e[7] = 0xff;
        put_le32(e + 8, (uint32_t) MIN(lba, UINT64_C(0xffffffff)));
        put_le32(e + 12, (uint32_t) MIN(sectors, UINT64_C(0xffffffff)));
}

static int read_mbr(int fd, uint8_t mbr[SECTOR]) {
        ssize_t n = pread(fd, mbr, SECTOR, 0);
        if (n < 0)
                return -errno;
        if (n < SECTOR)
                memset(mbr + n, 0, SECTOR - (size_t) n);
        return 0;
}

static int write_mbr(const DiskLayout *l, int fd) {
        uint8_t mbr[SECTOR];
        int r = read_mbr(fd, mbr); /* keep boot code in bytes 0-439 */
        if (r < 0)
                return r;
        memset(mbr + 440, 0, SECTOR - 440);
        put_le32(mbr + 440, l->mbr_signature);
        for (size_t i = 0; i < l->n_partitions; i++) {
                const Partition *p = l->partitions + i;
                mbr_entry(mbr + 446 + 16 * i, p->legacy_bios_bootable, partition_types[p->type].mbr_type,
                          p->offset / SECTOR, p->size / SECTOR);
        }
        mbr[510] = 0x55, mbr[511] = 0xaa;
        return pwrite_all(fd, mbr, SECTOR, 0);
}

static void gpt_header(const DiskLayout *l, uint8_t h[SECTOR], uint64_t my_lba, uint64_t alternate_lba,
                       uint64_t entries_lba, uint32_t entries_crc) {
        uint64_t last_lba = l->disk_size / SECTOR - 1;
        memset(h, 0, SECTOR);
        memcpy(h, "EFI PART", 8);
        put_le32(h + 8, 0x00010000);
        put_le32(h + 12, 92);
        put_le64(h + 24, my_lba);
        put_le64(h + 32, alternate_lba);
        put_le64(h + 40, 2 + GPT_ARRAY_SECTORS);                 /* first usable */
        put_le64(h + 48, last_lba - GPT_ARRAY_SECTORS - 1);      /* last usable */
        guid_to_gpt(l->disk_guid, h + 56);
        put_le64(h + 72, entries_lba);
        put_le32(h + 80, GPT_ENTRIES);
        put_le32(h + 84, GPT_ENTRY_SIZE);
        put_le32(h + 88, entries_crc);
        put_le32(h + 16, partition_crc32(h, 92));
}

static int write_gpt(const DiskLayout *l, int fd) {
        uint64_t last_lba = l->disk_size / SECTOR - 1;
        int r;

        /* Protective MBR: one 0xee entry over the whole disk; boot code (gptmbr.bin) is kept. */
        uint8_t mbr[SECTOR];
        r = read_mbr(fd, mbr);
        if (r < 0)
                return r;
        memset(mbr + 440, 0, SECTOR - 440);
        mbr_entry(mbr + 446, false, 0xee, 1, last_lba);
        /* The protective entry's CHS start is 0/0/2 (LBA 1) by the spec. */
        mbr[447] = 0x00, mbr[448] = 0x02, mbr[449] = 0x00;
        mbr[510] = 0x55, mbr[511] = 0xaa;

        _cleanup_free_ uint8_t *entries = xcalloc(GPT_ENTRIES, GPT_ENTRY_SIZE);
        for (size_t i = 0; i < l->n_partitions; i++) {
                const Partition *p = l->partitions + i;
                uint8_t *e = entries + i * GPT_ENTRY_SIZE, type[16];
                if (partition_guid_from_string(partition_types[p->type].gpt_type, type) < 0)
                        return -EINVAL;
                guid_to_gpt(type, e);
                guid_to_gpt(p->uuid, e + 16);
                put_le64(e + 32, p->offset / SECTOR);
                put_le64(e + 40, (p->offset + p->size) / SECTOR - 1);
                put_le64(e + 48, (p->legacy_bios_bootable ? GPT_ATTR_LEGACY_BIOS_BOOTABLE : 0) |
                                         (p->grow_file_system ? GPT_ATTR_GROWFS : 0));
                for (size_t k = 0; p->label[k]; k++) /* ASCII, checked in disk_layout_new() */
                        put_le16(e + 56 + 2 * k, (uint16_t) (unsigned char) p->label[k]);
        }
        uint32_t entries_crc = partition_crc32(entries, GPT_ENTRIES * GPT_ENTRY_SIZE);
        uint64_t backup_entries_lba = last_lba - GPT_ARRAY_SECTORS;

        uint8_t primary[SECTOR], backup[SECTOR];
        gpt_header(l, primary, 1, last_lba, 2, entries_crc);
        gpt_header(l, backup, last_lba, 1, backup_entries_lba, entries_crc);

        r = pwrite_all(fd, mbr, SECTOR, 0);
        if (r >= 0)
                r = pwrite_all(fd, primary, SECTOR, SECTOR);
        if (r >= 0)
                r = pwrite_all(fd, entries, GPT_ENTRIES * GPT_ENTRY_SIZE, 2 * SECTOR);
        if (r >= 0)
                r = pwrite_all(fd, entries, GPT_ENTRIES * GPT_ENTRY_SIZE, backup_entries_lba * SECTOR);
        if (r >= 0)
                r = pwrite_all(fd, backup, SECTOR, last_lba * SECTOR);
        return r;
}

int partition_table_write(const DiskLayout *l, int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "failed to stat disk image: %m");
        if ((uint64_t) st.st_size < l->disk_size && ftruncate(fd, (off_t) l->disk_size) < 0)
                return log_error_errno(-errno, "failed to grow disk image to %" PRIu64 " bytes: %m", l->disk_size);
        int r = l->table == PARTITION_TABLE_GPT ? write_gpt(l, fd) : write_mbr(l, fd);
        if (r < 0)
                return log_error_errno(r, "failed to write %s partition table: %m",
                                       partition_table_type_to_string(l->table));
        return 0;
}

/* Reading tables back (inspect, verify's diff). */

static uint16_t get_le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}
static uint32_t get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}
static uint64_t get_le64(const uint8_t *p) {
        return (uint64_t) get_le32(p) | (uint64_t) get_le32(p + 4) << 32;
}

static PartitionType partition_type_from_gpt(const char *guid) {
        for (int i = 0; i < _PARTITION_TYPE_MAX; i++)
                if (streq(guid, partition_types[i].gpt_type))
                        return i;
        return _PARTITION_TYPE_INVALID;
}

/* A GPT header at lba, checked; its entry array is read and checked too. */
static int read_gpt_at(int fd, uint64_t lba, uint64_t disk_size, uint8_t header[SECTOR], uint8_t **ret_entries) {
        int r = pread_exact(fd, header, SECTOR, lba * SECTOR);
        if (r < 0)
                return r;
        if (memcmp(header, "EFI PART", 8) != 0)
                return -ENOMEDIUM;
        uint32_t hsize = get_le32(header + 12);
        if (hsize < 92 || hsize > SECTOR)
                return -EBADMSG;
        uint8_t h[SECTOR];
        memcpy(h, header, SECTOR);
        put_le32(h + 16, 0);
        if (partition_crc32(h, hsize) != get_le32(header + 16))
                return -EBADMSG;
        uint64_t entries_lba = get_le64(header + 72);
        uint32_t n = get_le32(header + 80), esize = get_le32(header + 84);
        if (esize < 128 || esize % 8 != 0 || n == 0 || n > 4096 || (entries_lba + (uint64_t) n * esize / SECTOR) * SECTOR > disk_size)
                return -EBADMSG;
        _cleanup_free_ uint8_t *entries = xmalloc((size_t) n * esize);
        r = pread_exact(fd, entries, (size_t) n * esize, entries_lba * SECTOR);
        if (r < 0)
                return r;
        if (partition_crc32(entries, (size_t) n * esize) != get_le32(header + 88))
                return -EBADMSG;
        *ret_entries = TAKE_PTR(entries);
        return 0;
}

static void guid_from_gpt(const uint8_t *in, uint8_t g[16]) {
        guid_to_gpt(in, g); /* the swap is its own inverse */
}

static int read_gpt(int fd, uint64_t disk_size, DiskLayout *l) {
        uint8_t header[SECTOR];
        _cleanup_free_ uint8_t *entries = NULL;
        uint64_t last_lba = disk_size / SECTOR - 1;
        int r = read_gpt_at(fd, 1, disk_size, header, &entries);
        if (r < 0) {
                int rb = read_gpt_at(fd, last_lba, disk_size, header, &entries);
                if (rb < 0)
                        return r == -ENOMEDIUM || r == -ENODATA ? -EBADMSG : r;
                log_warning("primary gpt header is damaged, using the backup");
        }
        l->table = PARTITION_TABLE_GPT;
        l->backup_end = (MAX(get_le64(header + 24), get_le64(header + 32)) + 1) * SECTOR;
        guid_from_gpt(header + 56, l->disk_guid);
        partition_guid_to_string(l->disk_guid, l->disk_guid_string);
        uint32_t n = get_le32(header + 80), esize = get_le32(header + 84);
        l->partitions = xcalloc(n, sizeof(Partition));
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = entries + (size_t) i * esize;
                static const uint8_t zero[16];
                if (memcmp(e, zero, 16) == 0)
                        continue; /* unused entry */
                Partition *p = l->partitions + l->n_partitions++;
                uint8_t type[16];
                guid_from_gpt(e, type);
                partition_guid_to_string(type, p->type_string);
                p->type = partition_type_from_gpt(p->type_string);
                guid_from_gpt(e + 16, p->uuid);
                partition_guid_to_string(p->uuid, p->uuid_string);
                uint64_t first = get_le64(e + 32), last = get_le64(e + 40);
                p->offset = first * SECTOR;
                p->size = last >= first ? (last - first + 1) * SECTOR : 0;
                p->attributes = get_le64(e + 48);
                p->legacy_bios_bootable = p->attributes & GPT_ATTR_LEGACY_BIOS_BOOTABLE;
                p->grow_file_system = p->attributes & GPT_ATTR_GROWFS;
                char name[GPT_NAME_MAX * 3 + 1], *c = name;
                for (size_t k = 0; k < GPT_NAME_MAX; k++) {
                        uint16_t u = get_le16(e + 56 + 2 * k);
                        if (u == 0)
                                break;
                        *c++ = u < 0x80 ? (char) u : '?'; /* baker's own labels are ASCII */
                }
                *c = 0;
                p->label = xstrdup(name);
        }
        return 0;
}

int disk_layout_read(int fd, DiskLayout **ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        uint64_t disk_size = (uint64_t) st.st_size / SECTOR * SECTOR;
        uint8_t mbr[SECTOR];
        if (disk_size < SECTOR)
                return -ENOMEDIUM;
        int r = pread_exact(fd, mbr, SECTOR, 0);
        if (r < 0)
                return r;
        if (mbr[510] != 0x55 || mbr[511] != 0xaa)
                return -ENOMEDIUM;
        bool protective = false, any = false;
        for (int i = 0; i < 4; i++) {
                const uint8_t *e = mbr + 446 + 16 * i;
                if (e[4] == 0xee)
                        protective = true;
                if (e[4] != 0)
                        any = true;
                if (e[0] != 0 && e[0] != 0x80)
                        return -ENOMEDIUM; /* a FAT/NTFS boot sector also ends in 55 aa */
        }
        if (!any)
                return -ENOMEDIUM;

        _cleanup_(disk_layout_freep) DiskLayout *l = xcalloc(1, sizeof *l);
        l->disk_size = disk_size;
        if (protective) {
                r = read_gpt(fd, disk_size, l);
                if (r < 0)
                        return log_error_errno(r == -ENOMEDIUM ? -EBADMSG : r,
                                               "protective mbr found but no valid gpt header");
        } else {
                l->table = PARTITION_TABLE_MBR;
                l->mbr_signature = get_le32(mbr + 440);
                l->partitions = xcalloc(4, sizeof(Partition));
                for (int i = 0; i < 4; i++) {
                        const uint8_t *e = mbr + 446 + 16 * i;
                        if (e[4] == 0)
                                continue;
                        Partition *p = l->partitions + l->n_partitions++;
                        p->label = xstrdup("");
                        snprintf(p->type_string, sizeof p->type_string, "0x%02x", e[4]);
                        p->type = _PARTITION_TYPE_INVALID;
                        for (int k = 0; k < _PARTITION_TYPE_MAX; k++)
                                if (partition_types[k].mbr_type == e[4]) {
                                        p->type = k; /* 0x83: root and linux share it; the first wins */
                                        break;
                                }
                        p->attributes = e[0];
                        p->legacy_bios_bootable = e[0] == 0x80;
                        p->offset = (uint64_t) get_le32(e + 8) * SECTOR;
                        p->size = (uint64_t) get_le32(e + 12) * SECTOR;
                        snprintf(p->uuid_string, sizeof p->uuid_string, "%08x-%02x", l->mbr_signature, i + 1);
                }
        }
        /* A partition (or the backup gpt) past the end of the file: a truncated copy. */
        uint64_t needed = 0;
        for (size_t i = 0; i < l->n_partitions; i++)
                needed = MAX(needed, l->partitions[i].offset + l->partitions[i].size);
        if (l->table == PARTITION_TABLE_GPT)
                needed = MAX(needed, l->backup_end);
        if (needed > disk_size)
                return log_error_errno(-EBADMSG, "image is truncated: %" PRIu64 " bytes, its partition table needs %" PRIu64,
                                       disk_size, needed);
        *ret = TAKE_PTR(l);
        return 0;
}
