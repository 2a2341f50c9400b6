/* Output formats: raw copy keeps bytes (and holes), qcow2 is clean for `qemu-img check` and equal
 * in content, zstd round-trips, outputs are deterministic, and a failed set leaves nothing behind.
 * The cloud formats: qemu-img reads the VHD and VMDK back to the raw image (the VHD padded with
 * zeros to a MiB), GNU tar lists and extracts the GCE archive (disk.raw, 1 GiB, sparse, owned by
 * root at the epoch) back to the raw image, and each is the same bytes when written again. */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <zstd.h>

#include "image-format.h"
#include "image.h"
#include "vhd.h"
#include "process.h"
#include "test-lib.h"

#define MIB (1u << 20)

/* The first raw_size bytes of path have digest want, and the rest (to its end) are zeros. */
static void check_back_to_raw(const char *path, uint64_t raw_size, const uint8_t want[DIGEST_SIZE]) {
        test_sh("test -z \"$(tail -c +%" PRIu64 " %s | tr -d '\\000' | head -c 1)\"", raw_size + 1, path);
        test_sh("truncate -s %" PRIu64 " %s", raw_size, path);
        uint8_t d[DIGEST_SIZE];
        assert_se(digest_file(path, d, NULL) == 0);
        assert_se(memcmp(d, want, DIGEST_SIZE) == 0);
}

/* qemu-img prints the random CID with %x: a short one is rewritten with 8 digits, the rest of the
 * descriptor moving up, the area's zeros absorbing it. */
static void check_vmdk_cid(const char *dir) {
        _cleanup_free_ char *path = path_join(dir, "cid.vmdk");
        uint8_t file[512 * 4] = {};
        memcpy(file, "KDMV", 4);
        file[28] = 1; /* descriptor at sector 1 */
        file[36] = 2; /* 2 sectors long */
        const char *desc = "# Disk DescriptorFile\nversion=1\nCID=1a2b\nparentCID=ffffffff\ncreateType=\"x\"\n";
        memcpy(file + 512, desc, strlen(desc));
        memset(file + 3 * 512, 0x77, 512); /* what follows the descriptor stays */
        assert_se(write_file_atomic(path, file, sizeof file, 0644) == 0);
        assert_se(image_vmdk_set_cid(path, 0x1234) == 0);
        size_t size;
        _cleanup_free_ char *got = test_read_file(path, &size);
        assert_se(size == sizeof file && memcmp(got, file, 512) == 0);
        const char *want = "# Disk DescriptorFile\nversion=1\nCID=00001234\nparentCID=ffffffff\ncreateType=\"x\"\n";
        assert_se(memcmp(got + 512, want, strlen(want)) == 0 && got[512 + strlen(want)] == 0);
        assert_se(memcmp(got + 3 * 512, file + 3 * 512, 512) == 0);
        memcpy(file + 512 + strlen("# Disk DescriptorFile\nversion=1\n"), "CJD", 3);
        assert_se(write_file_atomic(path, file, sizeof file, 0644) == 0);
        assert_se(image_vmdk_set_cid(path, 0x1234) == -EBADMSG);
}

