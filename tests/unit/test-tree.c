/* Tree: archives in, edits, normalised tar out and back in without copying. */
#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "log.h"
#include "tree.h"
#include "util.h"

static char scratch[] = "/var/tmp/test-tree-XXXXXX";

static char *sp(const char *name) {
        return path_join(scratch, name);
}

static int make_rootfs(const char *tar) {
        _cleanup_free_ char *json = sp("rootfs.json");
        _cleanup_free_ char *cmd = xasprintf("python3 %s/integration/make-test-rootfs.py %s %s", TESTS_DIR, tar, json);
        return system(cmd) == 0 ? 0 : -1;
}

static void write_bytes(const char *path, const void *data, size_t n) {
        assert(write_file_atomic(path, data, n, 0644) >= 0);
}

static char *read_entry(const Tree *t, const char *path) {
        const TreeEntry *e = tree_lookup(t, path);
        assert(e);
        char *buf = xcalloc(1, e->size + 1);
        assert(tree_read(t, e, 0, buf, e->size) == (ssize_t) e->size);
        return buf;
}

static void test_rootfs_roundtrip(void) {
        _cleanup_free_ char *tgz = sp("rootfs.tar.gz"), *out1 = sp("out1.tar"), *out2 = sp("out2.tar");
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert(tree_add_archive(t, tgz, "") >= 0);
        const TreeEntry *e = tree_lookup(t, "/usr/bin/su");
        assert(e && e->type == TREE_REG && e->mode == 04755);
        e = tree_lookup(t, "usr/bin/wall");
        assert(e && e->mode == 02755 && e->gid == 5);
        e = tree_lookup(t, "tmp");
        assert(e && e->type == TREE_DIR && e->mode == 01777);
        e = tree_lookup(t, "usr/bin/ping");
        assert(e && e->n_xattrs == 1 && streq(e->xattrs[0].name, "security.capability") && e->xattrs[0].size == 20);
        e = tree_lookup(t, "usr/share/acl-file");
        assert(e && e->n_xattrs == 1 && streq(e->xattrs[0].name, "system.posix_acl_access") && e->xattrs[0].size == 4 + 5 * 8);
        e = tree_lookup(t, "dev/big");
        assert(e && e->type == TREE_CHR && major(e->rdev) == 300 && minor(e->rdev) == 70000);
        e = tree_lookup(t, "run/initctl");
        assert(e && e->type == TREE_FIFO);
        e = tree_lookup(t, "bin");
        assert(e && e->type == TREE_SYMLINK && streq(e->link_target, "usr/bin"));
        /* hardlinks: canonical holder is the smallest path */
        assert(tree_size(t) > 0);
        e = tree_lookup(t, "usr/bin/aa-tool");
        assert(e && e->type == TREE_REG && e->size == 10);
        e = tree_lookup(t, "usr/bin/zz-tool");
        assert(e && e->type == TREE_HARDLINK && streq(e->link_target, "usr/bin/aa-tool"));
        _cleanup_free_ char *data = read_entry(t, "usr/bin/zz-tool");
        assert(streq(data, "tool data\n"));
        assert(tree_data_bytes(t, "usr/share") == 3200000 + 200003 + 4 + 2 + 0 + 10);

        /* sorted order */
        for (size_t i = 1; i < tree_size(t); i++)
                assert(strcmp(tree_entry(t, i - 1)->path, tree_entry(t, i)->path) < 0);
        assert(streq(tree_entry(t, 0)->path, ""));

        /* same Tree, same bytes; reload indexes in place and writes the same bytes again */
        assert(tree_write(t, out1, 1600000000) >= 0);
        _cleanup_(tree_freep) Tree *t2 = NULL;
        assert(tree_load(out1, &t2) >= 0);
        assert(tree_size(t2) == tree_size(t));
        assert(tree_write(t2, out2, 1600000000) >= 0);
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t na, nb;
        assert(read_full_file(out1, &a, &na) >= 0 && read_full_file(out2, &b, &nb) >= 0);
        assert(na == nb && memcmp(a, b, na) == 0);
        e = tree_lookup(t2, "usr/share/user-xattr");
        assert(e && e->n_xattrs == 1 && e->xattrs[0].size == 15 && memcmp(e->xattrs[0].value, "hello \0\xff binary", 15) == 0);
        _cleanup_free_ char *big1 = read_entry(t, "usr/share/big.bin"), *big2 = read_entry(t2, "usr/share/big.bin");
        assert(memcmp(big1, big2, 3200000) == 0);
        /* the loaded tree holds the data in the tar, not a copy: GNU tar and libarchive read it too */
        _cleanup_free_ char *cmd = xasprintf("tar -tf %s >/dev/null", out1);
        assert(system(cmd) == 0);

        /* clamping: epoch older than the entries */
        assert(tree_clamp_times(t2, 1000) >= 0);
        assert(tree_lookup(t2, "etc/passwd")->mtime_sec == 1000);
}

