/* ext4 read-back: a Tree with every kind of entry (the test rootfs, plus nanosecond mtimes, a default
 * ACL, a socket, a sparse file, a multi-megabyte file, hardlink groups, a security.selinux label) is
 * written with ext4_write and read back with ext4_read_tree; every entry must come back field by field
 * and byte by byte, and tree_write of both must give the same tar. Also: a filesystem at an offset,
 * and a refusal for one whose journal needs recovery. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "ext4-read.h"
#include "ext4.h"
#include "guest.h"
#include "log.h"
#include "tree.h"
#include "util.h"
#include "test-lib.h"

static const Ext4Params params = {
        .uuid = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00 },
        .hash_seed = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
        .label = "root",
        .epoch = 2000000000, /* above every mtime here: nanoseconds must survive */
        .size_bytes = 64 << 20,
        .journal = true,
};

static void compare_data(const Tree *a, const TreeEntry *ea, const Tree *b, const TreeEntry *eb) {
        static char ba[1 << 16], bb[1 << 16];
        for (uint64_t off = 0; off < ea->size; off += sizeof(ba)) {
                ssize_t na = tree_read(a, ea, off, ba, sizeof(ba)), nb = tree_read(b, eb, off, bb, sizeof(bb));
                assert_se(na > 0 && na == nb);
                if (memcmp(ba, bb, (size_t) na) != 0) {
                        fprintf(stderr, "'%s': data differs near offset %llu\n", ea->path, (unsigned long long) off);
                        abort();
                }
        }
}

static void compare_trees(const Tree *want, const Tree *got) {
        size_t n = tree_size(want);
        if (tree_size(got) != n) {
                for (size_t i = 0; i < MAX(n, tree_size(got)); i++)
                        fprintf(stderr, "%-40s %s\n", i < n ? tree_entry(want, i)->path : "",
                                i < tree_size(got) ? tree_entry(got, i)->path : "");
                fprintf(stderr, "want %zu entries, got %zu\n", n, tree_size(got));
                abort();
        }
        size_t hardlinks = 0, xattrs = 0, regs = 0;
        for (size_t i = 0; i < n; i++) {
                const TreeEntry *a = tree_entry(want, i), *b = tree_entry(got, i);
                bool ok = streq(a->path, b->path) && a->type == b->type && a->mode == b->mode && a->uid == b->uid &&
                          a->gid == b->gid && a->size == b->size && a->mtime_sec == b->mtime_sec &&
                          a->mtime_nsec == b->mtime_nsec && a->rdev == b->rdev &&
                          streq_ptr(a->link_target, b->link_target) && a->n_xattrs == b->n_xattrs;
                for (size_t k = 0; ok && k < a->n_xattrs; k++)
                        ok = streq(a->xattrs[k].name, b->xattrs[k].name) && a->xattrs[k].size == b->xattrs[k].size &&
                             memcmp(a->xattrs[k].value, b->xattrs[k].value, a->xattrs[k].size) == 0;
                if (!ok) {
                        fprintf(stderr, "entry %zu differs:\n", i);
                        for (int s = 0; s < 2; s++) {
                                const TreeEntry *e = s ? b : a;
                                fprintf(stderr, " %s '%s' %s mode %o %u:%u size %llu mtime %lld.%09u rdev %llx link '%s' xattrs",
                                        s ? "got " : "want", e->path, tree_entry_type_to_string(e->type), e->mode, e->uid,
                                        e->gid, (unsigned long long) e->size, (long long) e->mtime_sec, e->mtime_nsec,
                                        (unsigned long long) e->rdev, e->link_target ? e->link_target : "");
                                for (size_t k = 0; k < e->n_xattrs; k++)
                                        fprintf(stderr, " %s(%zu)", e->xattrs[k].name, e->xattrs[k].size);
                                fputc('\n', stderr);
                        }
                        abort();
                }
                hardlinks += a->type == TREE_HARDLINK;
                xattrs += a->n_xattrs;
                if (a->type == TREE_REG) {
                        regs++;
                        compare_data(want, a, got, b);
                }
        }
        assert_se(hardlinks >= 3 && xattrs >= 5 && regs > 30);
}

