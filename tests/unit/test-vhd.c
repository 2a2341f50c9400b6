/* The fixed VHD footer, a pure function: field by field against the format's layout, its checksum
 * recomputed here independently, the time stamp and unique id derived from the bake (not the
 * clock), and the whole footer equal to the one qemu-img writes (subformat=fixed,force_size) but
 * for the fields that name the writer, the time and the id. */
#include <fcntl.h>

#include "test-lib.h"
#include "vhd.h"

static uint64_t be(const uint8_t *p, size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++)
                v = v << 8 | p[i];
        return v;
}

static void check_fields(void) {
        uint8_t dig[DIGEST_SIZE], f[VHD_FOOTER_SIZE];
        memset(dig, 0xab, sizeof dig);
        vhd_footer(64u << 20, 1700000000, dig, f);
        assert_se(memcmp(f, "conectix", 8) == 0);
        assert_se(be(f + 8, 4) == 2 && be(f + 12, 4) == 0x10000 && be(f + 16, 8) == UINT64_MAX);
        assert_se(be(f + 24, 4) == 1700000000 - 946684800);
        assert_se(be(f + 40, 8) == 64u << 20 && be(f + 48, 8) == 64u << 20);
        assert_se(be(f + 56, 2) == 65535 && f[58] == 16 && f[59] == 255);
        assert_se(be(f + 60, 4) == 2); /* fixed */
        uint32_t sum = 0;
        for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
                sum += i >= 64 && i < 68 ? 0 : f[i];
        assert_se(be(f + 64, 4) == (uint32_t) ~sum && vhd_checksum(f) == (uint32_t) ~sum);
        assert_se((f[74] >> 4) == 4 && (f[76] & 0xc0) == 0x80); /* UUID version 4, RFC 4122 variant */
        for (size_t i = 84; i < VHD_FOOTER_SIZE; i++)
                assert_se(f[i] == 0);

        /* Same inputs, same bytes; another image another id; an epoch before 2000 clamps to 0. */
        uint8_t g[VHD_FOOTER_SIZE];
        vhd_footer(64u << 20, 1700000000, dig, g);
        assert_se(memcmp(f, g, sizeof f) == 0);
        dig[0] ^= 1;
        vhd_footer(64u << 20, 1700000000, dig, g);
        assert_se(memcmp(f + 68, g + 68, 16) != 0 && memcmp(f, g, 64) == 0);
        vhd_footer(64u << 20, 0, dig, g);
        assert_se(be(g + 24, 4) == 0);

        assert_se(vhd_disk_size(1) == 1u << 20 && vhd_disk_size(1u << 20) == 1u << 20);
        assert_se(vhd_disk_size((160u << 20) + 512) == 161u << 20);
}

/* qemu-img's own fixed VHD of the same size: the same footer but for creator app and version (28-35),
 * time stamp (24-27), checksum (64-67) and unique id (68-83). */
static void check_against_qemu(void) {
        if (!test_have("qemu-img")) {
                printf("qemu-img missing: the comparison with its footer is skipped\n");
                return;
        }
        const char *dir = test_scratch();
        test_sh("truncate -s 3M %s/d.raw && qemu-img convert -f raw -O vpc -o subformat=fixed,force_size "
                "%s/d.raw %s/q.vhd", dir, dir, dir);
        _cleanup_free_ char *q = test_path("q.vhd");
        size_t size = 0;
        _cleanup_free_ char *data = test_read_file(q, &size);
        assert_se(size == (3u << 20) + VHD_FOOTER_SIZE);
        const uint8_t *theirs = (const uint8_t *) data + size - VHD_FOOTER_SIZE;
        uint8_t dig[DIGEST_SIZE] = {}, ours[VHD_FOOTER_SIZE];
        vhd_footer(3u << 20, 1700000000, dig, ours);
        for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
                if (!((i >= 24 && i < 36) || (i >= 64 && i < 84)))
                        assert_se(ours[i] == theirs[i]);
        assert_se(vhd_checksum(theirs) == be(theirs + 64, 4)); /* the same checksum rule */
}

int main(void) {
        check_fields();
        check_against_qemu();
        printf("ok\n");
        return 0;
}