static void test_edits(void) {
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert(tree_add_file(t, "/etc/motd", "hi\n", 3, 0644, 0, 0, 5) >= 0);
        const TreeEntry *e = tree_lookup(t, "etc");
        assert(e && e->type == TREE_DIR && e->mode == 0755 && e->uid == 0);
        assert(tree_add_file(t, "etc/motd/x", "", 0, 0644, 0, 0, 5) == -ENOTDIR);
        assert(tree_add_file(t, "../x", "", 0, 0644, 0, 0, 5) < 0);
        assert(tree_remove(t, "etc", false) == -ENOTEMPTY);
        assert(tree_remove(t, "nope", false) == -ENOENT);
        assert(tree_add_symlink(t, "etc/link", "motd", 0, 0, 5) >= 0);
        assert(tree_remove(t, "/etc", true) >= 0);
        assert(!tree_lookup(t, "etc/motd") && !tree_lookup(t, "etc") && tree_size(t) == 1);

        /* host copy: a directory's contents land in dest, owned by the given owner */
        _cleanup_free_ char *dir = sp("hostdir"), *sub = sp("hostdir/sub"), *f = sp("hostdir/sub/file");
        assert(mkdir(dir, 0700) >= 0 && mkdir(sub, 0750) >= 0);
        write_bytes(f, "content", 7);
        assert(tree_add_host_path(t, dir, "/opt/x", 0, 0) >= 0);
        e = tree_lookup(t, "opt/x/sub/file");
        assert(e && e->uid == 0 && e->size == 7);
        assert(tree_lookup(t, "opt/x/sub")->mode == 0750);
        assert(tree_add_host_path(t, f, "/opt", 7, 8) >= 0); /* into an existing directory */
        e = tree_lookup(t, "opt/file");
        assert(e && e->uid == 7 && e->gid == 8);
        _cleanup_free_ char *c = read_entry(t, "opt/file");
        assert(streq(c, "content"));
        /* later replaces earlier; truncation keeps metadata */
        assert(tree_add_file(t, "opt/file", "new", 3, 0600, 1, 1, 5) >= 0);
        assert(tree_lookup(t, "opt/file")->size == 3 && tree_lookup(t, "opt/file")->mode == 0600);
        assert(tree_truncate(t, "opt/file") >= 0 && tree_lookup(t, "opt/file")->size == 0);
}

static void test_hardlink_removal(void) {
        _cleanup_free_ char *tgz = sp("rootfs.tar.gz");
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert(tree_add_archive(t, tgz, "/sub") >= 0);
        assert(tree_lookup(t, "sub/usr/bin/ping"));
        assert(tree_remove(t, "sub/usr/bin/aa-tool", false) >= 0);
        const TreeEntry *e = tree_lookup(t, "sub/usr/bin/mm-tool");
        assert(e && e->type == TREE_REG && e->size == 10);
        e = tree_lookup(t, "sub/usr/bin/zz-tool");
        assert(e && e->type == TREE_HARDLINK && streq(e->link_target, "sub/usr/bin/mm-tool"));
        _cleanup_free_ char *d = read_entry(t, "sub/usr/bin/zz-tool");
        assert(streq(d, "tool data\n"));
}

static void test_bad_archives(void) {
        /* entries with '..' or absolute names are refused */
        _cleanup_free_ char *bad = sp("bad.tar"), *abs = sp("abs.tar"), *trunc = sp("trunc.tar.gz"), *junk = sp("junk");
        _cleanup_free_ char *cmd = xasprintf(
                "python3 -c \"import tarfile,io,sys\n"
                "for out,name in (('%s','a/../../etc/x'),('%s','/etc/y')):\n"
                "  tf=tarfile.open(out,'w'); ti=tarfile.TarInfo(name); ti.size=1; tf.addfile(ti,io.BytesIO(b'x')); tf.close()\"",
                bad, abs);
        assert(system(cmd) == 0);
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert(tree_add_archive(t, bad, "") == -EINVAL);
        assert(tree_add_archive(t, abs, "") == -EINVAL);
        Tree *t2 = NULL;
        assert(tree_load(bad, &t2) == -EINVAL);
        /* truncated gzip */
        _cleanup_free_ char *tgz = sp("rootfs.tar.gz");
        _cleanup_free_ char *data = NULL;
        size_t n;
        assert(read_full_file(tgz, &data, &n) >= 0);
        write_bytes(trunc, data, n / 2);
        assert(tree_add_archive(t, trunc, "") == -EBADMSG);
        write_bytes(junk, "not an archive at all", 21);
        assert(tree_add_archive(t, junk, "") == -EBADMSG);
        assert(tree_load(junk, &t2) < 0);
}

int main(void) {
        if (system("python3 -c 'import tarfile' 2>/dev/null") != 0)
                return 77;
        assert(mkdtemp(scratch));
        _cleanup_free_ char *tgz = sp("rootfs.tar.gz");
        assert(make_rootfs(tgz) == 0);
        test_rootfs_roundtrip();
        test_edits();
        test_hardlink_removal();
        test_bad_archives();
        rm_rf(scratch);
        return 0;
}
