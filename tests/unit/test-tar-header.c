#include <assert.h>
#include <inttypes.h>

#include "tar-header.h"
#include "util.h"

static unsigned checksum(const uint8_t h[TAR_BLOCK_SIZE]) {
        unsigned sum = 0;
        for (size_t i = 0; i < TAR_BLOCK_SIZE; i++)
                sum += i >= 148 && i < 156 ? ' ' : h[i];
        return sum;
}

int main(void) {
        assert(tar_octal_fits(07777777, 8) && !tar_octal_fits(010000000, 8));
        assert(tar_octal_fits(UINT64_C(077777777777), 12) && !tar_octal_fits(UINT64_C(1) << 33, 12));

        uint8_t h[TAR_BLOCK_SIZE];
        tar_header_encode(&(TarHeader) { .name = "etc/hostname", .type = '0', .mode = 0644, .uid = 1000, .gid = 100,
                                         .size = 5, .mtime = 1700000000, .device_numbers = true },
                          h);
        assert(streq((char *) h, "etc/hostname"));
        assert(streq((char *) h + 100, "0000644") && streq((char *) h + 108, "0001750") &&
               streq((char *) h + 116, "0000144"));
        assert(streq((char *) h + 124, "00000000005") && streq((char *) h + 136, "14524770400"));
        assert(h[156] == '0' && memcmp(h + 257, "ustar\0" "00", 8) == 0);
        assert(streq((char *) h + 329, "0000000") && streq((char *) h + 337, "0000000"));
        unsigned stored = (unsigned) strtoul((char *) h + 148, NULL, 8);
        assert(stored == checksum(h) && h[154] == 0 && h[155] == ' ');

        /* Too large: 0 (a pax record carries it) or base-256. */
        uint64_t big = UINT64_C(10) << 30;
        tar_header_encode(&(TarHeader) { .name = "disk/img", .type = '0', .size = big, .mtime = -5 }, h);
        assert(streq((char *) h + 124, "00000000000") && streq((char *) h + 136, "00000000000"));
        assert(h[329] == 0 && h[265] == 0);
        tar_header_encode(&(TarHeader) { .name = "disk/img", .type = '0', .size = big, .uname = "qemu",
                                         .gname = "qemu", .base256 = true },
                          h);
        assert(h[124] == 0x80);
        uint64_t v = 0;
        for (size_t i = 125; i < 136; i++)
                v = v << 8 | h[i];
        assert(v == big);
        assert(streq((char *) h + 265, "qemu") && streq((char *) h + 297, "qemu"));

        /* A 100-byte name fills the field without a NUL. */
        char name[101];
        memset(name, 'n', 100);
        name[100] = 0;
        tar_header_encode(&(TarHeader) { .name = name, .type = '5', .link = NULL }, h);
        assert(memcmp(h, name, 100) == 0 && h[100] == '0');
        return 0;
}
