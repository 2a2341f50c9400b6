/* GPT and MBR tables: layout arithmetic, CRCs, the backup header, GUIDs stable across runs and
 * versions (golden values), and an independent reader (sfdisk --json, sgdisk -v) agreeing. */
#include <fcntl.h>
#include <jansson.h>
#include <strings.h>

#include "digest.h"
#include "partition.h"
#include "process.h"
#include "test-lib.h"

#define MIB (UINT64_C(1) << 20)

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}
static uint64_t le64(const uint8_t *p) {
        return (uint64_t) le32(p) | (uint64_t) le32(p + 4) << 32;
}

static char *temp_image(void) {
        char *path = test_path("disk-XXXXXX");
        int fd = mkstemp(path);
        assert_se(fd >= 0);
        close(fd);
        return path;
}

static void check_gpt_header(const uint8_t *disk, uint64_t lba, uint64_t other, uint64_t entries_lba) {
        uint8_t h[92];
        memcpy(h, disk + lba * 512, 92);
        assert_se(memcmp(h, "EFI PART", 8) == 0);
        uint32_t crc = le32(h + 16);
        memset(h + 16, 0, 4);
        assert_se(partition_crc32(h, 92) == crc);
        assert_se(le64(h + 24) == lba);
        assert_se(le64(h + 32) == other);
        assert_se(le64(h + 72) == entries_lba);
        assert_se(partition_crc32(disk + entries_lba * 512, 128 * 128) == le32(h + 88));
}

static json_t *run_sfdisk(const char *path) {
        char *argv[] = { (char *) "sfdisk", (char *) "--json", (char *) path, NULL };
        _cleanup_free_ char *out = NULL;
        int r = process_run(argv, NULL, &out);
        if (r == -ENOENT)
                return NULL;
        assert_se(r == 0);
        json_error_t err;
        json_t *j = json_loads(out, 0, &err);
        assert_se(j);
        return j;
}

