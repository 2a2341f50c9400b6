/* make-stamped-image: a small disk image built offline the way a bake finishes one (GPT, FAT ESP,
 * ext4 root holding the stamp and os-release), for tests of inspect and verify.
 *
 * usage: make-stamped-image IMAGE [--table gpt|mbr] [--epoch N]
 * The stamp is reached through a symlink (/usr/lib/baker -> /usr/share/baker-stamp) and
 * /etc/os-release is the usual symlink to ../usr/lib/os-release. */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>

#include "digest.h"
#include "ext4.h"
#include "log.h"
#include "partition.h"
#include "stamp.h"
#include "tree.h"
#include "vfat.h"

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "table", required_argument, NULL, 't' },
                { "epoch", required_argument, NULL, 'e' },
                {},
        };
        const char *table = "gpt";
        int64_t epoch = 1700000000;
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 't': table = optarg; break;
                case 'e': epoch = strtoll(optarg, NULL, 10); break;
                default: return 2;
                }
        }
        if (argc - optind != 1) {
                fprintf(stderr, "usage: make-stamped-image IMAGE [--table gpt|mbr] [--epoch N]\n");
                return 2;
        }
        const char *image = argv[optind];
        const char *bake_key = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

        _cleanup_(tree_freep) Tree *t = tree_new();
        json_t *inputs = json_pack("{s:s}", "base", "sha256:2222222222222222222222222222222222222222222222222222222222222222");
        _cleanup_free_ char *stamp = stamp_json("web", "1.4.0", bake_key, inputs);
        json_decref(inputs);
        _cleanup_free_ char *osr = stamp_os_release("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
                                                    "web", "1.4.0");
        if (tree_add_dir(t, "/", 0755, 0, 0, epoch) < 0 ||
            tree_add_file(t, "/usr/share/baker-stamp/stamp.json", stamp, strlen(stamp), 0644, 0, 0, epoch) < 0 ||
            tree_add_symlink(t, "/usr/lib/baker", "/usr/share/baker-stamp", 0, 0, epoch) < 0 ||
            tree_add_file(t, "/usr/lib/os-release", osr, strlen(osr), 0644, 0, 0, epoch) < 0 ||
            tree_add_symlink(t, "/etc/os-release", "../usr/lib/os-release", 0, 0, epoch) < 0)
                return 1;

        uint8_t seed[32];
        digest_buffer(bake_key, strlen(bake_key), seed);
        PartitionSpec specs[] = {
                { .label = "esp", .type = PARTITION_ESP, .size = 8 << 20, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_ROOT, .size = PARTITION_SIZE_REST },
        };
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        if (disk_layout_new(partition_table_type_from_string(table), 48 << 20, specs, 2, seed, &l) < 0)
                return 1;
        (void) unlink(image);
        _cleanup_close_ int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || partition_table_write(l, fd) < 0)
                return 1;
        VfatOptions vo = { .label = "ESP", .volume_id = 0x1234abcd, .epoch = (uint64_t) epoch };
        VfatEntry ve[] = { { .path = "/loader/loader.conf", .data = "timeout 0\n", .size = 10 } };
        if (vfat_write(image, l->partitions[0].offset, l->partitions[0].size, &vo, ve, 1) < 0)
                return 1;
        Ext4Params p = { .label = "root", .epoch = epoch, .size_bytes = l->partitions[1].size, .journal = true };
        memcpy(p.uuid, seed, 16);
        memcpy(p.hash_seed, seed + 16, 16);
        p.uuid[6] = (p.uuid[6] & 0x0f) | 0x40;
        p.uuid[8] = (p.uuid[8] & 0x3f) | 0x80;
        if (ext4_write(t, "", NULL, image, l->partitions[1].offset, &p) < 0)
                return 1;
        return 0;
}
