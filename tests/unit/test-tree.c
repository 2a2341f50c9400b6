/* Tree: archives in, edits, normalised tar out and back in without copying. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "log.h"
#include "tree.h"
#include "util.h"
#include "test-lib.h"

static void write_bytes(const char *path, const void *data, size_t n) {
        assert_se(write_file_atomic(path, data, n, 0644) >= 0);
}

static char *read_entry(const Tree *t, const char *path) {
        const TreeEntry *e = tree_lookup(t, path);
        assert_se(e);
        char *buf = xcalloc(1, e->size + 1);
        assert_se(tree_read(t, e, 0, buf, e->size) == (ssize_t) e->size);
        return buf;
}

static void test_rootfs_roundtrip(void) {
        _cleanup_free_ char *tgz = test_path("rootfs.tar.gz"), *out1 = test_path("out1.tar"), *out2 = test_path("out2.tar");
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tgz, "", 0) >= 0);
        const TreeEntry *e = tree_lookup(t, "/usr/bin/su");
        assert_se(e && e->type == TREE_REG && e->mode == 04755);
        e = tree_lookup(t, "usr/bin/wall");
        assert_se(e && e->mode == 02755 && e->gid == 5);
        e = tree_lookup(t, "tmp");
        assert_se(e && e->type == TREE_DIR && e->mode == 01777);
        e = tree_lookup(t, "usr/bin/ping");
        assert_se(e && e->n_xattrs == 1 && streq(e->xattrs[0].name, "security.capability") && e->xattrs[0].size == 20);
        e = tree_lookup(t, "usr/share/acl-file");
        assert_se(e && e->n_xattrs == 1 && streq(e->xattrs[0].name, "system.posix_acl_access") && e->xattrs[0].size == 4 + 5 * 8);
        e = tree_lookup(t, "dev/big");
        assert_se(e && e->type == TREE_CHR && major(e->rdev) == 300 && minor(e->rdev) == 70000);
        e = tree_lookup(t, "run/initctl");
        assert_se(e && e->type == TREE_FIFO);
        e = tree_lookup(t, "bin");
        assert_se(e && e->type == TREE_SYMLINK && streq(e->link_target, "usr/bin"));
        /* hardlinks: canonical holder is the smallest path */
        assert_se(tree_size(t) > 0);
        e = tree_lookup(t, "usr/bin/aa-tool");
        assert_se(e && e->type == TREE_REG && e->size == 10);
        e = tree_lookup(t, "usr/bin/zz-tool");
        assert_se(e && e->type == TREE_HARDLINK && streq(e->link_target, "usr/bin/aa-tool"));
        _cleanup_free_ char *data = read_entry(t, "usr/bin/zz-tool");
        assert_se(streq(data, "tool data\n"));
        assert_se(tree_data_bytes(t, "usr/share") == 3200000 + 200003 + 4 + 2 + 0 + 10);

        /* sorted order */
        for (size_t i = 1; i < tree_size(t); i++)
                assert_se(strcmp(tree_entry(t, i - 1)->path, tree_entry(t, i)->path) < 0);
        assert_se(streq(tree_entry(t, 0)->path, ""));

        /* same Tree, same bytes; reload indexes in place and writes the same bytes again */
        assert_se(tree_write(t, out1, 1600000000) >= 0);
        _cleanup_(tree_freep) Tree *t2 = NULL;
        assert_se(tree_load(out1, &t2) >= 0);
        assert_se(tree_size(t2) == tree_size(t));
        assert_se(tree_write(t2, out2, 1600000000) >= 0);
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t na, nb;
        assert_se(read_full_file(out1, &a, &na) >= 0 && read_full_file(out2, &b, &nb) >= 0);
        assert_se(na == nb && memcmp(a, b, na) == 0);
        e = tree_lookup(t2, "usr/share/user-xattr");
        assert_se(e && e->n_xattrs == 1 && e->xattrs[0].size == 15 && memcmp(e->xattrs[0].value, "hello \0\xff binary", 15) == 0);
        _cleanup_free_ char *big1 = read_entry(t, "usr/share/big.bin"), *big2 = read_entry(t2, "usr/share/big.bin");
        assert_se(memcmp(big1, big2, 3200000) == 0);
        /* the loaded tree holds the data in the tar, not a copy: GNU tar and libarchive read it too */
        test_sh("tar -tf %s >/dev/null", out1);

        /* clamping: epoch older than the entries */
        assert_se(tree_clamp_times(t2, 1000) >= 0);
        assert_se(tree_lookup(t2, "etc/passwd")->mtime_sec == 1000);
}

