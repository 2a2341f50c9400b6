/* ext4 read-back: a Tree with every kind of entry (the test rootfs, plus nanosecond mtimes, a default
 * ACL, a socket, a sparse file, a multi-megabyte file, hardlink groups, a security.selinux label) is
 * written with ext4_write and read back with ext4_read_tree; every entry must come back field by field
 * and byte by byte, and tree_write of both must give the same tar. Also: a filesystem at an offset,
 * and a refusal for one whose journal needs recovery. */
#include <assert.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ext4-read.h"
#include "ext4.h"
#include "log.h"
#include "tree.h"
#include "util.h"

static char scratch[] = "/var/tmp/test-ext4-read-XXXXXX";

static char *sp(const char *name) {
        return path_join(scratch, name);
}

static const Ext4Params params = {
        .uuid = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00 },
        .hash_seed = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
        .label = "root",
        .epoch = 2000000000, /* above every mtime here: nanoseconds must survive */
        .size_bytes = 64 << 20,
        .journal = true,
};

static char *slurp(const char *path, size_t *ret_n) {
        char *s = NULL;
        assert(read_full_file(path, &s, ret_n) >= 0);
        return s;
}

static void compare_data(const Tree *a, const TreeEntry *ea, const Tree *b, const TreeEntry *eb) {
        static char ba[1 << 16], bb[1 << 16];
        for (uint64_t off = 0; off < ea->size; off += sizeof(ba)) {
                ssize_t na = tree_read(a, ea, off, ba, sizeof(ba)), nb = tree_read(b, eb, off, bb, sizeof(bb));
                assert(na > 0 && na == nb);
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
        assert(hardlinks >= 3 && xattrs >= 5 && regs > 30);
}

/* Host files the tree copies with their nanosecond mtimes; a socket it must not get back. */
static void make_host_dir(const char *dir) {
        assert(mkdir(dir, 0755) == 0);
        _cleanup_free_ char *f = path_join(dir, "nsec"), *big = path_join(dir, "big"), *sparse = path_join(dir, "sparse");
        assert(write_file_atomic(f, "nsec\n", 5, 0640) >= 0);
        struct timespec ts[2] = { { 1650000000, 123456789 }, { 1650000000, 123456789 } };
        assert(utimensat(AT_FDCWD, f, ts, 0) == 0);
        /* 5 MiB of non-repeating bytes: several data chunks and extents */
        _cleanup_free_ uint8_t *buf = xmalloc(5 << 20);
        uint32_t x = 1;
        for (size_t i = 0; i < (5 << 20); i++) {
                x = x * 1103515245 + 12345;
                buf[i] = (uint8_t) (x >> 16);
        }
        assert(write_file_atomic(big, buf, 5 << 20, 0644) >= 0);
        int fd = open(sparse, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        assert(fd >= 0);
        assert(pwrite(fd, "tail", 4, 3 << 20) == 4);
        close(fd);
        ts[1].tv_nsec = 999999999;
        assert(utimensat(AT_FDCWD, sparse, ts, 0) == 0);
}

int main(void) {
        if (system("python3 -c 'import tarfile'") != 0)
                return 77;
        assert(mkdtemp(scratch));
        _cleanup_free_ char *tgz = sp("rootfs.tar.gz"), *json = sp("rootfs.json"), *img = sp("a.img"), *host = sp("host"),
                            *disk = sp("disk.img"), *ta = sp("want.tar"), *tb = sp("got.tar");
        _cleanup_free_ char *cmd = xasprintf("python3 %s/integration/make-test-rootfs.py %s %s", TESTS_DIR, tgz, json);
        assert(system(cmd) == 0);
        make_host_dir(host);

        _cleanup_(tree_freep) Tree *t = tree_new();
        assert(tree_add_archive(t, tgz, "") >= 0);
        assert(tree_add_host_path(t, host, "/srv/host", -1, -1) >= 0);
        /* A default ACL (kernel xattr format, version 2) and an access ACL with two named entries. */
        const uint8_t dacl[] = { 2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 5, 0, 0xe8, 3, 0, 0,
                                 4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, 0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
                                 0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
        assert(tree_add_dir(t, "/srv/shared", 02775, 0, 100, 1600000000) >= 0);
        assert(tree_set_xattr(t, "/srv/shared", "system.posix_acl_default", dacl, sizeof(dacl)) >= 0);
        const uint8_t aacl[] = { 2, 0, 0, 0, 1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 6, 0, 0xe8, 3, 0, 0,
                                 2, 0, 4, 0, 0xe9, 3, 0, 0, 4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
                                 8, 0, 4, 0, 100, 0, 0, 0, 0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
                                 0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
        assert(tree_add_file(t, "/srv/shared/acl2", "a\n", 2, 0660, 0, 0, 1600000000) >= 0);
        assert(tree_set_xattr(t, "/srv/shared/acl2", "system.posix_acl_access", aacl, sizeof(aacl)) >= 0);
        assert(tree_set_xattr(t, "/srv/shared/acl2", "security.selinux", "system_u:object_r:etc_t:s0", 27) >= 0);
        assert(tree_set_xattr(t, "/srv/shared/acl2", "trusted.big", (char[3000]) { 7 }, 3000) >= 0);
        /* A second hardlink group, and entries through tree_add_entry: nanoseconds, a socket. */
        TreeEntry e = { .path = "srv/links/b", .type = TREE_REG, .mode = 0600, .uid = 5, .gid = 6, .size = 0,
                        .mtime_sec = 1500000000, .mtime_nsec = 42 };
        assert(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "srv/links/a", .type = TREE_HARDLINK, .link_target = "srv/links/b" };
        assert(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "srv/links/c", .type = TREE_HARDLINK, .link_target = "/srv/links/b" };
        assert(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "srv/zeros", .type = TREE_REG, .mode = 0644, .size = 70000, .mtime_sec = 1 };
        assert(tree_add_entry(t, &e, NULL, NULL) >= 0);
        e = (TreeEntry) { .path = "run/sock", .type = TREE_SOCK, .mode = 0755, .mtime_sec = 1600000000 };
        assert(tree_add_entry(t, &e, NULL, NULL) >= 0);
        assert(tree_lookup(t, "/srv/links/a")->type == TREE_REG); /* canonical: the smallest path holds the data */

        assert(ext4_write(t, "", NULL, img, 0, &params) >= 0);
        _cleanup_(tree_freep) Tree *got = NULL;
        assert(ext4_read_tree(img, 0, &got) >= 0);
        assert(!tree_lookup(got, "lost+found"));
        assert(!tree_lookup(got, "run/sock"));
        assert(tree_lookup(got, "srv/host/nsec")->mtime_nsec == 123456789);

        /* What tar-out would give: no socket; ext4_write clamps to the epoch like the bake does. */
        assert(tree_remove(t, "run/sock", false) >= 0);
        tree_clamp_times(t, params.epoch);
        compare_trees(t, got);
        assert(tree_write(t, ta, params.epoch) >= 0);
        assert(tree_write(got, tb, params.epoch) >= 0);
        size_t na, nb;
        _cleanup_free_ char *a = slurp(ta, &na), *b = slurp(tb, &nb);
        assert(na == nb && memcmp(a, b, na) == 0);

        /* At an offset inside a disk image. */
        assert(ext4_write(t, "", NULL, disk, 1 << 20, &params) >= 0);
        _cleanup_(tree_freep) Tree *got2 = NULL;
        assert(ext4_read_tree(disk, 1 << 20, &got2) >= 0);
        compare_trees(t, got2);

        /* A filesystem whose journal needs recovery is refused, not read half-written. */
        _cleanup_free_ char *dirty = xasprintf("debugfs -w -R 'feature needs_recovery' %s >/dev/null 2>&1", img);
        if (system(dirty) == 0) {
                Tree *x = NULL;
                assert(ext4_read_tree(img, 0, &x) == -EUCLEAN && !x);
        }
        Tree *x = NULL;
        assert(ext4_read_tree(ta, 0, &x) < 0 && !x); /* not ext4 */

        rm_rf(scratch);
        return 0;
}
