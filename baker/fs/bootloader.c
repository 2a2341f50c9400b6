#include "bootloader.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "log.h"
#include "process.h"
#include "vfat.h"

#define ESP_KERNEL "/vmlinuz"
#define ESP_INITRD "/initrd.img"

static const char *const syslinux_dirs[] = { "/usr/lib/syslinux/mbr", "/usr/lib/SYSLINUX",
                                             "/usr/share/syslinux" };
static const char *const systemd_boot_paths[] = { "/usr/lib/systemd/boot/efi/systemd-bootx64.efi" };

static char *find_file(const char *const *dirs, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++) {
                char *p = name ? path_join(dirs[i], name) : xstrdup(dirs[i]);
                if (access(p, R_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

static const Partition *find_root(const DiskLayout *l) {
        return disk_layout_find_type(l, PARTITION_ROOT) ?: disk_layout_find_type(l, PARTITION_LINUX);
}

char *bootloader_cmdline(const DiskLayout *layout, const char *cmdline) {
        const Partition *root = find_root(layout);
        if (!root)
                return NULL;
        cmdline = cmdline ?: "console=tty0 console=ttyS0,115200";
        return xasprintf("root=PARTUUID=%s ro%s%s", root->uuid_string, *cmdline ? " " : "", cmdline);
}

/* The MBR boot code goes into bytes 0-439 only: the disk signature and partition entries after it
 * belong to the partition table. */
static int install_mbr_code(const char *image_path, const DiskLayout *l) {
        const char *name = l->table == PARTITION_TABLE_GPT ? "gptmbr.bin" : "mbr.bin";
        _cleanup_free_ char *path = find_file(syslinux_dirs, ELEMENTSOF(syslinux_dirs), name);
        if (!path)
                return log_error_errno(-ENOENT, "syslinux's '%s' is not installed (Debian package 'syslinux-common')",
                                       name);
        _cleanup_free_ char *code = NULL;
        size_t size;
        int r = read_full_file(path, &code, &size);
        if (r < 0)
                return log_error_errno(r, "failed to read '%s': %m", path);
        if (size > 440)
                return log_error_errno(-EINVAL, "'%s' is %zu bytes, more than the 440 of an mbr", path, size);
        _cleanup_close_ int fd = open(image_path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "failed to open '%s': %m", image_path);
        if (pwrite(fd, code, size, 0) != (ssize_t) size)
                return log_error_errno(-errno, "failed to write the mbr boot code to '%s': %m", image_path);
        return 0;
}

static int install_syslinux(const char *image_path, const DiskLayout *l, const Partition *esp,
                            const BootloaderOptions *o, const char *cmdline) {
        /* gptmbr.bin boots the partition with the legacy-BIOS-bootable attribute, mbr.bin the
         * active one: without it the BIOS path silently does nothing. */
        if (!esp->legacy_bios_bootable)
                return log_error_errno(-EINVAL,
                                       "partition '%s' must be legacy-bios-bootable (bootable: true) for syslinux",
                                       esp->label);
        int r = install_mbr_code(image_path, l);
        if (r < 0)
                return r;

        char offset[32], epoch[64];
        snprintf(offset, sizeof offset, "%" PRIu64, esp->offset);
        snprintf(epoch, sizeof epoch, "SOURCE_DATE_EPOCH=%" PRIu64, o->epoch);
        /* syslinux writes ldlinux.sys and ldlinux.c32 through mtools, which stores FAT's local
         * times from TZ: UTC, as vfat.c does, or the bytes depend on where the bake ran. */
        char *env[] = { (char *) "MTOOLSRC=/dev/null", (char *) "MTOOLS_SKIP_CHECK=1", (char *) "TZ=UTC0", epoch, NULL };
        char *argv[] = { (char *) "syslinux", (char *) "--install", (char *) "--offset", offset, (char *) image_path,
                         NULL };
        r = process_run_checked(argv, env, "install syslinux on the esp", "syslinux");
        if (r < 0)
                return r;

        _cleanup_free_ char *cfg = xasprintf("SERIAL 0 115200\n"
                                             "PROMPT 0\n"
                                             "TIMEOUT 0\n"
                                             "DEFAULT baker\n"
                                             "LABEL baker\n"
                                             "  LINUX " ESP_KERNEL "\n"
                                             "%s"
                                             "  APPEND %s\n",
                                             o->initrd ? "  INITRD " ESP_INITRD "\n" : "", cmdline);
        VfatEntry e = { .path = "/syslinux.cfg", .data = cfg, .size = strlen(cfg) };
        return vfat_add(image_path, esp->offset, o->epoch, &e, 1);
}

static int install_systemd_boot(const char *image_path, const Partition *esp, const BootloaderOptions *o,
                                const char *cmdline) {
        _cleanup_free_ char *efi = find_file(systemd_boot_paths, ELEMENTSOF(systemd_boot_paths), NULL);
        if (!efi)
                return log_error_errno(-ENOENT, "'systemd-bootx64.efi' is not installed (Debian package "
                                                "'systemd-boot-efi')");
        /* timeout 0: boot the default entry at once, the menu only on a key press. */
        const char *loader = "timeout 0\ndefault baker.conf\neditor no\n";
        _cleanup_free_ char *entry = xasprintf("title %s\nlinux " ESP_KERNEL "\n%soptions %s\n", o->title ?: "baker",
                                               o->initrd ? "initrd " ESP_INITRD "\n" : "", cmdline);
        VfatEntry entries[] = {
                { .path = "/EFI/BOOT/BOOTX64.EFI", .host_file = efi },
                { .path = "/loader/loader.conf", .data = loader, .size = strlen(loader) },
                { .path = "/loader/entries/baker.conf", .data = entry, .size = strlen(entry) },
        };
        return vfat_add(image_path, esp->offset, o->epoch, entries, ELEMENTSOF(entries));
}

int bootloader_install(const char *image_path, const DiskLayout *layout, const BootloaderOptions *o) {
        if (o->type < 0 || o->type >= _BOOTLOADER_TYPE_MAX)
                return log_error_errno(-EINVAL, "unknown bootloader type");
        if (!o->kernel)
                return log_error_errno(-ENOENT, "the image has no kernel (/boot/vmlinuz-*): nothing to boot");
        if (access(o->kernel, R_OK) < 0)
                return log_error_errno(-errno, "kernel '%s' is not readable: %m", o->kernel);
        if (o->initrd && access(o->initrd, R_OK) < 0)
                return log_error_errno(-errno, "initrd '%s' is not readable: %m", o->initrd);
        const Partition *esp = disk_layout_find_type(layout, PARTITION_ESP);
        if (!esp)
                return log_error_errno(-EINVAL, "bootloader '%s' needs a partition of type esp",
                                       bootloader_type_to_string(o->type));
        _cleanup_free_ char *cmdline = bootloader_cmdline(layout, o->cmdline);
        if (!cmdline)
                return log_error_errno(-EINVAL, "bootloader '%s' needs a partition of type root or linux",
                                       bootloader_type_to_string(o->type));
        if (o->type != BOOTLOADER_SYSLINUX && layout->table != PARTITION_TABLE_GPT)
                return log_error_errno(-EINVAL, "uefi boot (%s) needs a gpt partition table",
                                       bootloader_type_to_string(o->type));

        VfatEntry files[] = {
                { .path = ESP_KERNEL, .host_file = o->kernel },
                { .path = ESP_INITRD, .host_file = o->initrd },
        };
        int r = vfat_add(image_path, esp->offset, o->epoch, files, o->initrd ? 2 : 1);
        if (r < 0)
                return r;
        if (o->type != BOOTLOADER_SYSTEMD_BOOT) {
                r = install_syslinux(image_path, layout, esp, o, cmdline);
                if (r < 0)
                        return r;
        }
        if (o->type != BOOTLOADER_SYSLINUX) {
                r = install_systemd_boot(image_path, esp, o, cmdline);
                if (r < 0)
                        return r;
        }
        log_info("installed %s on partition '%s': %s", bootloader_type_to_string(o->type), esp->label, cmdline);
        return 0;
}

/* Orders "6.1.0-9" before "6.1.0-10". */
static int version_cmp(const char *a, const char *b) {
        return strverscmp(a, b);
}

int bootloader_find_kernel(const char *root, char **ret_kernel, char **ret_initrd) {
        _cleanup_free_ char *boot = path_join(root, "boot");
        DIR *d = opendir(boot);
        _cleanup_free_ char *best = NULL;
        if (d) {
                struct dirent *de;
                while ((de = readdir(d)))
                        if (startswith(de->d_name, "vmlinuz-") &&
                            (!best || version_cmp(de->d_name + 8, best) > 0)) {
                                free(best);
                                best = xstrdup(de->d_name + 8);
                        }
                closedir(d);
        }
        if (!best)
                return log_error_errno(-ENOENT, "the image has no kernel (%s/vmlinuz-*): nothing to boot", boot);
        _cleanup_free_ char *kname = xasprintf("vmlinuz-%s", best), *iname = xasprintf("initrd.img-%s", best);
        char *kernel = path_join(boot, kname), *initrd = path_join(boot, iname);
        if (access(initrd, R_OK) < 0) {
                free(initrd);
                initrd = NULL;
        }
        *ret_kernel = kernel;
        if (ret_initrd)
                *ret_initrd = initrd;
        else
                free(initrd);
        return 0;
}
