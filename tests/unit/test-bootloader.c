/* FAT ESP + bootloaders, offline: the same inputs give the same bytes, the files are where the
 * firmware and syslinux look for them, and a missing kernel is a clear error. Also covers vfat. */
#include <fcntl.h>

#include "bootloader.h"
#include "digest.h"
#include "process.h"
#include "vfat.h"
#include "test-lib.h"

#define MIB (UINT64_C(1) << 20)

static void build(const char *path, const char *kernel, const DiskLayout *l) {
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_se(fd >= 0);
        assert_se(partition_table_write(l, fd) == 0);
        close(fd);
        const char *readme = "hello\n";
        VfatEntry entries[] = {
                { .path = "/EFI/Linux", .is_dir = true },
                { .path = "/deep/er/README.txt", .data = readme, .size = strlen(readme) },
                { .path = "/kernel-copy", .host_file = kernel },
        };
        VfatOptions o = { .label = "esp", .volume_id = 0x12345678, .epoch = 1700000000 };
        assert_se(vfat_write(path, l->partitions[0].offset, l->partitions[0].size, &o, entries, 3) == 0);
        BootloaderOptions bo = { .type = BOOTLOADER_HYBRID, .kernel = kernel, .initrd = kernel, .epoch = 1700000000 };
        assert_se(bootloader_install(path, l, &bo) == 0);
}

static char *mtype(const char *image, uint64_t offset, const char *file) {
        _cleanup_free_ char *img = xasprintf("%s@@%llu", image, (unsigned long long) offset);
        _cleanup_free_ char *target = xasprintf("::%s", file);
        char *argv[] = { (char *) "mtype", (char *) "-i", img, target, NULL };
        char *env[] = { (char *) "MTOOLSRC=/dev/null", (char *) "MTOOLS_SKIP_CHECK=1", NULL };
        char *out = NULL;
        assert_se(process_run(argv, env, &out) == 0);
        return out;
}

int main(void) {
        char *probe[] = { (char *) "mformat", (char *) "--version", NULL };
        char *probe2[] = { (char *) "syslinux", (char *) "--version", NULL };
        if (process_run(probe, NULL, NULL) == -ENOENT || process_run(probe2, NULL, NULL) == -ENOENT ||
            access("/usr/lib/systemd/boot/efi/systemd-bootx64.efi", R_OK) < 0)
                test_skip("mtools, syslinux or systemd-boot missing");

        const char *dir = test_scratch();
        _cleanup_free_ char *kernel = path_join(dir, "vmlinuz");
        assert_se(write_file_atomic(kernel, "not really a kernel", 19, 0644) == 0);

        uint8_t seed[32];
        digest_buffer("seed", 4, seed);
        PartitionSpec specs[] = {
                { .label = "esp", .type = PARTITION_ESP, .size = 64 * MIB, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_ROOT, .size = PARTITION_SIZE_REST },
        };
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 128 * MIB, specs, 2, seed, &l) == 0);

        _cleanup_free_ char *a = path_join(dir, "a.img"), *b = path_join(dir, "b.img");
        build(a, kernel, l);
        sleep(1); /* a different wall clock must not matter */
        build(b, kernel, l);
        uint8_t da[DIGEST_SIZE], db[DIGEST_SIZE];
        assert_se(digest_file(a, da, NULL) == 0 && digest_file(b, db, NULL) == 0);
        assert_se(memcmp(da, db, DIGEST_SIZE) == 0);

        /* gptmbr.bin in the boot code area, the table intact. */
        _cleanup_free_ char *disk = NULL;
        size_t size;
        assert_se(read_full_file(a, &disk, &size) == 0);
        assert_se((uint8_t) disk[510] == 0x55 && (uint8_t) disk[446 + 4] == 0xee);
        assert_se(disk[0] != 0);

        uint64_t off = l->partitions[0].offset;
        _cleanup_free_ char *cmdline = bootloader_cmdline(l, NULL);
        assert_se(startswith(cmdline, "root=PARTUUID="));
        assert_se(strstr(cmdline, l->partitions[1].uuid_string));
        assert_se(endswith(cmdline, " ro console=tty0 console=ttyS0,115200"));
        _cleanup_free_ char *entry = mtype(a, off, "/loader/entries/baker.conf");
        assert_se(strstr(entry, cmdline) && strstr(entry, "linux /vmlinuz") && strstr(entry, "initrd /initrd.img"));
        _cleanup_free_ char *cfg = mtype(a, off, "/syslinux.cfg");
        assert_se(strstr(cfg, cmdline) && strstr(cfg, "LINUX /vmlinuz"));
        _cleanup_free_ char *readme = mtype(a, off, "/deep/er/README.txt");
        assert_se(streq(readme, "hello\n"));
        _cleanup_free_ char *efi = mtype(a, off, "/EFI/BOOT/BOOTX64.EFI");
        assert_se(startswith(efi, "MZ"));
        free(mtype(a, off, "/ldlinux.sys"));

        /* No kernel: a clear error. Not bootable: syslinux refuses. */
        BootloaderOptions nok = { .type = BOOTLOADER_HYBRID };
        assert_se(bootloader_install(a, l, &nok) == -ENOENT);
        _cleanup_free_ char *k = NULL;
        assert_se(bootloader_find_kernel(dir, &k, NULL) == -ENOENT);
        PartitionSpec nb[] = { specs[0], specs[1] };
        nb[0].legacy_bios_bootable = false;
        _cleanup_(disk_layout_freep) DiskLayout *l2 = NULL;
        assert_se(disk_layout_new(PARTITION_TABLE_GPT, 128 * MIB, nb, 2, seed, &l2) == 0);
        BootloaderOptions sys = { .type = BOOTLOADER_SYSLINUX, .kernel = kernel };
        assert_se(bootloader_install(a, l2, &sys) == -EINVAL);
        assert_se(bootloader_type_from_string("extlinux") == BOOTLOADER_SYSLINUX);

        printf("ok\n");
        return 0;
}
