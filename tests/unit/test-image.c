/* Output formats: raw copy keeps bytes (and holes), qcow2 is clean for `qemu-img check` and equal
 * in content, zstd round-trips, outputs are deterministic, and a failed set leaves nothing behind. */
#include <fcntl.h>
#include <sys/stat.h>
#include <zstd.h>

#include "image.h"
#include "process.h"
#include "test-lib.h"

#define MIB (1u << 20)

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
        assert_se(image_write_outputs(raw, NULL, out, "web", specs, 4, &o, &n) == 0);
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
        assert_se(image_write_outputs(raw, want, out2, "web", specs, 4, &o2, &n2) == 0);
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
        assert_se(image_write_outputs(raw, NULL, out3, "web", bad, 2, &o3, &n3) == -EINVAL);
        assert_se(test_count_entries(out3, false) == 0);
        ImageOutputSpec twice[] = { specs[0], specs[0] };
        assert_se(image_write_outputs(raw, NULL, out3, "web", twice, 2, &o3, &n3) == -EEXIST);
        assert_se(test_count_entries(out3, false) == 0);
        /* A missing source fails cleanly too. */
        _cleanup_free_ char *missing = path_join(dir, "missing.raw");
        assert_se(image_write_outputs(missing, NULL, out3, "web", specs + 2, 1, &o3, &n3) < 0);
        assert_se(test_count_entries(out3, false) == 0);

        assert_se(image_format_from_string("qcow2") == IMAGE_FORMAT_QCOW2);
        assert_se(image_compression_from_string("zstd") == IMAGE_COMPRESSION_ZSTD);
        assert_se(image_format_from_string("vmdk") < 0);

        image_outputs_free(o, n);
        printf("ok\n");
        return 0;
}
