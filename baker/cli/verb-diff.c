/* baker diff: what changed between two bakes — the packages (from their SBOMs) first, then the
 * files (from their raw images, offline). A and B are manifest.json files, output folders or
 * registry references (pulled, with their SBOM referrer, into a scratch directory). */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

#include "imagediff.h"
#include "interrupt.h"
#include "log.h"
#include "manifest.h"
#include "outcome.h"
#include "pkgdiff.h"
#include "pull.h"
#include "sbom.h"
#include "verbs.h"

typedef struct Side {
        char *pulled; /* a scratch directory a registry reference was pulled into, removed at the end */
        char *dir;
        BakeManifest *manifest;
        DebPackageSet packages;
        bool has_packages;
        char *raw; /* an uncompressed raw output, or NULL */
} Side;

static void side_done(Side *s) {
        if (s->pulled) {
                (void) rm_rf(s->pulled);
                interrupt_unregister(s->pulled);
                free(s->pulled);
        }
        free(s->dir);
        manifest_free(s->manifest);
        deb_package_set_done(&s->packages);
        free(s->raw);
}

/* A registry reference (what is not a path here) pulled into a scratch directory. */
static int side_pull(const char *ref, char **ret_dir) {
        _cleanup_free_ char *dir = tmp_template("baker-diff");
        if (!mkdtemp(dir))
                return log_error_errno(-errno, "failed to create a scratch directory: %m");
        interrupt_register(dir);
        _cleanup_(pull_report_done) PullReport p = {};
        int r = registry_pull(ref, dir, &p);
        if (r < 0) {
                (void) rm_rf(dir);
                interrupt_unregister(dir);
                return r;
        }
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

static int side_load(const char *arg, Side *ret) {
        struct stat st;
        Side s = {};
        if (stat(arg, &st) < 0) {
                if (errno != ENOENT || !strchr(arg, ':'))
                        return log_error_errno(-errno, "cannot read '%s': %m", arg);
                int r = side_pull(arg, &s.pulled);
                if (r < 0)
                        return r;
                arg = s.pulled;
                st.st_mode = S_IFDIR;
        }
        _cleanup_free_ char *copy = xstrdup(arg);
        s.dir = S_ISDIR(st.st_mode) ? xstrdup(arg) : xstrdup(dirname(copy));
        _cleanup_free_ char *manifest = S_ISDIR(st.st_mode) ? path_join(arg, "manifest.json") : xstrdup(arg);
        int r = manifest_read(manifest, &s.manifest);
        if (r < 0) {
                side_done(&s);
                return r;
        }
        /* Only the SBOM the manifest names describes these outputs. */
        const char *sbom_name = s.manifest->packages ? s.manifest->packages->sbom : NULL;
        _cleanup_free_ char *sbom = sbom_name && !strchr(sbom_name, '/') ? path_join(s.dir, sbom_name) : NULL;
        json_t *bom = sbom ? json_load_file(sbom, 0, NULL) : NULL;
        s.has_packages = bom && sbom_packages(bom, &s.packages) >= 0;
        json_decref(bom);
        for (size_t i = 0; i < s.manifest->n_outputs; i++) {
                const ManifestOutput *o = &s.manifest->outputs[i];
                if (!s.raw && streq_ptr(o->format, "raw") && (!o->compress || streq(o->compress, "none")))
                        s.raw = path_join(s.dir, o->file);
        }
        *ret = s;
        return 0;
}

static json_t *packages_section(const Side *a, const Side *b, bool print) {
        if (!a->has_packages || !b->has_packages) {
                if (print)
                        printf("packages: %s has no SBOM (no dpkg status in the image)\n",
                               !a->has_packages ? a->dir : b->dir);
                return json_null();
        }
        PackageDiff d;
        package_diff(&a->packages, &b->packages, &d);
        if (print) {
                printf("packages: %zu changed, %zu added, %zu removed\n", d.n_changed, d.n_added, d.n_removed);
                for (size_t i = 0; i < d.n; i++) {
                        _cleanup_free_ char *c = package_change_to_string(&d.changes[i]);
                        printf("  %s\n", c);
                }
        }
        json_t *j = package_diff_to_json(&d);
        package_diff_done(&d);
        return j;
}

static json_t *files_section(const Side *a, const Side *b, bool print) {
        if (!a->raw || !b->raw) {
                if (print)
                        printf("files: not compared (%s has no uncompressed raw output)\n", !a->raw ? a->dir : b->dir);
                return json_null();
        }
        _cleanup_(image_diff_freep) ImageDiff *d = NULL;
        if (image_diff(a->raw, b->raw, &d) < 0)
                return json_null();
        if (print) {
                printf("files:\n");
                image_diff_print(d, stdout);
        }
        return image_diff_to_json(d);
}

int verb_diff(int argc, char **argv) {
        interrupt_install(); /* a pulled side's scratch directory goes on Ctrl-C */
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool json = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'j')
                        json = true;
                else if (c == 'h') {
                        printf("usage: %s", verb_find("diff")->usage);
                        return OUTCOME_OK;
                } else
                        return OUTCOME_USAGE;
        }
        if (verb_check_args("diff", argc - optind) < 0)
                return OUTCOME_USAGE;
        Side a = {}, b = {};
        if (side_load(argv[optind], &a) < 0)
                return OUTCOME_INPUT;
        if (side_load(argv[optind + 1], &b) < 0) {
                side_done(&a);
                return OUTCOME_INPUT;
        }
        const char *da = a.manifest->image_digest, *db = b.manifest->image_digest;
        if (!json)
                printf("image: %s -> %s%s\n", da ? da : "?", db ? db : "?", streq_ptr(da, db) ? " (same)" : "");
        json_t *packages = packages_section(&a, &b, !json);
        json_t *files = files_section(&a, &b, !json);
        if (json) {
                json_t *doc = json_pack("{s:s?, s:s?, s:o, s:o}", "a", da, "b", db, "packages", packages, "files", files);
                json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                putchar('\n');
                json_decref(doc);
        } else {
                json_decref(packages);
                json_decref(files);
        }
        side_done(&a);
        side_done(&b);
        return OUTCOME_OK;
}