int main(void) {
        /* CRC-32 check value. */
        assert_se(partition_crc32("123456789", 9) == 0xcbf43926u);

        uint8_t g[16];
        char s[37];
        assert_se(partition_guid_from_string("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", g) == 0);
        partition_guid_to_string(g, s);
        assert_se(streq(s, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"));
        assert_se(partition_guid_from_string("c12a7328f81f-11d2-ba4b-00a0c93ec93b", g) == -EINVAL);
        assert_se(partition_guid_from_string("c12a7328-f81f-11d2-ba4b-00a0c93ec93", g) == -EINVAL);
        assert_se(partition_type_from_string("root") == PARTITION_ROOT);
        assert_se(partition_type_from_string("nope") == _PARTITION_TYPE_INVALID);

        uint8_t seed[32];
        digest_buffer("baker-test", 10, seed);
        PartitionSpec specs[] = {
                { .label = "esp", .type = PARTITION_ESP, .size = 64 * MIB, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_ROOT, .size = PARTITION_SIZE_REST, .grow_file_system = true },
                { .label = "swap", .type = PARTITION_SWAP, .size = 16 * MIB - 1000 }, /* rounds up */
        };
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 256 * MIB, specs, 3, seed, &l) == 0);
        assert_se(l->partitions[0].offset == MIB && l->partitions[0].size == 64 * MIB);
        assert_se(l->partitions[1].offset == 65 * MIB);
        assert_se(l->partitions[2].size == 16 * MIB);
        /* rest = everything up to the last whole MiB before the backup GPT */
        assert_se(l->partitions[2].offset + l->partitions[2].size == 255 * MIB);
        /* Golden: these must never change for a given seed, or every image's identity changes. */
        assert_se(streq(l->disk_guid_string, "760f2d14-1592-4f5a-bb87-7b4282dbe946"));
        assert_se(streq(l->partitions[1].uuid_string, "aca68f4a-1d8e-46af-a62f-6d95bdf060cc"));
        assert_se(l->partitions[0].uuid_string[14] == '4'); /* version 4 */
        assert_se(strchr("89ab", l->partitions[0].uuid_string[19]));
        assert_se(disk_layout_find(l, "swap") == l->partitions + 2);
        assert_se(disk_layout_find_type(l, PARTITION_ROOT) == l->partitions + 1);

        /* Another seed, other GUIDs; the same seed, the same. */
        _cleanup_(disk_layout_freep) DiskLayout *again = NULL, *other = NULL;
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 256 * MIB, specs, 3, seed, &again) == 0);
        assert_se(memcmp(again->partitions[2].uuid, l->partitions[2].uuid, 16) == 0);
        uint8_t seed2[32];
        digest_buffer("other", 5, seed2);
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 256 * MIB, specs, 3, seed2, &other) == 0);
        assert_se(memcmp(other->disk_guid, l->disk_guid, 16) != 0);

        /* Bad layouts. */
        DiskLayout *bad = NULL;
        PartitionSpec big[] = { { .label = "a", .type = PARTITION_LINUX, .size = 300 * MIB } };
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 256 * MIB, big, 1, seed, &bad) == -ENOSPC);
        PartitionSpec two_rest[] = { { .label = "a", .type = PARTITION_LINUX }, { .label = "b", .type = PARTITION_LINUX } };
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 256 * MIB, two_rest, 2, seed, &bad) == -EINVAL);
        PartitionSpec bios[] = { { .label = "b", .type = PARTITION_BIOS_BOOT, .size = MIB } };
        assert_se(disk_layout_new(PARTITION_TABLE_MBR, 256 * MIB, bios, 1, seed, &bad) == -EINVAL);
        PartitionSpec five[5] = {};
        for (int i = 0; i < 5; i++)
                five[i] = (PartitionSpec) { .label = "x", .type = PARTITION_LINUX, .size = MIB };
        assert_se(disk_layout_new(PARTITION_TABLE_MBR, 256 * MIB, five, 5, seed, &bad) == -EINVAL);
        PartitionSpec longname[] = { { .label = "0123456789012345678901234567890123456789", .type = PARTITION_LINUX } };
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 256 * MIB, longname, 1, seed, &bad) == -EINVAL);
        assert_se(!bad);

        /* GPT bytes. */
        _cleanup_unlink_ char *path = temp_image();
        int fd = open(path, O_RDWR);
        assert_se(fd >= 0);
        assert_se(pwrite(fd, "BOOTCODE", 8, 0) == 8); /* boot code survives */
        assert_se(partition_table_write(l, fd) == 0);
        close(fd);
        _cleanup_free_ char *disk = NULL;
        size_t size;
        assert_se(read_full_file(path, &disk, &size) == 0);
        assert_se(size == 256 * MIB);
        const uint8_t *d = (const uint8_t *) disk;
        uint64_t last = 256 * MIB / 512 - 1;
        assert_se(memcmp(d, "BOOTCODE", 8) == 0);
        assert_se(d[446 + 4] == 0xee && d[510] == 0x55 && d[511] == 0xaa);
        check_gpt_header(d, 1, last, 2);
        check_gpt_header(d, last, 1, last - 32);
        assert_se(memcmp(d + 2 * 512, d + (last - 32) * 512, 128 * 128) == 0);
        /* Entry 0: legacy BIOS bootable, name "esp" in UTF-16LE. */
        const uint8_t *e = d + 2 * 512;
        assert_se(le64(e + 48) == 4);
        assert_se(e[56] == 'e' && e[57] == 0 && e[58] == 's' && e[60] == 'p' && e[62] == 0);
        assert_se(le64(e + 32) == 2048 && le64(e + 40) == 2048 + 64 * 2048 - 1);
        /* Entry 1: systemd's grow-file-system, bit 59, and nothing else. */
        assert_se(le64(e + 128 + 48) == UINT64_C(1) << 59);
        assert_se(le64(e + 256 + 48) == 0);
        {
                _cleanup_(disk_layout_freep) DiskLayout *back = NULL;
                int rfd = open(path, O_RDONLY | O_CLOEXEC);
                assert_se(rfd >= 0 && disk_layout_read(rfd, &back) == 0);
                close(rfd);
                assert_se(back->partitions[1].grow_file_system && !back->partitions[0].grow_file_system);
                assert_se(back->partitions[0].legacy_bios_bootable && !back->partitions[1].legacy_bios_bootable);
        }

        /* An independent reader agrees. */
        json_t *j = run_sfdisk(path);
        if (j) {
                json_t *t = json_object_get(j, "partitiontable");
                assert_se(streq(json_string_value(json_object_get(t, "label")), "gpt"));
                assert_se(strcasecmp(json_string_value(json_object_get(t, "id")), l->disk_guid_string) == 0);
                json_t *parts = json_object_get(t, "partitions");
                assert_se(json_array_size(parts) == 3);
                for (size_t i = 0; i < 3; i++) {
                        json_t *p = json_array_get(parts, i);
                        assert_se((uint64_t) json_integer_value(json_object_get(p, "start")) * 512 == l->partitions[i].offset);
                        assert_se((uint64_t) json_integer_value(json_object_get(p, "size")) * 512 == l->partitions[i].size);
                        assert_se(strcasecmp(json_string_value(json_object_get(p, "uuid")), l->partitions[i].uuid_string) == 0);
                        assert_se(streq(json_string_value(json_object_get(p, "name")), l->partitions[i].label));
                }
                assert_se(strcasecmp(json_string_value(json_object_get(json_array_get(parts, 1), "type")),
                                  "4f68bce3-e8cd-4db1-96e7-fbcaf984b709") == 0);
                assert_se(streq(json_string_value(json_object_get(json_array_get(parts, 0), "attrs")), "LegacyBIOSBootable"));
                assert_se(streq(json_string_value(json_object_get(json_array_get(parts, 1), "attrs")), "GUID:59"));
                json_decref(j);
        }
        {
                char *argv[] = { (char *) "sgdisk", (char *) "-v", path, NULL };
                _cleanup_free_ char *out = NULL;
                int r = process_run(argv, NULL, &out);
                if (r != -ENOENT) {
                        assert_se(r == 0);
                        assert_se(strstr(out, "No problems found"));
                }
                char *info[] = { (char *) "sgdisk", (char *) "-i", (char *) "2", path, NULL };
                _cleanup_free_ char *iout = NULL;
                if (process_run(info, NULL, &iout) == 0)
                        assert_se(strstr(iout, "Attribute flags: 0800000000000000"));
        }

        /* MBR. */
        _cleanup_(disk_layout_freep) DiskLayout *m = NULL;
        PartitionSpec mspecs[] = {
                { .label = "boot", .type = PARTITION_ESP, .size = 32 * MIB, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_LINUX, .size = PARTITION_SIZE_REST },
        };
        assert_se(disk_layout_new(PARTITION_TABLE_MBR, 128 * MIB, mspecs, 2, seed, &m) == 0);
        assert_se(m->partitions[1].offset + m->partitions[1].size == 128 * MIB); /* no backup table on mbr */
        _cleanup_unlink_ char *mpath = temp_image();
        fd = open(mpath, O_RDWR);
        assert_se(partition_table_write(m, fd) == 0);
        close(fd);
        j = run_sfdisk(mpath);
        if (j) {
                json_t *t = json_object_get(j, "partitiontable");
                assert_se(streq(json_string_value(json_object_get(t, "label")), "dos"));
                char id[16];
                snprintf(id, sizeof id, "0x%08x", m->mbr_signature);
                assert_se(streq(json_string_value(json_object_get(t, "id")), id));
                json_t *p0 = json_array_get(json_object_get(t, "partitions"), 0);
                assert_se(json_is_true(json_object_get(p0, "bootable")));
                assert_se(streq(json_string_value(json_object_get(p0, "type")), "ef"));
                json_decref(j);
        }
        char want[16];
        snprintf(want, sizeof want, "%08x-02", m->mbr_signature);
        assert_se(streq(m->partitions[1].uuid_string, want));
        printf("ok\n");
        return 0;
}
