/* Fixed VHD; see vhd.h. */
#include "vhd.h"

#include <string.h>
#include <unistd.h>

#include "image-format.h"
#include "log.h"

static void put_be16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8), p[1] = (uint8_t) v;
}

static void put_be32(uint8_t *p, uint32_t v) {
        for (int i = 3; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

static void put_be64(uint8_t *p, uint64_t v) {
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t) v;
}

uint64_t vhd_disk_size(uint64_t raw_size) {
        return (raw_size + VHD_ALIGNMENT - 1) / VHD_ALIGNMENT * VHD_ALIGNMENT;
}

uint32_t vhd_checksum(const uint8_t footer[VHD_FOOTER_SIZE]) {
        uint32_t sum = 0;
        for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
                if (i < 64 || i >= 68) /* the checksum field itself */
                        sum += footer[i];
        return ~sum;
}

void vhd_footer(uint64_t disk_size, int64_t epoch, const uint8_t image_digest[DIGEST_SIZE],
                uint8_t ret[VHD_FOOTER_SIZE]) {
        memset(ret, 0, VHD_FOOTER_SIZE);
        memcpy(ret, "conectix", 8);
        put_be32(ret + 8, 2);                     /* features: "reserved", always set */
        put_be32(ret + 12, 0x00010000);           /* file format version 1.0 */
        put_be64(ret + 16, UINT64_MAX);           /* data offset: none, a fixed disk */
        int64_t t = epoch - VHD_EPOCH;
        put_be32(ret + 24, (uint32_t) (t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : t));
        memcpy(ret + 28, "bakr", 4);              /* creator application */
        put_be32(ret + 32, 0x00010000);           /* creator version: this writer's, 1.0 */
        memcpy(ret + 36, "Wi2k", 4);              /* creator host OS: the one the format knows for PCs */
        put_be64(ret + 40, disk_size);            /* original size */
        put_be64(ret + 48, disk_size);            /* current size */
        put_be16(ret + 56, 65535);                /* cylinders, heads, sectors per track: see vhd.h */
        ret[58] = 16;
        ret[59] = 255;
        put_be32(ret + 60, 2);                    /* disk type: fixed */

        /* The unique id: a hash of the image digest, shaped as an RFC 4122 (version 4) UUID. */
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update_string(d, "baker vhd unique id");
        digest_update(d, image_digest, DIGEST_SIZE);
        uint8_t h[DIGEST_SIZE];
        digest_final(d, h);
        memcpy(ret + 68, h, 16);
        ret[68 + 6] = (uint8_t) ((ret[68 + 6] & 0x0f) | 0x40);
        ret[68 + 8] = (uint8_t) ((ret[68 + 8] & 0x3f) | 0x80);
        /* saved state (84) and the reserved rest stay zero */
        put_be32(ret + 64, vhd_checksum(ret));
}

int image_write_vhd(const ImageSource *src, const char *tmp_path, int fd, const char *final_name) {
        int r = image_copy_sparse(src->path, fd);
        if (r < 0)
                return log_error_errno(r, "failed to copy '%s' into '%s': %m", src->path, tmp_path);
        uint64_t disk = vhd_disk_size(src->size);
        uint8_t footer[VHD_FOOTER_SIZE];
        vhd_footer(disk, src->epoch, src->sha256, footer);
        /* the padding to a whole MiB stays a hole */
        if (ftruncate(fd, (off_t) disk) < 0 || (r = pwrite_all(fd, footer, sizeof footer, disk)) < 0)
                return log_error_errno(r < 0 ? r : -errno, "failed to write the VHD footer of '%s': %m", final_name);
        return 0;
}
