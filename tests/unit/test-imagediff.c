/* image_diff: two disks built offline (GPT, FAT ESP, ext4 root) that differ in one controlled way
 * each; the diff must name exactly that difference, and nothing for identical builds. */
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>

#include "digest.h"
#include "ext4.h"
#include "imagediff.h"
#include "log.h"
#include "partition.h"
#include "tree.h"
#include "util.h"
#include "vfat.h"
#include "test-lib.h"

typedef struct Variant {
        const char *motd;
        uint32_t passwd_mode;
        bool extra_file;
        uint8_t fs_seed;
        int64_t epoch;
        uint64_t root_mib;
        const char *disk_seed;
        const char *esp_file;
} Variant;

static const Variant base = {
        .motd = "hello 1\n", .passwd_mode = 0644, .fs_seed = 1, .epoch = 1700000000, .root_mib = 40,
        .disk_seed = "disk", .esp_file = "loader 1\n",
};

static char *build(const char *name, const Variant *v) {
        char *image = test_path(name);
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_dir(t, "/", 0755, 0, 0, v->epoch) >= 0);
        assert_se(tree_add_file(t, "/etc/motd", v->motd, strlen(v->motd), 0644, 0, 0, v->epoch) >= 0);
        assert_se(tree_add_file(t, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 26, v->passwd_mode, 0, 0, v->epoch) >= 0);
        assert_se(tree_add_symlink(t, "/etc/os-release", "../usr/lib/os-release", 0, 0, v->epoch) >= 0);
        assert_se(tree_add_file(t, "/usr/lib/os-release", "ID=test\n", 8, 0644, 0, 0, v->epoch) >= 0);
        for (int i = 0; i < 60; i++) {
                char path[64], data[64];
                snprintf(path, sizeof path, "/usr/share/doc/f%02d", i);
                snprintf(data, sizeof data, "file %d\n", i);
                assert_se(tree_add_file(t, path, data, strlen(data), 0644, 0, 0, v->epoch) >= 0);
        }
        if (v->extra_file)
                assert_se(tree_add_file(t, "/etc/extra", "x\n", 2, 0644, 0, 0, v->epoch) >= 0);

        uint8_t seed[32];
        digest_buffer(v->disk_seed, strlen(v->disk_seed), seed);
        PartitionSpec specs[] = {
                { .label = "esp", .type = PARTITION_ESP, .size = 8 << 20, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_ROOT, .size = v->root_mib << 20 },
        };
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 64 << 20, specs, 2, seed, &l) >= 0);
        (void) unlink(image);
        _cleanup_close_ int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_se(fd >= 0);
        assert_se(partition_table_write(l, fd) >= 0);

        VfatOptions vo = { .label = "ESP", .volume_id = 0x12345678, .epoch = (uint64_t) v->epoch };
        VfatEntry ve[] = { { .path = "/EFI/BOOT/BOOTX64.EFI", .data = v->esp_file, .size = strlen(v->esp_file) } };
        assert_se(vfat_write(image, l->partitions[0].offset, l->partitions[0].size, &vo, ve, 1) >= 0);

        Ext4Params p = { .label = "root", .epoch = v->epoch, .size_bytes = l->partitions[1].size, .journal = true };
        for (int i = 0; i < 16; i++)
                p.uuid[i] = (uint8_t) (v->fs_seed * 16 + i), p.hash_seed[i] = (uint8_t) (v->fs_seed * 7 + i);
        assert_se(ext4_write(t, "", NULL, image, l->partitions[1].offset, &p) >= 0);
        return image;
}

static ImageDiff *diff(const char *a, const char *b) {
        ImageDiff *d = NULL;
        assert_se(image_diff(a, b, &d) >= 0);
        image_diff_print(d, stderr);
        return d;
}

static size_t count(const ImageDiff *d, ImageDiffKind kind) {
        size_t n = 0;
        for (size_t i = 0; i < d->n_entries; i++)
                n += d->entries[i].kind == kind;
        return n;
}

