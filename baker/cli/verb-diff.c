/* baker diff: what changed between two bakes — the packages (from their SBOMs) first, then the
 * files (from their raw images, offline). A and B are manifest.json files, output folders,
 * registry references (pulled, with their SBOM referrer, into a scratch directory) or bare image
 * files, raw or qcow2 (the packages then from the image's own dpkg status, read offline). */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

#include "digest.h"
#include "dpkg-status.h"
#include "image-file.h"
#include "imagediff.h"
#include "inspect.h"
#include "interrupt.h"
#include "log.h"
#include "manifest.h"
#include "outcome.h"
#include "pkgdiff.h"
#include "pull.h"
#include "sbom.h"
#include "verbs.h"

#define DPKG_STATUS_MAX (64u << 20)

typedef struct Side {
        char *pulled; /* a scratch directory a registry reference was pulled into, removed at the end */
        char *dir;    /* the output folder, or the image file: what messages name */
        BakeManifest *manifest; /* NULL for an image file */
        ImageFile image;        /* an image file (image.raw NULL otherwise) */
        char *image_digest;
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
        image_file_done(&s->image);
        free(s->image_digest);
        deb_package_set_done(&s->packages);
        free(s->raw);
}

/* A bare image file: the packages from its own dpkg status, its digest from its raw bytes. */
static int side_load_image(const char *path, Side *ret) {
        Side s = { .dir = xstrdup(path) };
        int r = image_file_open(path, &s.image);
        if (r < 0)
                return side_done(&s), r;
        _cleanup_free_ char *status = NULL;
        size_t size = 0;
        r = image_file_read(s.image.raw, "var/lib/dpkg/status", DPKG_STATUS_MAX, &status, &size);
        if (r == -EMEDIUMTYPE) {
                log_error("'%s' is neither a manifest nor a disk image (no partition table or filesystem found)", path);
                return side_done(&s), r;
        }
        unsigned line = 0;
        if (r >= 0) {
                s.has_packages = dpkg_status_parse(status, size, &s.packages, &line) >= 0;
                if (!s.has_packages)
                        log_warning("'%s': its /var/lib/dpkg/status cannot be parsed (line %u)", path, line);
        } else if (r != -ENOENT)
                log_warning_errno(r, "'%s': cannot read /var/lib/dpkg/status: %m", path);
        uint8_t d[DIGEST_SIZE];
        char dig[DIGEST_STRING_MAX];
        r = digest_file(s.image.raw, d, NULL);
        if (r < 0) {
                log_error_errno(r, "cannot read '%s': %m", path);
                return side_done(&s), r;
        }
        digest_to_string(d, dig);
        s.image_digest = xstrdup(dig);
        s.raw = xstrdup(s.image.raw);
        *ret = s;
        return 0;
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

static const ManifestOutput *find_output(const BakeManifest *m, const char *format) {
        for (size_t i = 0; i < m->n_outputs; i++) {
                const ManifestOutput *o = &m->outputs[i];
                if (streq_ptr(o->format, format) && (!o->compress || streq(o->compress, "none")))
                        return o;
        }
        return NULL;
}

/* The raw bytes of a bake's outputs: its uncompressed raw output, else its uncompressed qcow2
 * through a scratch raw (the reference templates output qcow2 only). NULL when it has neither. */
static void side_find_raw(Side *s) {
        const ManifestOutput *o = find_output(s->manifest, "raw");
        if (o) {
                s->raw = path_join(s->dir, o->file);
                return;
        }
        o = find_output(s->manifest, "qcow2");
        _cleanup_free_ char *qcow2 = o ? path_join(s->dir, o->file) : NULL;
        if (qcow2 && image_file_open(qcow2, &s->image) >= 0)
                s->raw = xstrdup(s->image.raw);
}

static int side_load(const char *arg, Side *ret) {
        struct stat st;
        Side s = {};
        if (stat(arg, &st) >= 0 && S_ISREG(st.st_mode) && !inspect_is_manifest(arg))
                return side_load_image(arg, ret);
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
        s.image_digest = s.manifest->image_digest ? xstrdup(s.manifest->image_digest) : NULL;
        /* Only the SBOM the manifest names describes these outputs. */
        const char *sbom_name = s.manifest->packages ? s.manifest->packages->sbom : NULL;
        _cleanup_free_ char *sbom = sbom_name && !strchr(sbom_name, '/') ? path_join(s.dir, sbom_name) : NULL;
        json_t *bom = sbom ? json_load_file(sbom, 0, NULL) : NULL;
        s.has_packages = bom && sbom_packages(bom, &s.packages) >= 0;
        json_decref(bom);
        side_find_raw(&s);
        *ret = s;
        return 0;
}

static json_t *packages_section(const Side *a, const Side *b, bool print) {
        if (!a->has_packages || !b->has_packages) {
                if (print) {
                        const Side *s = !a->has_packages ? a : b;
                        printf("packages: %s has %s\n", s->dir,
                               s->manifest ? "no SBOM (no dpkg status in the image)" : "no dpkg status");
                }
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
                        printf("files: not compared (%s has no uncompressed raw or qcow2 output)\n",
                               !a->raw ? a->dir : b->dir);
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
        const char *da = a.image_digest, *db = b.image_digest;
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
