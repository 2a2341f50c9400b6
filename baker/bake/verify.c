/* baker verify: a rebuild from scratch against the recorded image digest; see verify.h. */
#include "verify.h"

#include "log.h"
#include "manifest.h"
#include "process.h"

void verify_result_done(VerifyResult *v) {
        free(v->manifest_path);
        image_diff_free(v->diff);
        *v = (VerifyResult) {};
}

/* The original bake's image as a raw file: the raw output itself, or a temporary raw in work
 * made from the qcow2 or zstd output. */
static int original_raw(const char *output_dir, const BakeManifest *m, const char *work, char **ret_path) {
        const ManifestOutput *best = manifest_best_output(m);
        if (!best)
                return log_error_errno(-ENOENT, "'%s/%s' lists no output image", output_dir, MANIFEST_FILE);
        _cleanup_free_ char *path = path_join(output_dir, best->file);
        bool raw = streq(best->format, "raw");
        if (raw && streq_ptr(best->compress, "none")) {
                *ret_path = TAKE_PTR(path);
                return 0;
        }
        _cleanup_free_ char *plain = xstrdup(path);
        int r;
        if (streq_ptr(best->compress, "zstd")) {
                free(plain);
                plain = xasprintf("%s/original.%s", work, best->format);
                char *argv[] = { (char *) "zstd", (char *) "-q", (char *) "-d", (char *) "-f", (char *) "--sparse", path,
                                 (char *) "-o", plain, NULL };
                r = process_run_checked(argv, NULL, "decompress the original image", "zstd");
                if (r < 0)
                        return r;
        }
        if (raw) {
                *ret_path = TAKE_PTR(plain);
                return 0;
        }
        _cleanup_free_ char *converted = NULL;
        if (streq(best->format, "gce")) { /* disk.raw in a tar.gz */
                converted = xasprintf("%s/disk.raw", work);
                char *argv[] = { (char *) "tar", (char *) "-xSzf", plain, (char *) "-C", (char *) work,
                                 (char *) "disk.raw", NULL };
                r = process_run_checked(argv, NULL, "extract the original image", "tar");
        } else {
                converted = xasprintf("%s/original.raw", work);
                char *argv[] = { (char *) "qemu-img", (char *) "convert", (char *) "-O", (char *) "raw", plain, converted, NULL };
                r = process_run_checked(argv, NULL, "convert the original image to raw", "qemu-utils");
        }
        if (r < 0)
                return r;
        /* vhd and gce pad the disk (to a MiB, a GiB): the image is what comes before */
        if (m->has_image_size && truncate(converted, (off_t) m->image_size) < 0)
                return log_error_errno(-errno, "failed to truncate '%s': %m", converted);
        *ret_path = TAKE_PTR(converted);
        return 0;
}

static Outcome compare(const BakeOptions *o, const BakeManifest *m, const char *work, VerifyResult *ret) {
        _cleanup_free_ char *rebuild_dir = path_join(work, "rebuild");
        BakeOptions fresh = *o;
        fresh.output_dir = rebuild_dir;
        log_notice("rebuilding '%s' with an empty cache", o->template_path);
        BakeResult res = {};
        Outcome out = bake_fresh(&fresh, &res);
        if (out != OUTCOME_OK)
                goto finish;
        digest_to_string(res.bake_key, ret->bake_key);
        digest_to_string(res.image_digest, ret->rebuilt);
        if (!streq(m->bake_key, ret->bake_key)) {
                log_error("'%s' was baked from other inputs (bake key %s, now %s): bake it again first",
                          ret->manifest_path, m->bake_key, ret->bake_key);
                out = OUTCOME_USAGE;
                goto finish;
        }
        snprintf(ret->original, sizeof ret->original, "%s", m->image_digest);
        ret->reproducible = streq(m->image_digest, ret->rebuilt);
        if (!ret->reproducible) {
                _cleanup_free_ char *orig = NULL;
                if (original_raw(o->output_dir, m, work, &orig) >= 0)
                        (void) image_diff(orig, res.raw_path, &ret->diff);
                out = OUTCOME_MISMATCH;
        }
finish:
        if (res.raw_path)
                unlink(res.raw_path);
        bake_result_done(&res);
        return out;
}

Outcome bake_verify(const BakeOptions *o, VerifyResult *ret) {
        const char *output_dir = o->output_dir ?: "output";
        *ret = (VerifyResult) { .manifest_path = path_join(output_dir, MANIFEST_FILE) };
        _cleanup_(manifest_freep) BakeManifest *m = NULL;
        if (manifest_load(ret->manifest_path, &m) < 0) {
                log_error("nothing to verify against: bake '%s' into '%s' first", o->template_path, output_dir);
                return OUTCOME_USAGE;
        }
        _cleanup_free_ char *work = tmp_template("baker-verify");
        if (!mkdtemp(work))
                return log_error_errno(-errno, "failed to create a work directory: %m"), OUTCOME_INTERNAL;
        BakeOptions orig = *o;
        orig.output_dir = output_dir;
        Outcome out = compare(&orig, m, work, ret);
        rm_rf(work);
        return out;
}
