/* The ustar header block; see tar-header.h. */
#include "tar-header.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool tar_octal_fits(uint64_t v, size_t width) {
        return (width - 1) * 3 >= 64 || v < ((uint64_t) 1 << ((width - 1) * 3));
}

void tar_put_number(char *field, size_t width, uint64_t v, bool base256) {
        if (tar_octal_fits(v, width)) {
                snprintf(field, width, "%0*" PRIo64, (int) width - 1, v);
                return;
        }
        if (!base256) {
                snprintf(field, width, "%0*" PRIo64, (int) width - 1, UINT64_C(0));
                return;
        }
        memset(field, 0, width);
        field[0] = (char) 0x80;
        for (size_t i = width - 1; i > 0 && v; i--, v >>= 8)
                field[i] = (char) (v & 0xff);
}

void tar_header_encode(const TarHeader *h, uint8_t ret[TAR_BLOCK_SIZE]) {
        char *b = (char *) ret;
        memset(b, 0, TAR_BLOCK_SIZE);
        strncpy(b, h->name, 100);
        tar_put_number(b + 100, 8, h->mode, h->base256);
        tar_put_number(b + 108, 8, h->uid, h->base256);
        tar_put_number(b + 116, 8, h->gid, h->base256);
        tar_put_number(b + 124, 12, h->size, h->base256);
        tar_put_number(b + 136, 12, h->mtime < 0 ? 0 : (uint64_t) h->mtime, h->base256);
        b[156] = h->type;
        if (h->link)
                strncpy(b + 157, h->link, 100);
        if (h->oldgnu)
                memcpy(b + 257, "ustar  ", 8);
        else {
                memcpy(b + 257, "ustar", 6);
                memcpy(b + 263, "00", 2);
        }
        if (h->uname)
                strncpy(b + 265, h->uname, 32);
        if (h->gname)
                strncpy(b + 297, h->gname, 32);
        if (h->device_numbers) {
                tar_put_number(b + 329, 8, h->devmajor, h->base256);
                tar_put_number(b + 337, 8, h->devminor, h->base256);
        }
        tar_header_checksum(ret);
}

void tar_header_checksum(uint8_t block[TAR_BLOCK_SIZE]) {
        char *b = (char *) block;
        memset(b + 148, ' ', 8);
        unsigned sum = 0;
        for (size_t i = 0; i < TAR_BLOCK_SIZE; i++)
                sum += block[i];
        snprintf(b + 148, 8, "%06o", sum);
        b[155] = ' ';
}
