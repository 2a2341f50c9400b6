#pragma once
/* Fixed VHD (Azure, Hyper-V): the raw disk padded to a whole MiB, then a 512-byte footer. The
 * footer is a pure function of the disk size, the bake's epoch and the image digest, so two bakes
 * of the same image write the same bytes. */
#include <stdint.h>

#include "digest.h"

#define VHD_FOOTER_SIZE 512
#define VHD_ALIGNMENT (UINT64_C(1) << 20) /* Azure takes only whole MiB disks */
#define VHD_EPOCH INT64_C(946684800)      /* 2000-01-01T00:00:00Z, the VHD clock's zero */

/* The disk size a VHD gives an image of raw_size bytes: rounded up to a whole MiB. */
uint64_t vhd_disk_size(uint64_t raw_size);

/* The one's complement of the byte sum of the footer with its checksum field counted as zero. */
uint32_t vhd_checksum(const uint8_t footer[VHD_FOOTER_SIZE]);

/* The footer of a fixed VHD of disk_size bytes. Its time stamp is the bake's epoch (seconds since
 * 2000, clamped to the field), its unique id a hash of the image digest. The CHS geometry is the
 * format's "too large for CHS" value 65535/16/255, which tells readers to take the size from the
 * footer's current-size field (qemu does, Hyper-V and Azure read only that), so no byte of a
 * disk whose size is not a cylinder multiple is cut off. */
void vhd_footer(uint64_t disk_size, int64_t epoch, const uint8_t image_digest[DIGEST_SIZE],
                uint8_t ret[VHD_FOOTER_SIZE]);