static void check_cloud_formats(const char *dir, const char *raw, uint64_t raw_size, const uint8_t want[DIGEST_SIZE]) {
        ImageOutputSpec specs[] = {
                { .format = IMAGE_FORMAT_VHD, .compression = IMAGE_COMPRESSION_NONE },
                { .format = IMAGE_FORMAT_VMDK, .compression = IMAGE_COMPRESSION_NONE },
                { .format = IMAGE_FORMAT_GCE, .compression = IMAGE_COMPRESSION_NONE },
                { .format = IMAGE_FORMAT_VHD, .compression = IMAGE_COMPRESSION_ZSTD },
        };
        _cleanup_free_ char *out = path_join(dir, "cloud"), *out2 = path_join(dir, "cloud2");
        ImageOutput *o = NULL, *o2 = NULL;
        size_t n = 0, n2 = 0;
        assert_se(image_write_outputs(raw, want, 1700000000, out, "web", specs, 4, &o, &n) == 0);
        assert_se(n == 4 && test_count_entries(out, false) == 4);
        assert_se(endswith(o[0].path, "/web.vhd") && endswith(o[1].path, "/web.vmdk"));
        assert_se(endswith(o[2].path, "/web.gce.tar.gz") && endswith(o[3].path, "/web.vhd.zst"));

        /* vhd: the disk padded to a MiB, the footer last, what qemu-img reads. */
        assert_se(o[0].size == vhd_disk_size(raw_size) + VHD_FOOTER_SIZE);
        test_sh("qemu-img info -f vpc --output=json %s | grep -q '\"virtual-size\": %" PRIu64 "'", o[0].path,
                vhd_disk_size(raw_size));
        test_sh("qemu-img convert -f vpc -O raw %s %s/vhd.raw", o[0].path, dir);
        _cleanup_free_ char *vhd_raw = path_join(dir, "vhd.raw");
        check_back_to_raw(vhd_raw, raw_size, want);

        /* vmdk: streamOptimized, clean, the same content. */
        test_sh("qemu-img info %s | grep -q 'create type: streamOptimized'", o[1].path);
        test_sh("qemu-img check -f vmdk %s", o[1].path);
        test_sh("qemu-img compare -f raw -F vmdk %s %s", raw, o[1].path);

        /* gce: one member, disk.raw, oldgnu sparse, 1 GiB, root, the epoch. */
        _cleanup_free_ char *tar_cmd = xasprintf("tar -tvzf %s --full-time", o[2].path);
        _cleanup_free_ char *list = test_output(tar_cmd, NULL);
        assert_se(strstr(list, "root/root 1073741824 2023-11-14 22:13:20 disk.raw\n"));
        test_sh("gzip -dc %s | head -c 512 | cut -b 258-265 | grep -q '^ustar  $'", o[2].path);
        test_sh("mkdir %s/gce && tar -xSzf %s -C %s/gce", dir, o[2].path, dir);
        _cleanup_free_ char *gce_raw = path_join(dir, "gce/disk.raw");
        check_back_to_raw(gce_raw, raw_size, want);
        struct stat st;
        assert_se(stat(gce_raw, &st) == 0 && (uint64_t) st.st_blocks * 512 < 8 * MIB);
        assert_se(o[2].size < 1 * MIB); /* only the data is in the archive */

        /* The same bytes again, in another folder. */
        assert_se(image_write_outputs(raw, want, 1700000000, out2, "web", specs, 4, &o2, &n2) == 0);
        for (size_t i = 0; i < n; i++)
                assert_se(memcmp(o[i].sha256, o2[i].sha256, DIGEST_SIZE) == 0 && o[i].size == o2[i].size);
        test_sh("cmp %s %s", o[1].path, o2[1].path);
        image_outputs_free(o, n);
        image_outputs_free(o2, n2);
}