/* Host files the tree copies with their nanosecond mtimes; a socket it must not get back. */
static void make_host_dir(const char *dir) {
        assert_se(mkdir(dir, 0755) == 0);
        _cleanup_free_ char *f = path_join(dir, "nsec"), *big = path_join(dir, "big"), *sparse = path_join(dir, "sparse");
        assert_se(write_file_atomic(f, "nsec\n", 5, 0640) >= 0);
        struct timespec ts[2] = { { 1650000000, 123456789 }, { 1650000000, 123456789 } };
        assert_se(utimensat(AT_FDCWD, f, ts, 0) == 0);
        /* 5 MiB of non-repeating bytes: several data chunks and extents */
        _cleanup_free_ uint8_t *buf = xmalloc(5 << 20);
        uint32_t x = 1;
        for (size_t i = 0; i < (5 << 20); i++) {
                x = x * 1103515245 + 12345;
                buf[i] = (uint8_t) (x >> 16);
        }
        assert_se(write_file_atomic(big, buf, 5 << 20, 0644) >= 0);
        int fd = open(sparse, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        assert_se(fd >= 0);
        assert_se(pwrite(fd, "tail", 4, 3 << 20) == 4);
        close(fd);
        ts[1].tv_nsec = 999999999;
        assert_se(utimensat(AT_FDCWD, sparse, ts, 0) == 0);
}

/* The reason this module exists: after run steps, reading the scratch disk offline must give the Tree
 * that tar-out through the appliance gives. Files the kernel wrote (inherited ACLs, sparse files,
 * hardlinks, devices, slow symlinks, nanosecond mtimes) are compared too. One appliance launch;
 * skipped (returns false) when there is no busybox for the scripts or no appliance. */
static bool check_against_appliance(Tree *t, const char *img) {
        if (access("/bin/busybox", X_OK) < 0)
                return false;
        setenv("LIBGUESTFS_BACKEND", "direct", 0);
        assert_se(tree_add_host_path(t, "/bin/busybox", "/usr/bin/busybox", 0, 0) >= 0);
        FILE *f = popen("/bin/busybox --list", "r");
        char applet[256];
        while (f && fgets(applet, sizeof(applet), f)) {
                applet[strcspn(applet, "\n")] = 0;
                _cleanup_free_ char *p = path_join("usr/bin", applet);
                if (!tree_lookup(t, p))
                        assert_se(tree_add_symlink(t, p, "busybox", 0, 0, 1600000000) >= 0);
        }
        if (f)
                pclose(f);
        assert_se(ext4_write(t, "", NULL, img, 0, &(Ext4Params) { .label = "root", .epoch = params.epoch,
                                                               .size_bytes = 256 << 20, .journal = true }) >= 0);
        _cleanup_(guest_closep) GuestSession *s = NULL;
        if (guest_open(img, &(GuestOptions) { .memory_mb = 512 }, &s) < 0) {
                fprintf(stderr, "the appliance could not be launched: skipping the comparison with tar-out\n");
                return false;
        }
        _cleanup_free_ char *dev = guest_device(s, 0, 0);
        assert_se(guest_mount(s, dev, "/") >= 0);
        const char *script =
                "set -e; B=/usr/bin/busybox; cd /srv\n"
                "echo new >new-file; $B ln new-file 0-link; $B ln new-file shared/z-link\n"
                "echo inherit >shared/inherit; $B mkdir shared/sub\n" /* inherited ACLs, written by the kernel */
                "$B mknod node c 10 200; $B mknod blk b 259 1048575; $B mkfifo fifo\n"
                "$B dd if=/dev/zero of=sparse bs=1 count=1 seek=5000000 2>/dev/null\n"
                "$B head -c 3000000 /dev/urandom >rand; $B chown 1234:5678 rand; $B chmod 4751 rand\n"
                "$B ln -s $($B head -c 200 /dev/zero | $B tr '\\0' x) slow-link\n"
                "$B touch -d '2001-02-03 04:05:06' old; $B rm /etc/hostname /usr/bin/mm-tool\n";
        int status = 0;
        assert_se(guest_run(s, "change", script, NULL, NULL, NULL, &status) >= 0 && status == 0);
        _cleanup_free_ char *tar = xasprintf("%s.tar", img);
        double t0 = test_now();
        assert_se(guest_tar_out(s, "/", tar) >= 0);
        _cleanup_(tree_freep) Tree *want = NULL;
        assert_se(tree_load(tar, &want) >= 0);
        double t_tar = test_now() - t0;
        tree_clamp_times(want, params.epoch);
        (void) tree_remove(want, "lost+found", true);
        /* While the appliance runs, a frozen root is read offline the same (bake does this between
         * run steps); the clean shutdown below needs the thaw to have worked. Compared with times clamped to an
         * epoch before the run, as every bake does: in one run of many the root directory's mtime
         * read from the frozen disk was 2 s newer than tar-out's, which this test does not judge. */
        assert_se(guest_freeze(s, "/", true) >= 0);
        _cleanup_(tree_freep) Tree *frozen = NULL;
        assert_se(ext4_read_tree(img, 0, &frozen) >= 0);
        assert_se(guest_freeze(s, "/", false) >= 0);
        {
                _cleanup_(tree_freep) Tree *w2 = NULL;
                assert_se(tree_load(tar, &w2) >= 0);
                (void) tree_remove(w2, "lost+found", true);
                tree_clamp_times(w2, 1700000000);
                tree_clamp_times(frozen, 1700000000);
                compare_trees(w2, frozen);
        }
        assert_se(guest_shutdown(s) >= 0);
        s = guest_close(s);
        t0 = test_now();
        _cleanup_(tree_freep) Tree *got = NULL;
        assert_se(ext4_read_tree(img, 0, &got) >= 0);
        double t_read = test_now() - t0;
        tree_clamp_times(got, params.epoch);
        assert_se(tree_lookup(got, "srv/shared/inherit") && tree_lookup(got, "srv/shared/inherit")->n_xattrs == 1);
        compare_trees(want, got);
        _cleanup_free_ char *ta = xasprintf("%s.a", tar), *tb = xasprintf("%s.b", tar);
        assert_se(tree_write(want, ta, params.epoch) >= 0 && tree_write(got, tb, params.epoch) >= 0);
        size_t na, nb;
        _cleanup_free_ char *a = test_read_file(ta, &na), *b = test_read_file(tb, &nb);
        assert_se(na == nb && memcmp(a, b, na) == 0);
        printf("tar-out + tree_load: %.2f s, ext4_read_tree: %.2f s (%zu entries)\n", t_tar, t_read, tree_size(got));
        return true;
}

int main(void) {
        if (!test_sh_ok("python3 -c 'import tarfile'"))
                test_skip("python3 missing");
        _cleanup_free_ char *tgz = test_path("rootfs.tar.gz"), *json = test_path("rootfs.json"), *img = test_path("a.img"), *host = test_path("host"),
                            *disk = test_path("disk.img"), *ta = test_path("want.tar"), *tb = test_path("got.tar");
        test_make_rootfs(tgz, json);
        make_host_dir(host);

        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tgz, "", 0) >= 0);
        assert_se(tree_add_host_path(t, host, "/srv/host", -1, -1) >= 0);
        /* A default ACL (kernel xattr format, version 2) and an access ACL with two named entries. */
        const uint8_t dacl[] = { 2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 5, 0, 0xe8, 3, 0, 0,
                                 4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, 0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
                                 0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
        assert_se(tree_add_dir(t, "/srv/shared", 02775, 0, 100, 1600000000) >= 0);
        assert_se(tree_set_xattr(t, "/srv/shared", "system.posix_acl_default", dacl, sizeof(dacl)) >= 0);
        const uint8_t aacl[] = { 2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 6, 0, 0xe8, 3, 0, 0,
                                 2, 0, 4, 0, 0xe9, 3, 0, 0, 4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
                                 8, 0, 4, 0, 100, 0, 0, 0, 0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
                                 0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
        assert_se(tree_add_file(t, "/srv/shared/acl2", "a\n", 2, 0640, 0, 0, 1600000000) >= 0);
        assert_se(tree_set_xattr(t, "/srv/shared/acl2", "system.posix_acl_access", aacl, sizeof(aacl)) >= 0);
        assert_se(tree_set_xattr(t, "/srv/shared/acl2", "security.selinux", "system_u:object_r:etc_t:s0", 27) >= 0);
        assert_se(tree_set_xattr(t, "/srv/shared/acl2", "trusted.big", (char[3000]) { 7 }, 3000) >= 0);
        /* A second hardlink group, and entries through tree_add_entry: nanoseconds, a socket. */
        TreeEntry e = { .path = "srv/links/b", .type = TREE_REG, .mode = 0600, .uid = 5, .gid = 6, .size = 0,
                        .mtime_sec = 1500000000, .mtime_nsec = 42 };
        assert_se(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "srv/links/a", .type = TREE_HARDLINK, .link_target = "srv/links/b" };
        assert_se(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "srv/links/c", .type = TREE_HARDLINK, .link_target = "/srv/links/b" };
        assert_se(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "srv/zeros", .type = TREE_REG, .mode = 0644, .size = 70000, .mtime_sec = 1 };
        assert_se(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "run/sock", .type = TREE_SOCK, .mode = 0755, .mtime_sec = 1600000000 };
        assert_se(tree_add_entry(t, &e, NULL, NULL) >= 0);
        assert_se(tree_lookup(t, "/srv/links/a")->type == TREE_REG); /* canonical: the smallest path holds the data */

        assert_se(ext4_write(t, "", NULL, img, 0, &params) >= 0);
        _cleanup_(tree_freep) Tree *got = NULL;
        assert_se(ext4_read_tree(img, 0, &got) >= 0);
        assert_se(!tree_lookup(got, "lost+found"));
        assert_se(!tree_lookup(got, "run/sock"));
        assert_se(tree_lookup(got, "srv/host/nsec")->mtime_nsec == 123456789);

        /* What tar-out would give: no socket; ext4_write clamps to the epoch like the bake does. */
        assert_se(tree_remove(t, "run/sock", false) >= 0);
        tree_clamp_times(t, params.epoch);
        compare_trees(t, got);
        assert_se(tree_write(t, ta, params.epoch) >= 0);
        assert_se(tree_write(got, tb, params.epoch) >= 0);
        size_t na, nb;
        _cleanup_free_ char *a = test_read_file(ta, &na), *b = test_read_file(tb, &nb);
        assert_se(na == nb && memcmp(a, b, na) == 0);

        /* At an offset inside a disk image. */
        assert_se(ext4_write(t, "", NULL, disk, 1 << 20, &params) >= 0);
        _cleanup_(tree_freep) Tree *got2 = NULL;
        assert_se(ext4_read_tree(disk, 1 << 20, &got2) >= 0);
        compare_trees(t, got2);

        /* A filesystem whose journal needs recovery is refused, not read half-written. */
        _cleanup_free_ char *dirty = xasprintf("debugfs -w -R 'feature needs_recovery' %s >/dev/null 2>&1", img);
        if (system(dirty) == 0) {
                Tree *x = NULL;
                assert_se(ext4_read_tree(img, 0, &x) == -EUCLEAN && !x);
        }
        Tree *x = NULL;
        assert_se(ext4_read_tree(ta, 0, &x) < 0 && !x); /* not ext4 */

        _cleanup_free_ char *gimg = test_path("guest.img");
        (void) check_against_appliance(t, gimg);
        return 0;
}
