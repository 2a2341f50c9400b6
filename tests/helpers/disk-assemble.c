/* disk-assemble: the whole offline disk path in one executable, for tests until the bake pipeline
 * drives it: partition table, FAT ESP, ext4 root (host mke2fs -d for now), bootloader.
 *
 * usage: disk-assemble IMAGE ROOTDIR [--size MIB] [--esp-size MIB] [--table gpt|mbr]
 *                      [--bootloader syslinux|systemd-boot|hybrid|none] [--cmdline STR] [--seed STR]
 *                      [--no-initrd]   (the kernel alone cannot mount the root: a panic, for tests)
 * Prints "root-partuuid <uuid>" and "disk-guid <guid>". */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>

#include "bootloader.h"
#include "digest.h"
#include "log.h"
#include "partition.h"
#include "process.h"
#include "vfat.h"

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "size", required_argument, NULL, 's' },    { "esp-size", required_argument, NULL, 'e' },
                { "table", required_argument, NULL, 't' },   { "bootloader", required_argument, NULL, 'b' },
                { "cmdline", required_argument, NULL, 'c' }, { "seed", required_argument, NULL, 'S' },
                { "no-initrd", no_argument, NULL, 'n' },
                {},
        };
        uint64_t size_mib = 256, esp_mib = 64, epoch = 1700000000;
        const char *table = "gpt", *bootloader = "hybrid", *cmdline = "console=ttyS0", *seed_text = "baker-test";
        bool no_initrd = false;
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's': size_mib = strtoull(optarg, NULL, 10); break;
                case 'e': esp_mib = strtoull(optarg, NULL, 10); break;
                case 't': table = optarg; break;
                case 'b': bootloader = optarg; break;
                case 'c': cmdline = optarg; break;
                case 'S': seed_text = optarg; break;
                case 'n': no_initrd = true; break;
                default: return 2;
                }
        }
        if (argc - optind != 2) {
                fprintf(stderr, "usage: disk-assemble IMAGE ROOTDIR [options]\n");
                return 2;
        }
        const char *image = argv[optind], *rootdir = argv[optind + 1];
        log_set_max_level(LOG_LEVEL_INFO);

        uint8_t seed[32];
        digest_buffer(seed_text, strlen(seed_text), seed);
        PartitionTableType tt = partition_table_type_from_string(table);
        if (tt < 0)
                return 2;
        PartitionSpec specs[] = {
                { .label = "esp", .type = PARTITION_ESP, .size = esp_mib << 20, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_ROOT, .size = PARTITION_SIZE_REST },
        };
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        if (disk_layout_new(tt, size_mib << 20, specs, 2, seed, &l) < 0)
                return 1;

        (void) unlink(image);
        _cleanup_close_ int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "failed to create '%s': %m", image), 1;
        if (partition_table_write(l, fd) < 0)
                return 1;

        const Partition *esp = l->partitions, *root = l->partitions + 1;
        VfatOptions vo = { .label = "ESP", .volume_id = (uint32_t) seed[0] << 24 | seed[1] << 16 | seed[2] << 8 | seed[3],
                           .epoch = epoch };
        if (vfat_write(image, esp->offset, esp->size, &vo, NULL, 0) < 0)
                return 1;

        /* The root: host mke2fs -d straight into the partition (the lead swaps in baker's writer). */
        char offset[64], blocks[32], epoch_env[64], uuid[64], hash_seed[64];
        snprintf(offset, sizeof offset, "offset=%" PRIu64 ",root_owner=0:0", root->offset);
        snprintf(blocks, sizeof blocks, "%" PRIu64, root->size / 1024);
        snprintf(epoch_env, sizeof epoch_env, "E2FSPROGS_FAKE_TIME=%" PRIu64, epoch);
        snprintf(uuid, sizeof uuid, "%s", root->uuid_string);
        snprintf(hash_seed, sizeof hash_seed, "hash_seed=%s", root->uuid_string);
        char *mke2fs[] = { (char *) "mke2fs", (char *) "-q", (char *) "-F", (char *) "-t", (char *) "ext4", (char *) "-L",
                           (char *) "root", (char *) "-U", uuid, (char *) "-E", offset, (char *) "-d", (char *) rootdir,
                           (char *) image, blocks, NULL };
        char *env[] = { epoch_env, NULL };
        if (process_run_checked(mke2fs, env, "make the root filesystem", "e2fsprogs") < 0)
                return 1;

        if (!streq(bootloader, "none")) {
                _cleanup_free_ char *kernel = NULL, *initrd = NULL;
                if (bootloader_find_kernel(rootdir, &kernel, &initrd) < 0)
                        return 1;
                BootloaderOptions bo = { .type = bootloader_type_from_string(bootloader), .kernel = kernel,
                                         .initrd = no_initrd ? NULL : initrd, .cmdline = cmdline, .epoch = epoch };
                if (bootloader_install(image, l, &bo) < 0)
                        return 1;
        }
        printf("disk-guid %s\nroot-partuuid %s\n", l->disk_guid_string, root->uuid_string);
        return 0;
}
