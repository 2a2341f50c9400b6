/* make-stamped-image: a small disk image built offline the way a bake finishes one (GPT, FAT ESP,
 * ext4 root holding the stamp and os-release), for tests of inspect and verify.
 *
 * usage: make-stamped-image IMAGE [--table gpt|mbr] [--epoch N] [--size MIB] [--add HOSTPATH:DEST]
 *                           [--file PATH=CONTENT]
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
                { "size", required_argument, NULL, 's' },
                { "add", required_argument, NULL, 'a' },
                { "file", required_argument, NULL, 'f' },
                {},
        };
        const char *table = "gpt";
        int64_t epoch = 1700000000;
        uint64_t size_mib = 48;
        const char *adds[8], *file = NULL;
        size_t n_adds = 0;
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 't': table = optarg; break;
                case 'e': epoch = strtoll(optarg, NULL, 10); break;
                case 's': size_mib = strtoull(optarg, NULL, 10); break;
                case 'a':
                        if (n_adds == ELEMENTSOF(adds))
                                return 2;
                        adds[n_adds++] = optarg;
                        break;
                case 'f': file = optarg; break;
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
        for (size_t i = 0; i < n_adds; i++) {
                const char *add = adds[i];
                _cleanup_free_ char *host = xstrndup(add, strcspn(add, ":"));
                if (!strchr(add, ':') || tree_add_host_path(t, host, strchr(add, ':') + 1, 0, 0) < 0)
                        return 1;
        }
        if (file) {
                _cleanup_free_ char *path = xstrndup(file, strcspn(file, "="));
                const char *content = strchr(file, '=') ? strchr(file, '=') + 1 : "";
                if (tree_add_file(t, path, content, strlen(content), 0644, 0, 0, epoch) < 0)
                        return 1;
        }
        if (tree_clamp_times(t, epoch) < 0)
                return 1;

        uint8_t seed[32];
        digest_buffer(bake_key, strlen(bake_key), seed);
        PartitionSpec specs[] = {
                { .label = "esp", .type = PARTITION_ESP, .size = 8 << 20, .legacy_bios_bootable = true },
                { .label = "root", .type = PARTITION_ROOT, .size = PARTITION_SIZE_REST },
        };
        _cleanup_(disk_layout_freep) DiskLayout *l = NULL;
        if (disk_layout_new(partition_table_type_from_string(table), size_mib << 20, specs, 2, seed, &l) < 0)
                return 1;
        (void) unlink(image);
        _cleanup_close_ int fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || partition_table_write(l, fd) < 0)
                return 1;
        /* The ESP is made in a file of its own size and copied in: mkfs.vfat takes its geometry from
         * the size of the whole file, which fails for a small ESP on a big disk. */
        VfatOptions vo = { .label = "ESP", .volume_id = 0x1234abcd, .epoch = (uint64_t) epoch };
        VfatEntry ve[] = { { .path = "/loader/loader.conf", .data = "timeout 0\n", .size = 10 } };
        _cleanup_free_ char *esp = xasprintf("%s.esp", image);
        _cleanup_close_ int efd = open(esp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (efd < 0 || ftruncate(efd, (off_t) l->partitions[0].size) < 0)
                return 1;
        if (vfat_write(esp, 0, l->partitions[0].size, &vo, ve, 1) < 0)
                return 1;
        _cleanup_free_ char *data = NULL;
        size_t n;
        if (read_full_file(esp, &data, &n) < 0 || pwrite(fd, data, n, (off_t) l->partitions[0].offset) != (ssize_t) n)
                return 1;
        (void) unlink(esp);
        Ext4Params p = { .label = "root", .epoch = epoch, .size_bytes = l->partitions[1].size, .journal = true };
        memcpy(p.uuid, seed, 16);
        memcpy(p.hash_seed, seed + 16, 16);
        p.uuid[6] = (p.uuid[6] & 0x0f) | 0x40;
        p.uuid[8] = (p.uuid[8] & 0x3f) | 0x80;
        if (ext4_write(t, "", NULL, image, l->partitions[1].offset, &p) < 0)
                return 1;
        return 0;
}