static void test_edits(void) {
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_file(t, "/etc/motd", "hi\n", 3, 0644, 0, 0, 5) >= 0);
        const TreeEntry *e = tree_lookup(t, "etc");
        assert_se(e && e->type == TREE_DIR && e->mode == 0755 && e->uid == 0);
        assert_se(tree_add_file(t, "etc/motd/x", "", 0, 0644, 0, 0, 5) == -ENOTDIR);
        assert_se(tree_add_file(t, "../x", "", 0, 0644, 0, 0, 5) < 0);
        assert_se(tree_remove(t, "etc", false) == -ENOTEMPTY);
        assert_se(tree_remove(t, "nope", false) == -ENOENT);
        assert_se(tree_add_symlink(t, "etc/link", "motd", 0, 0, 5) >= 0);
        assert_se(tree_remove(t, "/etc", true) >= 0);
        assert_se(!tree_lookup(t, "etc/motd") && !tree_lookup(t, "etc") && tree_size(t) == 1);

        /* host copy: a directory's contents land in dest, owned by the given owner */
        _cleanup_free_ char *dir = test_path("hostdir"), *sub = test_path("hostdir/sub"), *f = test_path("hostdir/sub/file");
        assert_se(mkdir(dir, 0700) >= 0 && mkdir(sub, 0750) >= 0);
        write_bytes(f, "content", 7);
        assert_se(tree_add_host_path(t, dir, "/opt/x", 0, 0) >= 0);
        e = tree_lookup(t, "opt/x/sub/file");
        assert_se(e && e->uid == 0 && e->size == 7);
        assert_se(tree_lookup(t, "opt/x/sub")->mode == 0750);
        assert_se(tree_add_host_path(t, f, "/opt", 7, 8) >= 0); /* into an existing directory */
        e = tree_lookup(t, "opt/file");
        assert_se(e && e->uid == 7 && e->gid == 8);
        _cleanup_free_ char *c = read_entry(t, "opt/file");
        assert_se(streq(c, "content"));
        /* later replaces earlier; truncation keeps metadata */
        assert_se(tree_add_file(t, "opt/file", "new", 3, 0600, 1, 1, 5) >= 0);
        assert_se(tree_lookup(t, "opt/file")->size == 3 && tree_lookup(t, "opt/file")->mode == 0600);
        assert_se(tree_truncate(t, "opt/file") >= 0 && tree_lookup(t, "opt/file")->size == 0);
}

static void test_hardlink_removal(void) {
        _cleanup_free_ char *tgz = test_path("rootfs.tar.gz");
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tgz, "/sub", 0) >= 0);
        assert_se(tree_lookup(t, "sub/usr/bin/ping"));
        assert_se(tree_remove(t, "sub/usr/bin/aa-tool", false) >= 0);
        const TreeEntry *e = tree_lookup(t, "sub/usr/bin/mm-tool");
        assert_se(e && e->type == TREE_REG && e->size == 10);
        e = tree_lookup(t, "sub/usr/bin/zz-tool");
        assert_se(e && e->type == TREE_HARDLINK && streq(e->link_target, "sub/usr/bin/mm-tool"));
        _cleanup_free_ char *d = read_entry(t, "sub/usr/bin/zz-tool");
        assert_se(streq(d, "tool data\n"));
}

static void test_bad_archives(void) {
        /* entries with '..' or absolute names are refused */
        _cleanup_free_ char *bad = test_path("bad.tar"), *abs = test_path("abs.tar"), *trunc = test_path("trunc.tar.gz"), *junk = test_path("junk");
        _cleanup_free_ char *cmd = xasprintf(
                "python3 -c \"import tarfile,io,sys\n"
                "for out,name in (('%s','a/../../etc/x'),('%s','/etc/y')):\n"
                "  tf=tarfile.open(out,'w'); ti=tarfile.TarInfo(name); ti.size=1; tf.addfile(ti,io.BytesIO(b'x')); tf.close()\"",
                bad, abs);
        test_sh("%s", cmd);
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, bad, "", 0) == -EINVAL);
        assert_se(tree_add_archive(t, abs, "", 0) == -EINVAL);
        Tree *t2 = NULL;
        assert_se(tree_load(bad, &t2) == -EINVAL);
        /* truncated gzip */
        _cleanup_free_ char *tgz = test_path("rootfs.tar.gz");
        size_t n;
        _cleanup_free_ char *data = test_read_file(tgz, &n);
        write_bytes(trunc, data, n / 2);
        assert_se(tree_add_archive(t, trunc, "", 0) == -EBADMSG);
        write_bytes(junk, "not an archive at all", 21);
        assert_se(tree_add_archive(t, junk, "", 0) == -EBADMSG);
        assert_se(tree_load(junk, &t2) < 0);
}

int main(void) {
        if (!test_sh_ok("python3 -c 'import tarfile'"))
                test_skip("python3 missing");
        _cleanup_free_ char *tgz = test_path("rootfs.tar.gz"), *json = test_path("rootfs.json");
        test_make_rootfs(tgz, json);
        test_rootfs_roundtrip();
        test_edits();
        test_hardlink_removal();
        test_bad_archives();
        return 0;
}