int main(void) {
        if (!test_have("qemu-img"))
                test_skip("qemu-img missing");
        const char *dir = test_scratch();
        _cleanup_free_ char *raw = path_join(dir, "disk.raw");
        _cleanup_free_ char *out = path_join(dir, "out");

        /* 64 MiB, sparse, with data at the start, in the middle and at the end. */
        int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_se(fd >= 0);
        uint8_t block[65536];
        for (size_t i = 0; i < sizeof block; i++)
                block[i] = (uint8_t) (i * 7 + i / 251);
        assert_se(pwrite(fd, block, sizeof block, 0) == sizeof block);
        assert_se(pwrite(fd, block, sizeof block, 17 * MIB + 123) == sizeof block);
        assert_se(pwrite(fd, block, 512, 64 * MIB - 512) == 512);
        close(fd);
        uint8_t want[DIGEST_SIZE];
        uint64_t raw_size;
        assert_se(digest_file(raw, want, &raw_size) == 0);

        ImageOutputSpec specs[] = {
                { .format = IMAGE_FORMAT_RAW, .compression = IMAGE_COMPRESSION_NONE },
                { .format = IMAGE_FORMAT_QCOW2, .compression = IMAGE_COMPRESSION_NONE },
                { .format = IMAGE_FORMAT_RAW, .compression = IMAGE_COMPRESSION_ZSTD },
                { .format = IMAGE_FORMAT_QCOW2, .compression = IMAGE_COMPRESSION_ZSTD },
        };
        ImageOutput *o = NULL;
        size_t n = 0;
        assert_se(image_write_outputs(raw, NULL, 1700000000, out, "web", specs, 4, &o, &n) == 0);
        assert_se(n == 4);
        assert_se(test_count_entries(out, false) == 4); /* no temporary file left */
        assert_se(endswith(o[0].path, "/web.raw") && endswith(o[1].path, "/web.qcow2"));
        assert_se(endswith(o[2].path, "/web.raw.zst") && endswith(o[3].path, "/web.qcow2.zst"));

        /* raw: same bytes, still sparse. */
        assert_se(memcmp(o[0].sha256, want, DIGEST_SIZE) == 0 && o[0].size == raw_size);
        struct stat st;
        assert_se(stat(o[0].path, &st) == 0);
        assert_se((uint64_t) st.st_blocks * 512 < 8 * MIB);

        /* qcow2: clean, and the same content. */
        {
                char *argv[] = { (char *) "qemu-img", (char *) "check", o[1].path, NULL };
                assert_se(process_run(argv, NULL, NULL) == 0);
                char *cmp[] = { (char *) "qemu-img", (char *) "compare", (char *) "-f", (char *) "raw", (char *) "-F",
                                (char *) "qcow2", raw, o[1].path, NULL };
                assert_se(process_run(cmp, NULL, NULL) == 0);
        }

        /* zstd: the digest is of the file, and it decompresses to the raw image. */
        uint8_t d[DIGEST_SIZE];
        uint64_t size;
        assert_se(digest_file(o[2].path, d, &size) == 0);
        assert_se(memcmp(d, o[2].sha256, DIGEST_SIZE) == 0 && size == o[2].size);
        _cleanup_free_ char *z = NULL;
        size_t zsize;
        assert_se(read_full_file(o[2].path, &z, &zsize) == 0);
        assert_se(ZSTD_getFrameContentSize(z, zsize) == raw_size);
        _cleanup_free_ uint8_t *plain = xmalloc(raw_size);
        assert_se(ZSTD_decompress(plain, raw_size, z, zsize) == raw_size);
        uint8_t back[DIGEST_SIZE];
        digest_buffer(plain, raw_size, back);
        assert_se(memcmp(back, want, DIGEST_SIZE) == 0);

        /* Deterministic: a second run gives the same bytes for every format (this time with the raw
         * digest known, so the raw copy is not hashed again: same digests, and the copy matches). */
        _cleanup_free_ char *out2 = path_join(dir, "out2");
        ImageOutput *o2 = NULL;
        size_t n2 = 0;
        assert_se(image_write_outputs(raw, want, 1700000000, out2, "web", specs, 4, &o2, &n2) == 0);
        for (size_t i = 0; i < 4; i++)
                assert_se(memcmp(o[i].sha256, o2[i].sha256, DIGEST_SIZE) == 0 && o[i].size == o2[i].size);
        uint8_t copied[DIGEST_SIZE];
        assert_se(digest_file(o2[0].path, copied, NULL) == 0 && memcmp(copied, want, DIGEST_SIZE) == 0);
        image_outputs_free(o2, n2);

        /* All or nothing: the raw written before the bad spec is removed again. */
        _cleanup_free_ char *out3 = path_join(dir, "out3");
        ImageOutputSpec bad[] = { { .format = IMAGE_FORMAT_RAW, .compression = IMAGE_COMPRESSION_NONE }, { .format = (ImageFormat) 42 } };
        ImageOutput *o3 = NULL;
        size_t n3 = 0;
        assert_se(image_write_outputs(raw, NULL, 1700000000, out3, "web", bad, 2, &o3, &n3) == -EINVAL);
        assert_se(test_count_entries(out3, false) == 0);
        ImageOutputSpec twice[] = { specs[0], specs[0] };
        assert_se(image_write_outputs(raw, NULL, 1700000000, out3, "web", twice, 2, &o3, &n3) == -EEXIST);
        assert_se(test_count_entries(out3, false) == 0);
        /* A missing source fails cleanly too. */
        _cleanup_free_ char *missing = path_join(dir, "missing.raw");
        assert_se(image_write_outputs(missing, NULL, 1700000000, out3, "web", specs + 2, 1, &o3, &n3) < 0);
        assert_se(test_count_entries(out3, false) == 0);

        assert_se(image_format_from_string("qcow2") == IMAGE_FORMAT_QCOW2);
        assert_se(image_compression_from_string("zstd") == IMAGE_COMPRESSION_ZSTD);
        assert_se(image_format_from_string("vmdk") == IMAGE_FORMAT_VMDK);
        assert_se(image_format_from_string("vhdx") < 0);

        check_vmdk_cid(dir);
        check_cloud_formats(dir, raw, raw_size, want);
        image_outputs_free(o, n);
        printf("ok\n");
        return 0;
}
