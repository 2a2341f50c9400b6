#pragma once
/* The template language's words for things later stages build: boot firmware, bootloader, image
 * format and compression, partition table and partition types. They live here, below every stage
 * that acts on them, so that template/ depends on nothing above it; the stages that own the
 * behaviour (vm/boot, fs/bootloader, image/image, fs/partition) include this header. Each enum has
 * a _to_string()/_from_string() pair: NULL and _X_INVALID (-EINVAL) for what is not a word. */
#include <errno.h>

typedef enum BootFirmware {
        BOOT_FIRMWARE_BIOS,
        BOOT_FIRMWARE_UEFI,
        _BOOT_FIRMWARE_MAX,
        _BOOT_FIRMWARE_INVALID = -EINVAL,
} BootFirmware;

typedef enum BootloaderType {
        BOOTLOADER_SYSLINUX,
        BOOTLOADER_SYSTEMD_BOOT,
        BOOTLOADER_HYBRID,
        _BOOTLOADER_TYPE_MAX,
        _BOOTLOADER_TYPE_INVALID = -EINVAL,
} BootloaderType;

typedef enum ImageFormat {
        IMAGE_FORMAT_RAW,
        IMAGE_FORMAT_QCOW2,
        IMAGE_FORMAT_VHD,   /* fixed VHD (Azure, Hyper-V) */
        IMAGE_FORMAT_VMDK,  /* streamOptimized VMDK (vSphere, AWS import) */
        IMAGE_FORMAT_GCE,   /* tar.gz of disk.raw (Google Compute Engine import) */
        _IMAGE_FORMAT_MAX,
        _IMAGE_FORMAT_INVALID = -EINVAL,
} ImageFormat;

typedef enum ImageCompression {
        IMAGE_COMPRESSION_NONE,
        IMAGE_COMPRESSION_ZSTD,
        _IMAGE_COMPRESSION_MAX,
        _IMAGE_COMPRESSION_INVALID = -EINVAL,
} ImageCompression;

typedef enum PartitionTableType {
        PARTITION_TABLE_GPT,
        PARTITION_TABLE_MBR,
        _PARTITION_TABLE_TYPE_MAX,
        _PARTITION_TABLE_TYPE_INVALID = -EINVAL,
} PartitionTableType;

typedef enum PartitionType {
        PARTITION_ESP,
        PARTITION_ROOT,      /* x86-64 root (Discoverable Partitions Specification) */
        PARTITION_LINUX,     /* generic Linux data */
        PARTITION_SWAP,
        PARTITION_BIOS_BOOT, /* GPT only */
        PARTITION_XBOOTLDR,
        _PARTITION_TYPE_MAX,
        _PARTITION_TYPE_INVALID = -EINVAL,
} PartitionType;

/* A step's `cache:`: whether its result may be shared through a remote cache (README, "A shared
 * step cache in a registry"). */
typedef enum StepCacheMode {
        STEP_CACHE_SHARED,
        STEP_CACHE_LOCAL,
        _STEP_CACHE_MODE_MAX,
        _STEP_CACHE_MODE_INVALID = -EINVAL,
} StepCacheMode;

const char *boot_firmware_to_string(BootFirmware f);
BootFirmware boot_firmware_from_string(const char *s);
const char *bootloader_type_to_string(BootloaderType t);
/* "syslinux" (also "extlinux"), "systemd-boot", "hybrid" */
BootloaderType bootloader_type_from_string(const char *s);
const char *image_format_to_string(ImageFormat f);
ImageFormat image_format_from_string(const char *s);
const char *image_compression_to_string(ImageCompression c);
/* "none" or "zstd" */
ImageCompression image_compression_from_string(const char *s);
const char *partition_table_type_to_string(PartitionTableType t);
PartitionTableType partition_table_type_from_string(const char *s);
const char *partition_type_to_string(PartitionType t);
PartitionType partition_type_from_string(const char *s);
const char *step_cache_mode_to_string(StepCacheMode m);
StepCacheMode step_cache_mode_from_string(const char *s);
