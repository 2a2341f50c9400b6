/* Image diff of two FAT filesystems: boot sector fields, then the files (extracted with mtools'
 * mcopy into scratch directories) by presence, type, mtime, size and content. */
#include "imagediff-internal.h"

#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "digest.h"
#include "log.h"
#include "process.h"
#include "strv.h"

static int vfat_extract(const Side *s, uint64_t offset, const char *dir) {
        _cleanup_free_ char *img = xasprintf("%s@@%" PRIu64, s->path, offset);
        char *argv[] = { (char *) "mcopy", (char *) "-s", (char *) "-n", (char *) "-m", (char *) "-i", img,
                         (char *) "::/*", (char *) dir, NULL };
        char *env[] = { (char *) "MTOOLS_SKIP_CHECK=1", NULL };
        _cleanup_free_ char *out = NULL;
        int r = process_run(argv, env, &out);
        if (r != 0 && !(out && strstr(out, "No match"))) /* an empty filesystem */
                return r < 0 ? r : -EPROTO;
        return 0;
}

typedef struct HostList {
        char **paths; /* strv */
        size_t n;
        size_t prefix;
} HostList;

static HostList *walk_target;

static int walk_add(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftw) {
        if (ftw->level == 0)
                return 0;
        strv_push(&walk_target->paths, &walk_target->n, xstrdup(fpath + walk_target->prefix));
        return 0;
}

static void host_list(const char *dir, HostList *ret) {
        *ret = (HostList) { .prefix = strlen(dir) };
        walk_target = ret;
        (void) nftw(dir, walk_add, 16, FTW_PHYS);
        walk_target = NULL;
        strv_sort(ret->paths, ret->n);
}

void diff_vfat(Ctx *c, unsigned part, const char *where, const FsInfo *ia, const FsInfo *ib, uint64_t a_off,
               uint64_t b_off) {
        diff_cmp_str(c, IMAGE_DIFF_SUPERBLOCK, part, where, "vfat", "volume_id", ia->uuid, ib->uuid);
        diff_cmp_str(c, IMAGE_DIFF_SUPERBLOCK, part, where, "vfat", "label", ia->label, ib->label);
        if (ia->fat_bits != ib->fat_bits) {
                char sa[8], sb[8];
                snprintf(sa, sizeof sa, "%u", ia->fat_bits);
                snprintf(sb, sizeof sb, "%u", ib->fat_bits);
                diff_add_field(c, IMAGE_DIFF_SUPERBLOCK, part, where, "vfat", "fat_bits", sa, sb);
        }
        const char *tmp = tmp_dir();
        _cleanup_free_ char *top = tmp_template("baker-diff");
        if (!mkdtemp(top)) {
                log_warning("cannot make a temporary directory in '%s': %m", tmp);
                return;
        }
        _cleanup_free_ char *da = path_join(top, "a"), *db = path_join(top, "b");
        HostList la = {}, lb = {};
        if (mkdir(da, 0700) < 0 || mkdir(db, 0700) < 0 || vfat_extract(&c->a, a_off, da) < 0 ||
            vfat_extract(&c->b, b_off, db) < 0) {
                log_warning("%s: cannot list the fat filesystem with mtools, comparing bytes only", where);
                goto finish;
        }
        host_list(da, &la);
        host_list(db, &lb);
        c->last_path = NULL;
        for (size_t i = 0, j = 0; i < la.n || j < lb.n;) {
                int o = i >= la.n ? 1 : j >= lb.n ? -1 : strcmp(la.paths[i], lb.paths[j]);
                if (o < 0) {
                        diff_add_path(c, IMAGE_DIFF_ONLY_A, part, where, la.paths[i++], NULL, NULL, NULL);
                        continue;
                }
                if (o > 0) {
                        diff_add_path(c, IMAGE_DIFF_ONLY_B, part, where, lb.paths[j++], NULL, NULL, NULL);
                        continue;
                }
                const char *path = la.paths[i];
                _cleanup_free_ char *pa = path_join(da, path), *pb = path_join(db, path);
                struct stat sa, sb;
                if (lstat(pa, &sa) == 0 && lstat(pb, &sb) == 0) {
                        char va[64], vb[64];
                        if (S_ISDIR(sa.st_mode) != S_ISDIR(sb.st_mode))
                                diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "type",
                                         S_ISDIR(sa.st_mode) ? "directory" : "regular file",
                                         S_ISDIR(sb.st_mode) ? "directory" : "regular file");
                        else if (!S_ISDIR(sa.st_mode)) {
                                snprintf(va, sizeof va, "%lld", (long long) sa.st_mtime);
                                snprintf(vb, sizeof vb, "%lld", (long long) sb.st_mtime);
                                if (!streq(va, vb))
                                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "mtime", va, vb);
                                if (sa.st_size != sb.st_size) {
                                        snprintf(va, sizeof va, "%lld", (long long) sa.st_size);
                                        snprintf(vb, sizeof vb, "%lld", (long long) sb.st_size);
                                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "size", va, vb);
                                }
                                uint8_t ha[DIGEST_SIZE], hb[DIGEST_SIZE];
                                char sha[DIGEST_STRING_MAX], shb[DIGEST_STRING_MAX];
                                if (digest_file(pa, ha, NULL) >= 0 && digest_file(pb, hb, NULL) >= 0 &&
                                    memcmp(ha, hb, DIGEST_SIZE) != 0) {
                                        digest_to_string(ha, sha);
                                        digest_to_string(hb, shb);
                                        diff_add_path(c, IMAGE_DIFF_FILE, part, where, path, "content", sha, shb);
                                }
                        }
                }
                i++, j++;
        }
finish:
        c->last_path = NULL;
        strv_free(la.paths);
        strv_free(lb.paths);
        (void) rm_rf(top);
}
