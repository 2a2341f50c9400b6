#include "assemble.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "bootloader.h"
#include "digest.h"
#include "ext4.h"
#include "guest.h"
#include "log.h"
#include "strv.h"
#include "vfat.h"

#define SWAP_PAGE_SIZE 4096

static void derive(const uint8_t seed[32], const char *what, size_t index, uint8_t *ret, size_t n) {
        _cleanup_(digest_freep) Digest *d = digest_new();
        digest_update(d, seed, 32);
        digest_update_string(d, what);
        uint8_t idx[8];
        for (int i = 0; i < 8; i++)
                idx[i] = (uint8_t) ((uint64_t) index >> (8 * i));
        digest_update(d, idx, sizeof idx);
        uint8_t out[DIGEST_SIZE];
        digest_final(d, out);
        memcpy(ret, out, MIN(n, sizeof out));
}

static void uuid_v4(uint8_t u[16], char ret[37]) {
        u[6] = (u[6] & 0x0f) | 0x40;
        u[8] = (u[8] & 0x3f) | 0x80;
        sprintf(ret, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
                u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int parse_uuid(const char *s, uint8_t ret[16]) {
        uint8_t out[16];
        size_t n = 0;
        for (const char *p = s; *p; p++) {
                if (*p == '-')
                        continue;
                if (n >= 32 || !p[1])
                        return -EINVAL;
                unsigned v;
                if (sscanf(p, "%2x", &v) != 1)
                        return -EINVAL;
                out[n++ / 2] = (uint8_t) v;
                p++;
                n++;
        }
        if (n != 32)
                return -EINVAL;
        memcpy(ret, out, 16);
        return 0;
}

void assembly_bootloaders_free(AssemblyBootloader *l, size_t n) {
        for (size_t i = 0; l && i < n; i++)
                free(l[i].cmdline);
        free(l);
}

Assembly *assembly_free(Assembly *a) {
        if (!a)
                return NULL;
        assembly_bootloaders_free(a->bootloaders, a->n_bootloaders);
        disk_layout_free(a->layout);
        free(a->fs);
        free(a);
        return NULL;
}

int assembly_new(const Template *t, const AssemblyBootloader *bootloaders, size_t n_bootloaders, const uint8_t seed[32],
                 Assembly **ret) {
        const TemplateDisk *d = &t->disk;
        _cleanup_free_ PartitionSpec *specs = xcalloc(d->n_partitions, sizeof *specs);
        bool want_bios = false;
        for (size_t i = 0; i < n_bootloaders; i++)
                if (bootloaders[i].type != BOOTLOADER_SYSTEMD_BOOT)
                        want_bios = true;
        for (size_t i = 0; i < d->n_partitions; i++) {
                const TemplatePartition *p = d->partitions + i;
                specs[i] = (PartitionSpec) {
                        .label = p->label,
                        .type = p->type,
                        .size = p->size_rest ? PARTITION_SIZE_REST : p->size,
                        /* syslinux boots from the partition flagged legacy-BIOS-bootable: the ESP */
                        .legacy_bios_bootable = want_bios && p->type == PARTITION_ESP,
                        .grow_file_system = p->grow,
                };
        }
        _cleanup_(assembly_freep) Assembly *a = xcalloc(1, sizeof *a);
        a->template = t;
        a->bootloaders = xcalloc(n_bootloaders + 1, sizeof(AssemblyBootloader));
        for (size_t i = 0; i < n_bootloaders; i++) {
                a->bootloaders[i] = bootloaders[i];
                a->bootloaders[i].cmdline = bootloaders[i].cmdline ? xstrdup(bootloaders[i].cmdline) : NULL;
        }
        a->n_bootloaders = n_bootloaders;
        memcpy(a->seed, seed, 32);
        int r = disk_layout_new(d->table, d->size, specs, d->n_partitions, seed, &a->layout);
        if (r < 0)
                return template_error_at(t, d->pos, "the disk layout does not fit: %s", strerror(-r));

        a->fs = xcalloc(d->n_partitions, sizeof *a->fs);
        for (size_t i = 0; i < d->n_partitions; i++) {
                const TemplatePartition *p = d->partitions + i;
                AssemblyFs *fs = a->fs + i;
                derive(seed, "fs-uuid", i, fs->uuid_bytes, 16);
                derive(seed, "fs-hash-seed", i, fs->hash_seed, 16);
                if (p->uuid) {
                        if (parse_uuid(p->uuid, fs->uuid_bytes) < 0)
                                return template_error_at(t, p->uuid_pos, "'%s' is not a UUID", p->uuid);
                }
                if (p->fs == FS_VFAT) {
                        fs->vfat_id = (uint32_t) fs->uuid_bytes[0] << 24 | (uint32_t) fs->uuid_bytes[1] << 16 |
                                      (uint32_t) fs->uuid_bytes[2] << 8 | fs->uuid_bytes[3];
                        sprintf(fs->uuid, "%04X-%04X", fs->vfat_id >> 16, fs->vfat_id & 0xffff);
                } else if (p->fs == FS_EXT4 || p->fs == FS_SWAP || p->fs == FS_XFS) {
                        if (p->uuid) {
                                /* keep the user's UUID as given (normalised to lower case) */
                                snprintf(fs->uuid, sizeof fs->uuid, "%s", p->uuid);
                                for (char *c = fs->uuid; *c; c++)
                                        *c = (char) (*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
                        } else
                                uuid_v4(fs->uuid_bytes, fs->uuid);
                }
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int mount_depth(const char *m) {
        int n = 0;
        for (; *m; m++)
                n += *m == '/';
        return streq(m, "/") ? 0 : n;
}

char *assembly_fstab(const Assembly *a) {
        const TemplateDisk *d = &a->template->disk;
        /* Order by mount depth so parents mount before children; "/" first. */
        size_t n = d->n_partitions;
        _cleanup_free_ size_t *order = xcalloc(n, sizeof *order);
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                        const char *ma = d->partitions[order[j - 1]].mount, *mb = d->partitions[order[j]].mount;
                        int da = ma ? (streq(ma, "/") ? -1 : mount_depth(ma)) : 1000;
                        int db = mb ? (streq(mb, "/") ? -1 : mount_depth(mb)) : 1000;
                        if (da <= db)
                                break;
                        size_t tmp = order[j];
                        order[j] = order[j - 1];
                        order[j - 1] = tmp;
                }
        /* Grown per line: mount points have no length limit, a fixed buffer would overflow. */
        char *out = xstrdup("# /etc/fstab: generated by baker from the template's disk layout\n");
        for (size_t k = 0; k < n; k++) {
                size_t i = order[k];
                const TemplatePartition *p = d->partitions + i;
                const char *uuid = a->fs[i].uuid;
                _cleanup_free_ char *line = NULL;
                if (p->fs == FS_SWAP)
                        line = xasprintf("UUID=%s none swap sw 0 0\n", uuid);
                else if (p->mount && p->fs != FS_NONE) {
                        bool root = streq(p->mount, "/");
                        const char *opts = p->fs == FS_VFAT ? "umask=0077" : root ? "errors=remount-ro" : "defaults";
                        /* systemd-growfs grows it at boot when the partition was grown (the GPT
                         * attribute alone counts only for a root systemd found itself, not one in fstab) */
                        line = xasprintf("UUID=%s %s %s %s%s 0 %d\n", uuid, p->mount, fs_type_to_string(p->fs), opts,
                                         p->grow ? ",x-systemd.growfs" : "", root ? 1 : 2);
                }
                if (line) {
                        char *joined = xasprintf("%s%s", out, line);
                        free(out);
                        out = joined;
                }
        }
        return out;
}

/* Mount points of the other partitions below `mount`, relative to it ("boot/efi" below "/"). */
static char **excludes_below(const TemplateDisk *d, const char *mount) {
        char **ex = xcalloc(d->n_partitions + 1, sizeof(char *));
        size_t n = 0;
        size_t lm = streq(mount, "/") ? 0 : strlen(mount);
        for (size_t i = 0; i < d->n_partitions; i++) {
                const char *m = d->partitions[i].mount;
                if (!m || streq(m, mount))
                        continue;
                if (lm == 0)
                        ex[n++] = xstrdup(m + 1);
                else if (strncmp(m, mount, lm) == 0 && m[lm] == '/')
                        ex[n++] = xstrdup(m + lm + 1);
        }
        return ex;
}

static int write_vfat(const Assembly *a, size_t i, const Tree *tree, int64_t epoch, const char *raw) {
        const TemplatePartition *p = a->template->disk.partitions + i;
        const Partition *part = a->layout->partitions + i;
        const char *prefix = p->mount ? p->mount + 1 : NULL; /* "boot/efi" */
        size_t lp = prefix ? strlen(prefix) : 0, n = 0;
        VfatEntry *entries = xcalloc(tree_size(tree) + 1, sizeof *entries);
        int r = 0;
        for (size_t k = 0; prefix && k < tree_size(tree); k++) {
                const TreeEntry *e = tree_entry(tree, k);
                if (strncmp(e->path, prefix, lp) != 0 || e->path[lp] != '/')
                        continue;
                if (e->type != TREE_DIR && e->type != TREE_REG) {
                        log_warning("partition '%s': skipping '/%s': FAT holds only files and directories", p->label, e->path);
                        continue;
                }
                VfatEntry *v = entries + n++;
                v->path = xasprintf("%s", e->path + lp);
                v->is_dir = e->type == TREE_DIR;
                if (!v->is_dir) {
                        void *buf = xmalloc(e->size);
                        ssize_t got = tree_read(tree, e, 0, buf, e->size);
                        if (got < 0 || (uint64_t) got != e->size) {
                                r = log_error_errno(got < 0 ? (int) got : -EIO, "failed to read '/%s' from the tree: %m", e->path);
                                free(buf);
                                goto done;
                        }
                        v->data = buf;
                        v->size = e->size;
                }
        }
        /* Say by how much the files overflow before mcopy says only "Disk full". */
        uint64_t need = 0;
        for (size_t k = 0; k < n; k++)
                need += (entries[k].size + 4095) & ~UINT64_C(4095);
        if (need > part->size) {
                log_error("partition '%s' (%s): the files need %" PRIu64 " bytes but the partition is %" PRIu64
                          " bytes (%" PRIu64 " bytes short, FAT overhead not counted)",
                          p->label, p->mount, need, part->size, need - part->size);
                r = -ENOSPC;
                goto done;
        }
        VfatOptions vo = { .label = p->label, .volume_id = a->fs[i].vfat_id, .epoch = (uint64_t) epoch };
        r = vfat_write(raw, part->offset, part->size, &vo, entries, n);
        if (r < 0)
                log_error("partition '%s' (%s): failed to write the FAT filesystem (%" PRIu64 " bytes of files, "
                          "partition %" PRIu64 " bytes)", p->label, p->mount ? p->mount : "unmounted", need, part->size);
done:
        for (size_t k = 0; k < n; k++) {
                free((char *) entries[k].path);
                free((void *) entries[k].data);
        }
        free(entries);
        return r;
}

static int write_swap(const Assembly *a, size_t i, const char *raw) {
        const Partition *part = a->layout->partitions + i;
        uint8_t page[SWAP_PAGE_SIZE] = {};
        uint32_t version = 1, last_page = (uint32_t) (part->size / SWAP_PAGE_SIZE - 1);
        memcpy(page + 1024, &version, 4);
        memcpy(page + 1028, &last_page, 4);
        memcpy(page + 1036, a->fs[i].uuid_bytes, 16);
        snprintf((char *) page + 1052, 16, "%s", a->template->disk.partitions[i].label);
        memcpy(page + SWAP_PAGE_SIZE - 10, "SWAPSPACE2", 10);
        _cleanup_close_ int fd = open(raw, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || pwrite(fd, page, sizeof page, (off_t) part->offset) != (ssize_t) sizeof page)
                return log_error_errno(-errno, "partition '%s': failed to write the swap signature: %m",
                                       a->template->disk.partitions[i].label);
        return 0;
}

/* Copies a tree file out to a host temp file (kernel, initrd for the bootloader). */
static int extract(const Tree *tree, const TreeEntry *e, const char *scratch, char **ret_path) {
        _cleanup_free_ char *path = path_join(scratch, "boot-XXXXXX");
        _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (e->type == TREE_HARDLINK)
                e = tree_lookup(tree, e->link_target);
        uint8_t buf[1 << 16];
        for (uint64_t off = 0; e && off < e->size;) {
                ssize_t n = tree_read(tree, e, off, buf, sizeof buf);
                if (n <= 0 || write(fd, buf, (size_t) n) != n) {
                        unlink(path);
                        return n < 0 ? (int) n : -EIO;
                }
                off += (uint64_t) n;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* The newest /boot/vmlinuz-VERSION and its /boot/initrd.img-VERSION, following symlinks once. */
static const TreeEntry *find_kernel(const Tree *tree, const TreeEntry **ret_initrd) {
        const TreeEntry *best = NULL;
        for (size_t k = 0; k < tree_size(tree); k++) {
                const TreeEntry *e = tree_entry(tree, k);
                if (!startswith(e->path, "boot/vmlinuz-") || (e->type != TREE_REG && e->type != TREE_HARDLINK))
                        continue;
                if (!best || strverscmp(e->path, best->path) > 0)
                        best = e;
        }
        *ret_initrd = NULL;
        if (best) {
                _cleanup_free_ char *initrd = xasprintf("boot/initrd.img-%s", best->path + strlen("boot/vmlinuz-"));
                const TreeEntry *i = tree_lookup(tree, initrd);
                if (i && i->type == TREE_SYMLINK) {
                        _cleanup_free_ char *t = path_join("boot", i->link_target);
                        i = tree_lookup(tree, i->link_target[0] == '/' ? i->link_target : t);
                }
                *ret_initrd = i;
        }
        return best;
}

static int install_bootloader(const Assembly *a, const AssemblyBootloader *s, const Tree *tree, int64_t epoch,
                              const char *raw, const char *scratch) {
        const Template *t = a->template;
        const TreeEntry *initrd = NULL, *kernel = find_kernel(tree, &initrd);
        if (!kernel)
                return template_error_at(t, s->pos, "the image has no kernel: no /boot/vmlinuz-* after the steps");
        _cleanup_unlink_ char *kpath = NULL, *ipath = NULL;
        int r = extract(tree, kernel, scratch, &kpath);
        if (r >= 0 && initrd)
                r = extract(tree, initrd, scratch, &ipath);
        if (r < 0)
                return log_error_errno(r, "failed to extract the kernel from the tree: %m");
        BootloaderOptions bo = { .type = s->type, .kernel = kpath, .initrd = ipath, .cmdline = s->cmdline,
                                 .title = t->name, .epoch = (uint64_t) epoch };
        r = bootloader_install(raw, a->layout, &bo);
        if (r < 0)
                return template_error_at(t, s->pos, "failed to install the %s bootloader",
                                         bootloader_type_to_string(s->type));
        log_info("bootloader %s: kernel /%s%s%s", bootloader_type_to_string(s->type), kernel->path,
                 initrd ? ", initrd /" : "", initrd ? initrd->path : "");
        return 0;
}

/* xfs has no offline writer: one appliance launch makes every xfs partition (mkfs with the derived
 * UUID) and extracts its share of the tree into it. mkfs.xfs and the kernel's allocator are not
 * deterministic, so images with xfs partitions are not byte-reproducible. */
static int write_xfs(const Assembly *a, const Tree *tree, int64_t epoch, const char *raw, const char *scratch) {
        const TemplateDisk *d = &a->template->disk;
        _cleanup_free_ char *tar = path_join(scratch, "xfs-XXXXXX");
        _cleanup_close_ int fd = mkostemp(tar, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "failed to create a temporary file in '%s': %m", scratch);
        _cleanup_unlink_ char *unlink_tar = xstrdup(tar);
        log_info("launching the appliance to write xfs");
        _cleanup_(guest_closep) GuestSession *s = NULL;
        int r = guest_open(raw, &(GuestOptions) {}, &s);
        if (r < 0)
                return log_error_errno(r, "failed to launch the appliance to write xfs");
        for (size_t i = 0; i < d->n_partitions; i++) {
                const TemplatePartition *p = d->partitions + i;
                if (p->fs != FS_XFS)
                        continue;
                _cleanup_free_ char *dev = guest_device(s, 0, (unsigned) i + 1);
                if (!dev)
                        return log_error_errno(-ENODEV, "partition '%s': no device in the appliance", p->label);
                _cleanup_free_ char *label = xasprintf("%.12s", p->label); /* xfs labels hold 12 bytes */
                r = guest_mkfs(s, "xfs", dev, label, a->fs[i].uuid);
                if (r < 0)
                        return log_error_errno(r, "partition '%s': mkfs.xfs failed", p->label);
                if (!p->mount)
                        continue;
                char **ex = excludes_below(d, p->mount);
                r = tree_write_subtree(tree, streq(p->mount, "/") ? "" : p->mount + 1, (const char *const *) ex, tar, epoch);
                strv_free(ex);
                if (r >= 0)
                        r = guest_mount(s, dev, "/");
                if (r >= 0)
                        r = guest_tar_in(s, tar, "/");
                if (r >= 0)
                        r = guest_umount_all(s);
                if (r < 0)
                        return log_error_errno(r, "partition '%s' (%s): failed to write xfs: %m", p->label, p->mount);
                log_info("partition '%s' (%s): xfs written through the appliance", p->label, p->mount);
        }
        r = guest_shutdown(s);
        if (r < 0)
                return log_error_errno(r, "failed to finish writing xfs: %m");
        return 0;
}

int assembly_write(const Assembly *a, const Tree *tree, int64_t epoch, const char *raw, const char *scratch) {
        const Template *t = a->template;
        const TemplateDisk *d = &t->disk;
        _cleanup_close_ int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "failed to create '%s': %m", raw);
        int r = partition_table_write(a->layout, fd);
        if (r < 0)
                return log_error_errno(r, "failed to write the partition table: %m");
        if (close(TAKE_FD(fd)) < 0)
                return log_error_errno(-errno, "failed to write '%s': %m", raw);

        size_t n_xfs = 0;
        for (size_t i = 0; i < d->n_partitions; i++) {
                const TemplatePartition *p = d->partitions + i;
                const Partition *part = a->layout->partitions + i;
                switch (p->fs) {
                case FS_EXT4: {
                        char **ex = excludes_below(d, p->mount ? p->mount : "/");
                        Ext4Params ep = { .label = p->label, .epoch = epoch, .size_bytes = part->size, .journal = true };
                        memcpy(ep.uuid, a->fs[i].uuid_bytes, 16);
                        memcpy(ep.hash_seed, a->fs[i].hash_seed, 16);
                        /* An unmounted ext4 partition gets an empty filesystem. */
                        if (!p->mount) {
                                _cleanup_(tree_freep) Tree *empty = tree_new();
                                r = ext4_write(empty, "", (const char *const *) ex, raw, part->offset, &ep);
                        } else
                                r = ext4_write(tree, streq(p->mount, "/") ? "" : p->mount + 1, (const char *const *) ex, raw, part->offset, &ep);
                        strv_free(ex);
                        if (r < 0)
                                return template_error_at(t, p->pos, "partition '%s' (%s): failed to write ext4: %s",
                                                         p->label, p->mount ? p->mount : "unmounted",
                                                         r == -ENOSPC ? "the files do not fit (see above)" : strerror(-r));
                        break;
                }
                case FS_VFAT:
                        r = write_vfat(a, i, tree, epoch, raw);
                        if (r < 0)
                                return r;
                        break;
                case FS_SWAP:
                        r = write_swap(a, i, raw);
                        if (r < 0)
                                return r;
                        break;
                case FS_XFS:
                        n_xfs++;
                        break;
                case FS_NONE:
                default:
                        break;
                }
        }
        if (n_xfs > 0) {
                r = write_xfs(a, tree, epoch, raw, scratch);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < a->n_bootloaders; i++) {
                r = install_bootloader(a, a->bootloaders + i, tree, epoch, raw, scratch);
                if (r < 0)
                        return r;
        }
        return 0;
}

ManifestLayout *assembly_manifest_layout(const Assembly *a) {
        const DiskLayout *dl = a->layout;
        ManifestLayout *l = xcalloc(1, sizeof(*l));
        l->table = xstrdup(partition_table_type_to_string(dl->table));
        l->size = dl->disk_size;
        l->disk_guid = xstrdup(dl->table == PARTITION_TABLE_GPT ? dl->disk_guid_string : "");
        l->partitions = xcalloc(dl->n_partitions + 1, sizeof(ManifestPartition));
        for (size_t i = 0; i < dl->n_partitions; i++) {
                const Partition *p = dl->partitions + i;
                const TemplatePartition *tp = a->template->disk.partitions + i;
                l->partitions[i] = (ManifestPartition) {
                        .index = i + 1,
                        .label = xstrdup(p->label),
                        .type = xstrdup(partition_type_to_string(p->type)),
                        .offset = p->offset,
                        .size = p->size,
                        .partuuid = xstrdup(p->uuid_string),
                        .fs = xstrdup(fs_type_to_string(tp->fs)),
                        .fs_uuid = a->fs[i].uuid[0] ? xstrdup(a->fs[i].uuid) : NULL,
                        .mount = tp->mount ? xstrdup(tp->mount) : NULL,
                };
        }
        l->n_partitions = dl->n_partitions;
        return l;
}
