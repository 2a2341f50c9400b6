/* The image's package inventory after the steps (any image with a dpkg status, whatever put it
 * there): the SBOM beside the outputs and the list of packages that changed since the previous
 * bake in the same output folder. */
#include "bake-sbom.h"

#include <jansson.h>

#include "dpkg-status.h"
#include "events.h"
#include "log.h"
#include "manifest.h"
#include "pkgdiff.h"
#include "sbom.h"

static int read_tree_text(const Tree *t, const char *path, char **ret, size_t *ret_size) {
        const TreeEntry *e = tree_lookup(t, path);
        for (unsigned hops = 0; e && e->type == TREE_SYMLINK && hops < 8; hops++) {
                _cleanup_free_ char *dir = xstrdup(path);
                char *slash = strrchr(dir, '/');
                _cleanup_free_ char *next = e->link_target[0] == '/' ? xstrdup(e->link_target + 1)
                                            : slash ? (*slash = 0, path_join(dir, e->link_target))
                                                    : xstrdup(e->link_target);
                e = tree_lookup(t, startswith(next, "etc/../") ? next + 7 : next);
        }
        if (!e || e->type != TREE_REG || e->size > (64u << 20))
                return -ENOENT;
        char *buf = xmalloc(e->size + 1);
        ssize_t n = tree_read(t, e, 0, buf, e->size);
        if (n < 0 || (uint64_t) n != e->size) {
                free(buf);
                return -EIO;
        }
        buf[e->size] = 0;
        *ret = buf;
        *ret_size = e->size;
        return 0;
}

static DebPackageSet previous_packages(const char *sbom_path, bool *ret_found) {
        DebPackageSet s = {};
        json_t *j = json_load_file(sbom_path, 0, NULL);
        *ret_found = j && sbom_packages(j, &s) >= 0;
        json_decref(j);
        return s;
}

/* "packages changed: …" on the console and as an event, and into the manifest. */
static void report_changes(const DebPackageSet *old, const DebPackageSet *now, BakeManifest *m) {
        PackageDiff d;
        package_diff(old, now, &d);
        json_t *list = package_diff_to_json(&d);
        for (size_t i = 0; i < d.n; i++)
                manifest_add_package_change(m, d.changes[i].name, d.changes[i].old_version, d.changes[i].new_version);
        if (d.n > 0) {
                _cleanup_free_ char *text = xstrdup("");
                for (size_t i = 0; i < d.n; i++) {
                        _cleanup_free_ char *c = package_change_to_string(&d.changes[i]);
                        char *t = xasprintf("%s\n  %s", text, c);
                        free(text);
                        text = t;
                }
                _cleanup_free_ char *human = xasprintf("packages changed (%zu changed, %zu added, %zu removed):%s",
                                                       d.n_changed, d.n_added, d.n_removed, text);
                event_emit("packages-changed", json_pack("{s:O}", "changes", list), human);
        }
        package_diff_done(&d);
        json_decref(list);
}

int bake_write_sbom(const Tree *tree, const Template *t, const char *output_dir, const uint8_t image_digest[DIGEST_SIZE],
                    int64_t epoch, BakeManifest *m) {
        _cleanup_free_ char *status = NULL, *osr = NULL;
        size_t status_size = 0, osr_size = 0;
        _cleanup_free_ char *path = path_join(output_dir, SBOM_FILENAME);
        if (read_tree_text(tree, "var/lib/dpkg/status", &status, &status_size) < 0) {
                /* Not a dpkg-based image: an earlier bake's SBOM must not describe these outputs. */
                if (unlink(path) < 0 && errno != ENOENT)
                        return log_error_errno(-errno, "failed to remove '%s': %m", path);
                return 0;
        }
        DebPackageSet now = {};
        unsigned line = 0;
        if (dpkg_status_parse(status, status_size, &now, &line) < 0) {
                log_warning("the image's /var/lib/dpkg/status cannot be parsed (line %u): no SBOM", line);
                return 0;
        }
        OsRelease os = {};
        if (read_tree_text(tree, "etc/os-release", &osr, &osr_size) >= 0)
                os_release_parse(osr, osr_size, &os);
        _cleanup_free_ char *distro = os_release_distro(&os);
        SbomSubject subject = { .name = t->name, .version = t->version, .image_digest = image_digest,
                                .vendor = os.id ? os.id : "debian", .distro = distro, .epoch = epoch };
        json_t *bom = sbom_build(&now, &subject);
        bool found;
        DebPackageSet old = previous_packages(path, &found);
        _cleanup_free_ char *text = json_dumps(bom, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        int r = write_file_atomic(path, text, strlen(text), 0644);
        json_decref(bom);
        if (r < 0)
                log_error_errno(r, "failed to write '%s': %m", path);
        else {
                manifest_set_packages(m, SBOM_FILENAME, now.n);
                if (found)
                        report_changes(&old, &now, m);
        }
        deb_package_set_done(&old);
        deb_package_set_done(&now);
        os_release_done(&os);
        return r;
}
