#pragma once
/* Bootloaders installed offline onto the ESP of a disk image: syslinux for BIOS (gptmbr.bin or
 * mbr.bin in the first 440 bytes, ldlinux on the FAT), systemd-boot for UEFI
 * (EFI/BOOT/BOOTX64.EFI + loader entries), or both on one ESP ("hybrid"). The root filesystem is
 * never touched: the kernel and initrd are copied onto the ESP. */
#include <stdint.h>

#include "partition.h"
#include "vocabulary.h" /* BootloaderType */

typedef struct BootloaderOptions {
        BootloaderType type;
        const char *kernel;  /* host path of the image's /boot/vmlinuz-*; NULL = "the image has no kernel" */
        const char *initrd;  /* host path of /boot/initrd.img-*, or NULL */
        const char *cmdline; /* the template's; NULL = "console=tty0 console=ttyS0,115200" */
        const char *title;   /* menu title; NULL = "baker" */
        uint64_t epoch;      /* SOURCE_DATE_EPOCH for the FAT timestamps */
} BootloaderOptions;

/* The ESP (first partition of type esp) must already hold a FAT filesystem (vfat_write()). The
 * root is the first partition of type root, else of type linux; the kernel command line is
 * "root=PARTUUID=<its uuid> ro <cmdline>". -ENOENT with a clear message when there is no kernel. */
int bootloader_install(const char *image_path, const DiskLayout *layout, const BootloaderOptions *o);

/* The kernel command line bootloader_install() writes (newly allocated), or NULL without a root. */
char *bootloader_cmdline(const DiskLayout *layout, const char *cmdline);

/* Finds the newest /boot/vmlinuz-* (and the matching /boot/initrd.img-*, if any) below the host
 * directory `root`. -ENOENT, logged, when there is no kernel. */
int bootloader_find_kernel(const char *root, char **ret_kernel, char **ret_initrd);
