/* ext4 writer: e2fsck-clean, every entry's metadata and content as debugfs reads it back matches the
 * manifest the test rootfs generator wrote (not the Tree: an independent record), byte-identical runs,
 * partitions at an offset, and a clear error when the tree does not fit.
 * With arguments (TARBALL IMAGE [SIZE]) it just writes an image, for the integration test. */
#include <jansson.h>
#include <sys/wait.h>

#include "digest.h"
#include "ext4.h"
#include "log.h"
#include "tree.h"
#include "util.h"
#include "test-lib.h"

static const Ext4Params params = {
        .uuid = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00 },
        .hash_seed = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
        .label = "root",
        .epoch = 1700000000,
        .size_bytes = 32 << 20,
        .journal = true,
};

/* One entry of the manifest against what debugfs said of it (out: its `stat`; dump: the file its
 * `dump` wrote, for entries with content). */
static void check_entry(const char *path, json_t *want, const char *out, const char *dump) {
        const char *type = json_string_value(json_object_get(want, "type"));
        static const struct { const char *ours, *debugfs; } types[] = {
                { "reg", "regular" }, { "dir", "directory" }, { "symlink", "symlink" },
                { "chr", "character special" }, { "blk", "block special" }, { "fifo", "FIFO" },
        };
        const char *dt = NULL;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(types[i].ours, type))
                        dt = types[i].debugfs;
        _cleanup_free_ char *tline = xasprintf("Type: %s ", dt);
        if (!strstr(out, tline)) {
                fprintf(stderr, "'/%s': want type %s, debugfs says:\n%s\n", path, dt, out);
                abort();
        }
        unsigned mode, uid, gid, links;
        unsigned long long size;
        assert_se(sscanf(strstr(out, "Mode:") + 5, " %o", &mode) == 1);
        assert_se(sscanf(strstr(out, "User:") + 5, " %u", &uid) == 1);
        assert_se(sscanf(strstr(out, "Group:") + 6, " %u", &gid) == 1);
        assert_se(sscanf(strstr(out, "Size:") + 5, " %llu", &size) == 1);
        assert_se(sscanf(strstr(out, "Links:") + 6, " %u", &links) == 1);
        if (mode != json_integer_value(json_object_get(want, "mode")) ||
            uid != json_integer_value(json_object_get(want, "uid")) ||
            gid != json_integer_value(json_object_get(want, "gid"))) {
                fprintf(stderr, "'/%s': mode/owner differ: %o %u:%u\n", path, mode, uid, gid);
                abort();
        }
        json_t *js = json_object_get(want, "size");
        if (json_is_integer(js))
                assert_se(size == (unsigned long long) json_integer_value(js));
        json_t *jn = json_object_get(want, "nlink");
        if (json_is_integer(jn))
                assert_se(links == json_integer_value(jn));
        json_t *jr = json_object_get(want, "rdev");
        if (json_is_array(jr)) {
                unsigned ma, mi;
                assert_se(sscanf(strstr(out, "Device major/minor number:") + 26, " %u:%u", &ma, &mi) == 2);
                assert_se(ma == json_integer_value(json_array_get(jr, 0)) && mi == json_integer_value(json_array_get(jr, 1)));
        }
        json_t *jl = json_object_get(want, "link");
        if (json_is_string(jl) && strlen(json_string_value(jl)) < 60) {
                _cleanup_free_ char *l = xasprintf("Fast link dest: \"%s\"", json_string_value(jl));
                assert_se(strstr(out, l));
        }
        size_t k;
        json_t *jx;
        json_array_foreach(json_object_get(want, "xattrs"), k, jx) {
                _cleanup_free_ char *x = xasprintf("  %s ", json_string_value(jx));
                if (!strstr(out, x)) {
                        fprintf(stderr, "'/%s': xattr %s missing:\n%s\n", path, json_string_value(jx), out);
                        abort();
                }
        }
        json_t *jh = json_object_get(want, "sha256");
        if (json_is_string(jh)) {
                size_t len;
                _cleanup_free_ char *content = test_read_file(dump, &len);
                uint8_t d[32];
                digest_buffer(content, len, d);
                char hex[DIGEST_HEX_SIZE + 1];
                digest_to_hex(d, hex);
                if (!streq(hex, json_string_value(jh))) {
                        fprintf(stderr, "'/%s': content differs (%zu bytes)\n", path, len);
                        abort();
                }
        }
}