int main(int argc, char **argv) {
        if (!test_have("mkfs.vfat mcopy"))
                test_skip("mkfs.vfat or mcopy missing");
        log_set_max_level(LOG_LEVEL_WARNING);
        if (argc == 3) { /* timing mode: diff two given images */
                double t0 = test_now();
                ImageDiff *d = diff(argv[1], argv[2]);
                fprintf(stderr, "diff took %.3f s\n", test_now() - t0);
                image_diff_free(d);
                return 0;
        }
        _cleanup_free_ char *ref = build("ref.img", &base), *same = build("same.img", &base);

        fprintf(stderr, "--- identical\n");
        ImageDiff *d = diff(ref, same);
        assert_se(d->identical && d->n_entries == 0 && d->paths_omitted == 0);
        json_t *j = image_diff_to_json(d);
        assert_se(json_is_true(json_object_get(j, "identical")) && json_array_size(json_object_get(j, "differences")) == 0);
        json_decref(j);
        image_diff_free(d);

        fprintf(stderr, "--- one file's content\n");
        Variant v = base;
        v.motd = "hello 2\n";
        _cleanup_free_ char *content = build("content.img", &v);
        d = diff(ref, content);
        assert_se(!d->identical && d->n_entries == 1);
        const ImageDiffEntry *e = image_diff_find(d, IMAGE_DIFF_FILE, "/etc/motd", "content");
        assert_se(e && e->partition == 2 && streq(e->where, "partition 2 (root)"));
        assert_se(startswith(e->a, "sha256:") && startswith(e->b, "sha256:") && !streq(e->a, e->b));
        j = image_diff_to_json(d);
        json_t *j0 = json_array_get(json_object_get(j, "differences"), 0);
        assert_se(streq(json_string_value(json_object_get(j0, "kind")), "file"));
        assert_se(streq(json_string_value(json_object_get(j0, "path")), "/etc/motd"));
        assert_se(streq(json_string_value(json_object_get(j0, "field")), "content"));
        json_decref(j);
        image_diff_free(d);

        fprintf(stderr, "--- one file's mode\n");
        v = base;
        v.passwd_mode = 0600;
        _cleanup_free_ char *mode = build("mode.img", &v);
        d = diff(ref, mode);
        assert_se(d->n_entries == 1);
        e = image_diff_find(d, IMAGE_DIFF_FILE, "/etc/passwd", "mode");
        assert_se(e && streq(e->a, "0644") && streq(e->b, "0600"));
        image_diff_free(d);

        fprintf(stderr, "--- an extra file\n");
        v = base;
        v.extra_file = true;
        _cleanup_free_ char *extra = build("extra.img", &v);
        d = diff(ref, extra);
        assert_se(image_diff_find(d, IMAGE_DIFF_ONLY_B, "/etc/extra", NULL));
        assert_se(count(d, IMAGE_DIFF_ONLY_B) == 1 && count(d, IMAGE_DIFF_ONLY_A) == 0 && count(d, IMAGE_DIFF_TABLE) == 0);
        assert_se(image_diff_find(d, IMAGE_DIFF_SUPERBLOCK, NULL, "s_free_inodes_count"));
        for (size_t i = 0; i < d->n_entries; i++) /* the directory holding it may change too, nothing else */
                assert_se(d->entries[i].kind != IMAGE_DIFF_FILE || streq(d->entries[i].path, "/etc"));
        image_diff_free(d);
        d = diff(extra, ref); /* and the other way round */
        assert_se(image_diff_find(d, IMAGE_DIFF_ONLY_A, "/etc/extra", NULL) && count(d, IMAGE_DIFF_ONLY_B) == 0);
        image_diff_free(d);

        fprintf(stderr, "--- a different filesystem uuid and hash seed\n");
        v = base;
        v.fs_seed = 2;
        _cleanup_free_ char *uuid = build("uuid.img", &v);
        d = diff(ref, uuid);
        assert_se(image_diff_find(d, IMAGE_DIFF_SUPERBLOCK, NULL, "s_uuid"));
        assert_se(image_diff_find(d, IMAGE_DIFF_SUPERBLOCK, NULL, "s_hash_seed"));
        assert_se(count(d, IMAGE_DIFF_FILE) == 0 && count(d, IMAGE_DIFF_ONLY_A) + count(d, IMAGE_DIFF_ONLY_B) == 0);
        assert_se(count(d, IMAGE_DIFF_TABLE) == 0);
        for (size_t i = 0; i < d->n_entries; i++)
                assert_se(d->entries[i].partition == 2);
        image_diff_free(d);

        fprintf(stderr, "--- a different epoch\n");
        v = base;
        v.epoch = 1700000100;
        _cleanup_free_ char *epoch = build("epoch.img", &v);
        d = diff(ref, epoch);
        e = image_diff_find(d, IMAGE_DIFF_SUPERBLOCK, NULL, "s_mkfs_time");
        assert_se(e && streq(e->a, "1700000000") && streq(e->b, "1700000100") && e->partition == 2);
        assert_se(image_diff_find(d, IMAGE_DIFF_FILE, "/etc/motd", "ctime"));
        assert_se(image_diff_find(d, IMAGE_DIFF_FILE, "/EFI/BOOT/BOOTX64.EFI", "mtime")); /* the ESP's too */
        /* 60+ paths differ: 50 listed, the rest counted */
        assert_se(d->n_paths == IMAGE_DIFF_MAX_PATHS && d->paths_omitted > 0);
        j = image_diff_to_json(d);
        assert_se(json_integer_value(json_object_get(j, "paths_omitted")) == (json_int_t) d->paths_omitted);
        json_decref(j);
        image_diff_free(d);

        fprintf(stderr, "--- a different partition size\n");
        v = base;
        v.root_mib = 41;
        _cleanup_free_ char *size = build("size.img", &v);
        d = diff(ref, size);
        e = image_diff_find(d, IMAGE_DIFF_TABLE, NULL, "size");
        assert_se(e && e->partition == 2 && streq(e->a, "41943040") && streq(e->b, "42991616"));
        assert_se(image_diff_find(d, IMAGE_DIFF_SUPERBLOCK, NULL, "s_blocks_count"));
        assert_se(count(d, IMAGE_DIFF_FILE) == 0 && count(d, IMAGE_DIFF_BYTES) == 0);
        assert_se(!image_diff_find(d, IMAGE_DIFF_TABLE, NULL, "disk_guid"));
        image_diff_free(d);

        fprintf(stderr, "--- a different disk seed\n");
        v = base;
        v.disk_seed = "other";
        _cleanup_free_ char *guid = build("guid.img", &v);
        d = diff(ref, guid);
        assert_se(image_diff_find(d, IMAGE_DIFF_TABLE, NULL, "disk_guid"));
        e = image_diff_find(d, IMAGE_DIFF_TABLE, NULL, "partuuid");
        assert_se(e && e->partition == 1);
        assert_se(count(d, IMAGE_DIFF_TABLE) == 3 && d->n_entries == 3); /* disk guid, two partuuids */
        image_diff_free(d);

        fprintf(stderr, "--- a file on the esp\n");
        v = base;
        v.esp_file = "loader 2\n";
        _cleanup_free_ char *esp = build("esp.img", &v);
        d = diff(ref, esp);
        e = image_diff_find(d, IMAGE_DIFF_FILE, "/EFI/BOOT/BOOTX64.EFI", "content");
        assert_se(e && e->partition == 1 && d->n_entries == 1);
        image_diff_free(d);

        fprintf(stderr, "--- stray bytes: boot code, free space of the root filesystem\n");
        _cleanup_free_ char *stray = test_path("stray.img");
        test_sh("cp --sparse=always %s %s", ref, stray);
        int fd = open(stray, O_RDWR | O_CLOEXEC);
        assert_se(fd >= 0);
        assert_se(pwrite(fd, "X", 1, 17) == 1);
        uint64_t free_space = (8 + 1 + 40) * (UINT64_C(1) << 20) - 4096 * 3; /* near the end of the root */
        assert_se(pwrite(fd, "YY", 2, (off_t) free_space + 100) == 2);
        close(fd);
        d = diff(ref, stray);
        e = image_diff_find(d, IMAGE_DIFF_BYTES, NULL, "boot code");
        assert_se(e && e->offset == 17 && e->partition == 0);
        e = image_diff_find(d, IMAGE_DIFF_BYTES, NULL, "ext4");
        assert_se(e && e->partition == 2 && e->offset == free_space + 100);
        assert_se(d->n_entries == 2);
        image_diff_free(d);

        fprintf(stderr, "--- errors\n");
        _cleanup_free_ char *missing = test_path("missing.img");
        d = NULL;
        assert_se(image_diff(ref, missing, &d) == -ENOENT && !d);

        return 0;
}
