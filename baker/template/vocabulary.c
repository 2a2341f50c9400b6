/* The names of the words in vocabulary.h, one table per enum. */
#include "vocabulary.h"

#include "util.h"

static const char *const firmware_names[_BOOT_FIRMWARE_MAX] = {
        [BOOT_FIRMWARE_BIOS] = "bios",
        [BOOT_FIRMWARE_UEFI] = "uefi",
};

static const char *const bootloader_names[_BOOTLOADER_TYPE_MAX] = {
        [BOOTLOADER_SYSLINUX] = "syslinux",
        [BOOTLOADER_SYSTEMD_BOOT] = "systemd-boot",
        [BOOTLOADER_HYBRID] = "hybrid",
};

static const char *const format_names[_IMAGE_FORMAT_MAX] = {
        [IMAGE_FORMAT_RAW] = "raw",
        [IMAGE_FORMAT_QCOW2] = "qcow2",
        [IMAGE_FORMAT_VHD] = "vhd",
        [IMAGE_FORMAT_VMDK] = "vmdk",
        [IMAGE_FORMAT_GCE] = "gce",
};

static const char *const compression_names[_IMAGE_COMPRESSION_MAX] = {
        [IMAGE_COMPRESSION_NONE] = "none",
        [IMAGE_COMPRESSION_ZSTD] = "zstd",
};

static const char *const table_type_names[_PARTITION_TABLE_TYPE_MAX] = {
        [PARTITION_TABLE_GPT] = "gpt",
        [PARTITION_TABLE_MBR] = "mbr",
};

static const char *const partition_type_names[_PARTITION_TYPE_MAX] = {
        [PARTITION_ESP] = "esp",
        [PARTITION_ROOT] = "root",
        [PARTITION_LINUX] = "linux",
        [PARTITION_SWAP] = "swap",
        [PARTITION_BIOS_BOOT] = "bios-boot",
        [PARTITION_XBOOTLDR] = "xbootldr",
};

static const char *const step_cache_names[_STEP_CACHE_MODE_MAX] = {
        [STEP_CACHE_SHARED] = "shared",
        [STEP_CACHE_LOCAL] = "local",
};

static const char *name_of(const char *const *names, int max, int i) {
        return i >= 0 && i < max ? names[i] : NULL;
}

static int lookup(const char *const *names, int max, const char *s) {
        for (int i = 0; s && i < max; i++)
                if (streq(s, names[i]))
                        return i;
        return -EINVAL;
}

const char *boot_firmware_to_string(BootFirmware f) {
        return name_of(firmware_names, _BOOT_FIRMWARE_MAX, f);
}

BootFirmware boot_firmware_from_string(const char *s) {
        return lookup(firmware_names, _BOOT_FIRMWARE_MAX, s);
}

const char *bootloader_type_to_string(BootloaderType t) {
        return name_of(bootloader_names, _BOOTLOADER_TYPE_MAX, t);
}

BootloaderType bootloader_type_from_string(const char *s) {
        if (s && streq(s, "extlinux"))
                return BOOTLOADER_SYSLINUX;
        return lookup(bootloader_names, _BOOTLOADER_TYPE_MAX, s);
}

const char *image_format_to_string(ImageFormat f) {
        return name_of(format_names, _IMAGE_FORMAT_MAX, f);
}

ImageFormat image_format_from_string(const char *s) {
        return lookup(format_names, _IMAGE_FORMAT_MAX, s);
}

const char *image_compression_to_string(ImageCompression c) {
        return name_of(compression_names, _IMAGE_COMPRESSION_MAX, c);
}

ImageCompression image_compression_from_string(const char *s) {
        return lookup(compression_names, _IMAGE_COMPRESSION_MAX, s);
}

const char *partition_table_type_to_string(PartitionTableType t) {
        return name_of(table_type_names, _PARTITION_TABLE_TYPE_MAX, t);
}

PartitionTableType partition_table_type_from_string(const char *s) {
        return lookup(table_type_names, _PARTITION_TABLE_TYPE_MAX, s);
}

const char *partition_type_to_string(PartitionType t) {
        return name_of(partition_type_names, _PARTITION_TYPE_MAX, t);
}

PartitionType partition_type_from_string(const char *s) {
        return lookup(partition_type_names, _PARTITION_TYPE_MAX, s);
}

const char *step_cache_mode_to_string(StepCacheMode m) {
        return name_of(step_cache_names, _STEP_CACHE_MODE_MAX, m);
}

StepCacheMode step_cache_mode_from_string(const char *s) {
        return lookup(step_cache_names, _STEP_CACHE_MODE_MAX, s);
}