/* Every entry of the manifest, as debugfs reads the image: one debugfs run for all of them (its
 * `stat` of each, and a `dump` of each file with content), each answer after its echoed command. */
static void check_against_manifest(const char *image, const char *manifest) {
        json_error_t jerr;
        json_t *m = json_load_file(manifest, 0, &jerr);
        assert_se(m);
        _cleanup_free_ char *cmds = test_path("debugfs.cmds");
        FILE *f = fopen(cmds, "we");
        assert_se(f);
        const char *path;
        json_t *want;
        size_t n = 0;
        json_object_foreach(m, path, want) {
                fprintf(f, "stat \"/%s\"\n", path);
                if (json_is_string(json_object_get(want, "sha256")))
                        fprintf(f, "dump \"/%s\" \"%s/dump-%zu\"\n", path, test_scratch(), n);
                n++;
        }
        assert_se(fclose(f) == 0);
        _cleanup_free_ char *cmd = xasprintf("debugfs -f %s %s 2>/dev/null", cmds, image);
        _cleanup_free_ char *out = test_output(cmd, NULL);
        size_t checked = 0;
        const char *p = out;
        json_object_foreach(m, path, want) {
                _cleanup_free_ char *echo = xasprintf("debugfs: stat \"/%s\"\n", path);
                p = strstr(p, echo);
                assert_se(p);
                p += strlen(echo);
                const char *end = strstr(p, "debugfs: ");
                _cleanup_free_ char *answer = end ? xstrndup(p, (size_t) (end - p)) : xstrdup(p);
                _cleanup_free_ char *dump = xasprintf("%s/dump-%zu", test_scratch(), checked);
                check_entry(path, want, answer, dump);
                checked++;
        }
        assert_se(checked == n && checked > 40);
        json_decref(m);
}

static void fsck_clean(const char *image) {
        _cleanup_free_ char *cmd = xasprintf("e2fsck -fn %s >/dev/null 2>&1", image);
        int r = system(cmd);
        if (r != 0) {
                _cleanup_free_ char *again = xasprintf("e2fsck -fn %s", image);
                (void) system(again);
                abort();
        }
}

/* One folder of 3,000 names of varied lengths and kinds (files, folders, short and long symlinks,
 * hardlinks): the directory fills many blocks, each name lands in one, e2fsck finds it clean and
 * debugfs lists every name with its kind. (ext4-dir places names itself, where ext2fs_link would.) */
static void test_big_directory(void) {
        _cleanup_free_ char *tar = test_path("bigdir.tar"), *img = test_path("bigdir.img");
        test_sh("python3 - %s <<'PY'\n"
                "import io, sys, tarfile\n"
                "with tarfile.open(sys.argv[1], 'w') as tf:\n"
                "    def add(name, kind=tarfile.REGTYPE, link=''):\n"
                "        ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link\n"
                "        ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644\n"
                "        ti.size = 2 if kind == tarfile.REGTYPE else 0\n"
                "        tf.addfile(ti, io.BytesIO(b'x\\n') if ti.size else None)\n"
                "    add('big', tarfile.DIRTYPE)\n"
                "    add('big/target')\n"
                "    for i in range(3000):\n"
                "        n = 'big/' + ('n%%d' %% i if i %% 3 else 'a-longer-name-for-another-record-length-%%05d' %% i)\n"
                "        if i %% 50 == 7: add(n, tarfile.DIRTYPE)\n"
                "        elif i %% 40 == 3: add(n, tarfile.SYMTYPE, 't' if i %% 80 == 3 else '/long/target' * 8)\n"
                "        elif i %% 97 == 5: add(n, tarfile.LNKTYPE, 'big/target')\n"
                "        else: add(n)\n"
                "PY", tar);
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tar, "", 0) >= 0);
        assert_se(ext4_write(t, "", NULL, img, 0, &params) >= 0);
        fsck_clean(img);
        _cleanup_free_ char *cmd = xasprintf("debugfs -R 'ls -l /big' %s 2>/dev/null", img);
        _cleanup_free_ char *ls = test_output(cmd, NULL);
        size_t names = 0, dirs = 0, links = 0;
        for (char *line = strtok(ls, "\n"); line; line = strtok(NULL, "\n")) {
                names += strstr(line, " n") || strstr(line, " a-longer-name") || strstr(line, " target");
                dirs += !!strstr(line, " 40755 ");
                links += !!strstr(line, " 120644 ");
        }
        /* 3,000 names + target; folders: 60 of them plus . and .. */
        assert_se(names == 3001);
        assert_se(dirs == 62);
        assert_se(links == 75);
}

int main(int argc, char **argv) {
        if (argc >= 3) { /* helper mode for tests/integration/test-ext4.sh */
                _cleanup_(tree_freep) Tree *t = tree_new();
                if (tree_add_archive(t, argv[1], "", 0) < 0)
                        return 1;
                Ext4Params p = params;
                if (argc > 3)
                        p.size_bytes = strtoull(argv[3], NULL, 0);
                return ext4_write(t, "", NULL, argv[2], 0, &p) < 0 ? 1 : 0;
        }
        if (!test_have("debugfs e2fsck") || !test_sh_ok("python3 -c 'import tarfile'"))
                test_skip("debugfs, e2fsck or python3 missing");
        _cleanup_free_ char *tgz = test_path("rootfs.tar.gz"), *json = test_path("rootfs.json"), *img1 = test_path("a.img"),
                            *img2 = test_path("b.img"), *disk = test_path("disk.img"), *small = test_path("small.img");
        test_make_rootfs(tgz, json);
        _cleanup_(tree_freep) Tree *t = tree_new();
        assert_se(tree_add_archive(t, tgz, "", 0) >= 0);

        assert_se(ext4_write(t, "", NULL, img1, 0, &params) >= 0);
        fsck_clean(img1);
        check_against_manifest(img1, json);

        /* byte-identical on every run, whatever was in the file before */
        assert_se(write_file_atomic(img2, "garbage", 7, 0644) >= 0);
        assert_se(ext4_write(t, "", NULL, img2, 0, &params) >= 0);
        size_t n1, n2;
        _cleanup_free_ char *a = test_read_file(img1, &n1), *b = test_read_file(img2, &n2);
        assert_se(n1 == n2 && n1 == params.size_bytes && memcmp(a, b, n1) == 0);
        _cleanup_free_ char *sbcmd = xasprintf("dumpe2fs -h %s 2>/dev/null", img1);
        _cleanup_free_ char *sb = test_output(sbcmd, NULL);
        assert_se(strstr(sb, "Filesystem UUID:          11223344-5566-4788-99aa-bbccddeeff00"));
        assert_se(strstr(sb, "Directory Hash Seed:      01020304-0506-0708-090a-0b0c0d0e0f10"));
        assert_se(strstr(sb, "metadata_csum") && strstr(sb, "has_journal") && strstr(sb, "64bit"));
        assert_se(strstr(sb, "Filesystem volume name:   root"));

        /* a partition at 1 MiB inside a disk image: the same bytes at that offset */
        assert_se(ext4_write(t, "", NULL, disk, 1 << 20, &params) >= 0);
        size_t nd;
        _cleanup_free_ char *d = test_read_file(disk, &nd);
        assert_se(nd == (1 << 20) + params.size_bytes && memcmp(d + (1 << 20), a, n1) == 0);

        /* a subtree with an excluded mount point */
        const char *excl[] = { "/usr/share", NULL };
        assert_se(ext4_write(t, "/usr", excl, img2, 0, &params) >= 0);
        fsck_clean(img2);
        _cleanup_free_ char *lscmd = xasprintf("debugfs -R 'ls -l /share' %s 2>/dev/null; debugfs -R 'stat /bin/su' %s 2>/dev/null",
                                               img2, img2);
        _cleanup_free_ char *ls = test_output(lscmd, NULL);
        assert_se(!strstr(ls, "big.bin") && strstr(ls, "Mode:  04755"));

        test_big_directory();

        /* does not fit: says by how much */
        Ext4Params tiny = params;
        tiny.size_bytes = 2 << 20;
        assert_se(ext4_write(t, "", NULL, small, 0, &tiny) == -ENOSPC);
        uint64_t est = ext4_estimate_size(t, "", NULL, 4096, true);
        assert_se(est > tree_data_bytes(t, "") && est < params.size_bytes);

        return 0;
}
